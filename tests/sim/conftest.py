"""Simulator fixtures: one loopback server per session, a fresh simulator per test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.types import ASGIApp

from bridge.clock import FixedClock
from bridge.sim import ndelius, visor
from bridge.sim.server import serve_in_thread
from tests.loopback import http_client

from .kit import (
    CLIENT_ID,
    CLIENT_SECRET,
    STAND_IN_XSD,
    START,
    NdeliusSim,
    SwitchableApp,
    case_doc,
    write_cases,
)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


@pytest.fixture(scope="session")
def loopback() -> Iterator[tuple[str, SwitchableApp]]:
    switch = SwitchableApp()
    with serve_in_thread(switch) as url:
        yield url, switch


@pytest.fixture
def serve(loopback: tuple[str, SwitchableApp]) -> Iterator[Callable[[ASGIApp], str]]:
    """Install an app on the session's loopback server for this test; returns the URL."""
    url, switch = loopback

    def install(app: ASGIApp) -> str:
        switch.target = app
        return url

    yield install
    switch.target = None


@pytest.fixture
def start_ndelius(
    clock: FixedClock, tmp_path: Path, serve: Callable[[ASGIApp], str]
) -> Iterator[Callable[..., NdeliusSim]]:
    """Start an nDelius simulator seeded with the given cases; a token is fetched."""
    with ExitStack() as stack:

        def start(cases: dict[str, Any] | None = None, **options: Any) -> NdeliusSim:
            data = write_cases(tmp_path / "data", cases or {})
            app = ndelius.create_app(
                cases_dir=data,
                client_id=CLIENT_ID,
                client_secret=CLIENT_SECRET,
                clock=clock,
                **options,
            )
            sim = NdeliusSim(serve(app), clock)
            stack.callback(sim.http.close)
            sim.token()
            return sim

        yield start


@pytest.fixture
def sim(start_ndelius: Callable[..., NdeliusSim]) -> NdeliusSim:
    """An nDelius simulator seeded with X000001 (MAPPA) and X000002 (no MAPPA)."""
    return start_ndelius(
        {"X000001": case_doc("X000001"), "X000002": case_doc("X000002", registrations=[])}
    )


@pytest.fixture
def visor_http(
    clock: FixedClock, tmp_path: Path, serve: Callable[[ASGIApp], str]
) -> Iterator[httpx.Client]:
    """A ViSOR simulator (stand-in XSD) and a client for it."""
    schema = tmp_path / "visor-record.xsd"
    schema.write_text(STAND_IN_XSD, encoding="utf-8")
    app = visor.create_app(schema_path=schema, clock=clock)
    with http_client(base_url=serve(app), timeout=5.0) as http:
        yield http
