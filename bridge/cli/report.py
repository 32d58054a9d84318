"""`visor-bridge report workload` (ARCHITECTURE §6): one row per proxy per ISO week."""

from __future__ import annotations

import sys
from datetime import date
from typing import Annotated

import typer

from bridge.cli.common import emit_json, wiring
from bridge.core.workload_figures import report_csv
from bridge.errors import BadInput

__all__ = ["report_app"]

report_app = typer.Typer(help="Figures for planning (workload).", no_args_is_help=True)


def _date(value: str, name: str) -> date:
    try:
        return date.fromisoformat(value.strip())
    except ValueError as exc:
        raise BadInput(f"{name} must be a date in the form YYYY-MM-DD, not {value!r}.") from exc


@report_app.command("workload")
def report_workload(
    ctx: typer.Context,
    from_: Annotated[str, typer.Option("--from", help="First day (YYYY-MM-DD).")],
    to: Annotated[str, typer.Option("--to", help="Last day (YYYY-MM-DD).")],
    as_: Annotated[str, typer.Option("--as", help="A manager's or administrator's staff code.")],
    json_: Annotated[bool, typer.Option("--json", help="A JSON array.")] = False,
    csv_: Annotated[bool, typer.Option("--csv", help="CSV with a header.")] = False,
) -> None:
    """Per proxy per ISO week (Europe/London): tasks, entries, handling_minutes,
    overdue_at_entry, returned. Managers see their teams, administrators everyone (audited)."""
    if json_ == csv_:
        raise BadInput("Give exactly one of --json or --csv.")
    first, last = _date(from_, "--from"), _date(to, "--to")
    if last < first:
        raise BadInput("--to must be the same as or after --from.")
    view = "json" if json_ else "csv"
    rows = wiring(ctx).workload.report(as_.strip().upper(), first=first, last=last, view=view)
    if json_:
        emit_json([r.as_json() for r in rows])
    else:
        sys.stdout.write(report_csv(rows))
        sys.stdout.flush()
