"""The web app for tests: `bridge.web.app.create_app`, its templates compiled once per process.

Every web test builds its own app (its own store, clock and settings), and each app's Jinja
environment compiles every template it renders again: about a quarter of a web test's CPU.
The apps here share one in-memory Jinja bytecode cache, so a template is compiled once per
test process and each later app loads the compiled code. Jinja keys the cache by template
name and checks the source's checksum, and every app's environment has the same options
(`bridge.web.templating.Pages`), so a page renders exactly as it would from a fresh compile.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from jinja2 import BytecodeCache
from jinja2.bccache import Bucket

from bridge.web.app import ASSETS
from bridge.web.app import create_app as _create_app
from bridge.wiring import Wiring

__all__ = ["create_app"]


class _SharedBytecode(BytecodeCache):
    """Compiled templates in memory, for every app of this process."""

    def __init__(self) -> None:
        self._code: dict[str, bytes] = {}

    def load_bytecode(self, bucket: Bucket) -> None:
        code = self._code.get(bucket.key)
        if code is not None:
            bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket: Bucket) -> None:
        self._code[bucket.key] = bucket.bytecode_to_string()


_COMPILED = _SharedBytecode()


def create_app(wiring: Wiring, *, assets: Path = ASSETS) -> FastAPI:
    """`bridge.web.app.create_app`, its templates from the shared compiled cache."""
    app = _create_app(wiring, assets=assets)
    app.state.pages.env.bytecode_cache = _COMPILED
    return app
