"""Shared CLI plumbing: settings from the environment, JSON output, one-line errors."""

from __future__ import annotations

import json
import sys
from datetime import date
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from bridge.config import Settings
from bridge.errors import BadInput, ConfigError
from bridge.wiring import Wiring

__all__ = ["emit_json", "info", "wiring"]


#: Columns for a table written to a pipe or file.
_PIPE_WIDTH = 200


def wiring(ctx: typer.Context) -> Wiring:
    """The command's collaborators, built once from BRIDGE_* settings.

    `ctx.obj` may hold a clock given to `run()`; it is replaced by the wiring built on it.
    """
    if not isinstance(ctx.obj, Wiring):
        clock = ctx.obj
        try:
            settings = Settings()
        except ValidationError as exc:
            first = exc.errors()[0]
            raise ConfigError(
                f"Invalid setting BRIDGE_{str(first['loc'][0]).upper()}: {first['msg']}"
            ) from exc
        settings.check_deployable()
        ctx.obj = Wiring(settings, clock=clock)
        ctx.call_on_close(ctx.obj.close)
    return ctx.obj


def emit_json(value: Any) -> None:
    """Exactly one JSON document on stdout (UTF-8, non-ASCII written literally)."""
    sys.stdout.write(json.dumps(value, ensure_ascii=False, indent=2, default=str) + "\n")
    sys.stdout.flush()


def print_table(table: Table, *, stderr: bool = False) -> None:
    """A Rich table: as wide as the terminal, or wide enough to lose nothing in a pipe or file
    (Rich would otherwise cut cells to 80 columns with an ellipsis)."""
    stream = sys.stderr if stderr else sys.stdout
    Console(file=stream, width=None if stream.isatty() else _PIPE_WIDTH).print(table)


def info(message: str) -> None:
    """Human-readable output goes to stderr, so stdout stays clean for --json."""
    typer.echo(message, err=True)


def parse_entry_id(value: str) -> int:
    try:
        return int(value)
    except ValueError as exc:
        raise BadInput(f"Entry id must be a whole number, not {value!r}.") from exc


# -- options shared by several commands ---------------------------------------------------

As = Annotated[str, typer.Option("--as", help="Staff code of the person acting (audited).")]
Json = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")]
Reference = Annotated[str | None, typer.Option("--reference", help="The ViSOR reference.")]
EnteredOn = Annotated[
    str | None,
    typer.Option("--date", help="Date keyed into ViSOR (YYYY-MM-DD; default today)."),
]


def day_or_none(text: str | None) -> date | None:
    """`--date` as a date (None when not given); a bad one is BadInput naming the format."""
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise BadInput(f"--date must be YYYY-MM-DD, not {text!r}.") from exc
