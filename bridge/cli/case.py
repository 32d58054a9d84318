"""`visor-bridge case …`: work by case — every open entry of one CRN (ARCHITECTURE §3, §6).

Thin commands over `TaskService`; the human tables use the words of
`bridge.core.vocabulary`, the `--json` documents the contract keys and state names.
"""

from __future__ import annotations

import re
from typing import Annotated

import typer
from rich.table import Table

from bridge.cli.common import (
    As,
    EnteredOn,
    Json,
    Reference,
    day_or_none,
    emit_json,
    info,
    print_table,
    wiring,
)
from bridge.core.purposes import check_purpose
from bridge.core.vocabulary import kind_label, section_label, state_label
from bridge.errors import BadInput
from bridge.services.task_views import Task

__all__ = ["case_app", "parse_versions"]

case_app = typer.Typer(
    help="Work by case: every open entry of one CRN, claimed, approved and entered together.",
    no_args_is_help=True,
)

Crn = Annotated[str, typer.Argument(help="Case reference (CRN).")]

_VERSIONS = re.compile(r"[+-]?\d{1,30}=[+-]?\d{1,30}(,[+-]?\d{1,30}=[+-]?\d{1,30})*")
#: The purpose recorded for a `case show` that gives none.
SHOW_PURPOSE = "cli:case.show"


def parse_versions(value: str) -> dict[int, int]:
    """`12=1,13=2` → {12: 1, 13: 2}; BadInput (exit 2) for anything else, or an id twice."""
    if not _VERSIONS.fullmatch(value or ""):
        raise BadInput(
            f"--versions must be ID=V pairs separated by commas, no spaces (12=1,13=2), not {value!r}."
        )
    out: dict[int, int] = {}
    for pair in value.split(","):
        entry_id, version = (int(x) for x in pair.split("="))
        if entry_id in out:
            raise BadInput(f"--versions names entry {entry_id} twice.")
        out[entry_id] = version
    return out


def _print_task(task: Task, verb: str) -> None:
    info(f"Case {task.crn}: {verb}.")
    table = Table("id", "section", "kind", "state", "due", "issues")
    for e in task.entries:
        blocking = sum(1 for i in e.issues if i.get("blocking"))
        table.add_row(
            str(e.id),
            section_label(e.section),
            kind_label(e.kind),
            state_label(e.status),
            e.due_date.isoformat(),
            f"{len(e.issues)} ({blocking} blocking)",
        )
    print_table(table)


@case_app.command("list")
def case_list(ctx: typer.Context, json_: Json = False) -> None:
    """Case tasks with an open entry (metadata only), earliest due first."""
    rows = wiring(ctx).tasks.listing().rows
    if json_:
        emit_json([r.listed() for r in rows])
        return
    table = Table("crn", "entries", "sections", "due", "blocking issues", "held by")
    for r in rows:
        due = r.due_date.isoformat()
        table.add_row(
            r.crn,
            str(r.entries),
            ", ".join(section_label(s) for s in r.sections),
            f"{due} OVERDUE" if r.overdue else due,
            str(r.blocking_issues),
            r.claimed_by or "",
        )
    print_table(table)


@case_app.command("claim-next")
def case_claim_next(ctx: typer.Context, as_: As, json_: Json = False) -> None:
    """Claim the task whose earliest waiting entry is due first, that you may take."""
    task = wiring(ctx).tasks.claim_next(actor=as_)
    if json_:
        emit_json(task.listed() if task is not None else None)
    elif task is None:
        info("Nothing to claim.")
    else:
        _print_task(task, "claimed by you")


@case_app.command("claim")
def case_claim(ctx: typer.Context, crn: Crn, as_: As, json_: Json = False) -> None:
    """Claim every waiting entry of one case."""
    task = wiring(ctx).tasks.claim(crn, actor=as_)
    emit_json(task.listed()) if json_ else _print_task(task, "claimed by you")


@case_app.command("release")
def case_release(ctx: typer.Context, crn: Crn, as_: As, json_: Json = False) -> None:
    """Give your claimed entries of one case back to the queue."""
    task = wiring(ctx).tasks.release(crn, actor=as_)
    emit_json(task.listed()) if json_ else _print_task(task, "released")


@case_app.command("show")
def case_show(
    ctx: typer.Context,
    crn: Crn,
    as_: As,
    purpose: Annotated[
        str | None,
        typer.Option("--purpose", help="Why you are viewing it: a purpose code (recorded)."),
    ] = None,
    json_: Json = False,
) -> None:
    """Every open entry of a case with its record (an audited view of each)."""
    shown = wiring(ctx).tasks.show(
        crn, actor=as_, purpose=check_purpose(purpose), default_purpose=SHOW_PURPOSE
    )
    if json_:
        emit_json(shown.listed())
        return
    held = f", held by {shown.held_by}" if shown.held_by else ""
    info(f"Case {shown.crn}: {len(shown.entries)} open entries{held}.")
    for e in shown.entries:
        info(
            f"Entry {e.id}  {section_label(e.section)}  {kind_label(e.kind)}  "
            f"{state_label(e.status)}  version {e.version}"
        )
        for change in e.diff:
            info(f"  {change['path']}: {change['before']!r} -> {change['after']!r}")
        for issue in e.issues:
            kind = "blocking" if issue.get("blocking") else "note"
            info(f"  issue [{kind}] {issue.get('path')}: {issue.get('message')}")
        typer.echo(e.xml)


@case_app.command("approve")
def case_approve(
    ctx: typer.Context,
    crn: Crn,
    as_: As,
    versions: Annotated[
        str,
        typer.Option("--versions", help="ID=V[,ID=V…]: the entries and the versions you saw."),
    ],
    json_: Json = False,
) -> None:
    """Approve the listed entries at those versions, all or nothing."""
    task = wiring(ctx).tasks.approve(crn, actor=as_, versions=parse_versions(versions))
    emit_json(task.listed()) if json_ else _print_task(task, "approved by you")


@case_app.command("mark-entered")
def case_mark_entered(
    ctx: typer.Context,
    crn: Crn,
    as_: As,
    reference: Reference = None,
    date_: EnteredOn = None,
    json_: Json = False,
) -> None:
    """Record that every approved entry of the case was keyed into ViSOR (one reference)."""
    on = day_or_none(date_)
    task = wiring(ctx).tasks.mark_entered(crn, actor=as_, reference=reference, on=on)
    emit_json(task.listed()) if json_ else _print_task(task, "entered in ViSOR")


@case_app.command("force-release")
def case_force_release(ctx: typer.Context, crn: Crn, as_: As, json_: Json = False) -> None:
    """Administrators: put every claimed entry of a case back in the queue."""
    task = wiring(ctx).tasks.release_task(crn, admin=as_)
    emit_json(task.listed()) if json_ else _print_task(task, "released")


@case_app.command("reassign")
def case_reassign(
    ctx: typer.Context,
    crn: Crn,
    to: Annotated[str, typer.Option("--to", help="Staff code of the proxy to give it to.")],
    as_: As,
    json_: Json = False,
) -> None:
    """Administrators: give a case's task to a named proxy (who must be allowed to take it)."""
    task = wiring(ctx).tasks.reassign(crn, to=to, admin=as_)
    emit_json(task.listed()) if json_ else _print_task(task, f"now held by {to}")
