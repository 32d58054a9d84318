"""CLI for the audit log: verify the chain, export one person's events, archive old events."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from bridge.cli.common import emit_json, info, wiring
from bridge.core.purposes import check_purpose
from bridge.errors import BadInput
from bridge.services.views import jsonable

__all__ = ["audit_app"]

audit_app = typer.Typer(help="The audit log (DPA 2018 s.62).", no_args_is_help=True)

Json = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")]


@audit_app.command("verify")
def audit_verify(ctx: typer.Context, json_: Json = False) -> None:
    """Walk the keyed chain and its anchors: exit 0 intact, 1 broken, 2 key missing or wrong."""
    result = wiring(ctx).audit_log.verify()
    if json_:
        emit_json({"ok": result.ok, "events": result.events, "first_bad": result.first_bad})
    elif result.ok:
        info(f"Audit log intact: {result.events} events, {result.anchors} anchors checked.")
    else:
        info(f"Audit log broken at event {result.first_bad} ({result.events} events read).")
    if not result.ok:
        raise typer.Exit(1)


@audit_app.command("export")
def audit_export(
    ctx: typer.Context,
    crn: Annotated[str, typer.Option("--crn", help="The person's CRN.")],
    as_: Annotated[str, typer.Option("--as", help="Administrator's staff code (audited).")],
    purpose: Annotated[
        str | None, typer.Option("--purpose", help="Why: a purpose code (docs/data-protection.md).")
    ] = None,
    json_: Json = False,
) -> None:
    """Every audit event about one person (subject access); works on a broken chain too."""
    rows = wiring(ctx).audit_log.export(
        crn.strip().upper(),
        actor=as_.strip().upper(),
        purpose=check_purpose(purpose) or "cli:audit.export",
    )
    if json_:
        emit_json(jsonable(rows))
        return
    for r in rows:
        typer.echo(f"{r.id}\t{r.at.isoformat()}\t{r.actor}\t{r.action}\t{r.category}")


@audit_app.command("archive")
def audit_archive(
    ctx: typer.Context,
    before: Annotated[str, typer.Option("--before", help="Archive events before this date.")],
    out: Annotated[
        Path | None, typer.Option("--out", help="Archive file (default audit-archive-DATE.jsonl).")
    ] = None,
    json_: Json = False,
) -> None:
    """As the database owner: export, verify and remove the events before a date."""
    try:
        cutoff = date.fromisoformat(before)
    except ValueError as exc:
        raise BadInput(f"--before must be a date (YYYY-MM-DD), not {before!r}.") from exc
    target = out or Path(f"audit-archive-before-{cutoff.isoformat()}.jsonl")
    result = wiring(ctx).audit_log.archive(cutoff, out=target)
    if json_:
        emit_json(result)
    else:
        info(f"Archived {result['archived']} events to {result['file']}.")
