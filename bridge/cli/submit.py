"""`visor-bridge submit` (approved entries to the configured sink) and `visor-bridge entry requeue`."""

from __future__ import annotations

from typing import Annotated

import typer

from bridge.cli.common import emit_json, info, parse_entry_id, wiring
from bridge.core.vocabulary import state_label
from bridge.errors import BadInput
from bridge.services.views import jsonable

__all__ = ["requeue", "submit"]


def submit(
    ctx: typer.Context,
    json_: Annotated[
        bool, typer.Option("--json", help="Print one JSON document on stdout.")
    ] = False,
) -> None:
    """Deliver approved entries to the configured sink (BRIDGE_SINK)."""
    with wiring(ctx).submission() as service:
        result = service.run()
    if json_:
        emit_json(result.to_json())
        return
    if result.message and not result.attempted:
        info(f"{result.sink}: {result.message}")
        if result.sink == "manual":
            info(f"{result.skipped} approved entries are waiting to be keyed into ViSOR.")
        return
    info(
        f"{result.sink}: {result.attempted} attempted, {result.accepted} accepted, "
        f"{result.submitted} handed over, {result.failed} failed, {result.skipped} left for a "
        "later run" + (f"; breaker {result.breaker}" if result.breaker else "") + "."
    )
    for row in result.failures:
        info(f"  entry {row.id} ({row.crn} {row.section}) failed: {row.reason}")
    if result.message:
        info(f"  {result.message}")


def requeue(
    ctx: typer.Context,
    as_: Annotated[str, typer.Option("--as", help="Staff code of the person acting (audited).")],
    entry_id: Annotated[str | None, typer.Argument(help="Entry id.")] = None,
    all_failed: Annotated[
        bool, typer.Option("--all-failed", help="Every failed entry you may act on.")
    ] = False,
    json_: Annotated[
        bool, typer.Option("--json", help="Print one JSON document on stdout.")
    ] = False,
) -> None:
    """Put a failed entry back to approved after a fix, so the next submit sends it again."""
    if (entry_id is None) == (not all_failed):
        raise BadInput("Name one entry id, or use --all-failed (not both).")
    service = wiring(ctx).requeue
    data: object
    if all_failed:
        done = service.requeue_all_failed(actor=as_)
        data, message = done, f"{len(done.requeued)} failed entries are approved again."
    else:
        assert entry_id is not None
        row = service.requeue(parse_entry_id(entry_id), actor=as_)
        data, message = row, f"Entry {row.id}: {state_label(row.status)}."
    if json_:
        emit_json(jsonable(data))
    else:
        info(message)
