"""`visor-bridge notify send|due`: the GOV.UK Notify outbox, once (the scheduler runs both)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

import typer

from bridge.cli.common import emit_json, info, wiring

__all__ = ["notify_app"]

notify_app = typer.Typer(help="GOV.UK Notify messages (the outbox).", no_args_is_help=True)

JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")]


@notify_app.command("send")
def notify_send(ctx: typer.Context, json_: JsonOption = False) -> None:
    """Deliver the notification outbox once (BRIDGE_NOTIFY_API_KEY; without it, nothing)."""
    result = wiring(ctx).notify().send()
    if result is None:
        if json_:
            emit_json({"skipped": "another sender is running"})
        else:
            info("Another sender is running; nothing done.")
        return
    if json_:
        shown = asdict(result)
        shown.pop("waits")
        emit_json(shown)
        return
    info(
        f"{result.sent} sent, {result.found} already with Notify, {result.failed} failed, "
        f"{result.skipped} skipped, {result.left} left for a later run."
        + (f" Stopped: {result.stopped}." if result.stopped else "")
    )


@notify_app.command("due")
def notify_due(ctx: typer.Context, json_: JsonOption = False) -> None:
    """Write the time-based messages due now (overdue, due tomorrow, digest, vetting, sync)."""
    added = wiring(ctx).notify_due.run()
    if json_:
        emit_json(added)
        return
    info(
        ", ".join(f"{n} {kind}" for kind, n in sorted(added.items())) or "Nothing due.",
    )
