"""CLI for the queue: list, claim-next, entry actions, and the offender manager's status."""

from __future__ import annotations

from typing import Annotated, Any

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
    parse_entry_id,
    print_table,
    wiring,
)
from bridge.core.attention_words import attention_guidance, attention_label
from bridge.core.edit import parse_assignments
from bridge.core.purposes import check_purpose
from bridge.core.vocabulary import (
    OVERDUE_LABEL,
    REPLACED_RETURN_LABEL,
    kind_label,
    london_date,
    long_datetime,
    section_label,
    state_label,
)
from bridge.errors import BadInput
from bridge.services.views import EntrySummary, QueueRow, jsonable

__all__ = ["admin_app", "entry_app", "queue_app", "status"]

queue_app = typer.Typer(
    help="The review queue (metadata only; no record content).", no_args_is_help=True
)
entry_app = typer.Typer(help="Act on one entry as a vetted proxy.", no_args_is_help=True)

EntryId = Annotated[str, typer.Argument(help="Entry id.")]


def _print_entries(rows: list[QueueRow]) -> None:
    table = Table("id", "crn", "section", "kind", "state", "on behalf of", "due", "issues")
    for r in rows:
        blocking = sum(1 for i in r.issues if i.get("blocking"))
        due = r.due_date.isoformat()
        table.add_row(
            str(r.id),
            r.crn,
            section_label(r.section),
            kind_label(r.kind),
            state_label(r.status),
            r.on_behalf_of,
            f"{due} OVERDUE" if r.overdue else due,
            f"{len(r.issues)} ({blocking} blocking)",
        )
    print_table(table)


@queue_app.command("list")
def queue_list(
    ctx: typer.Context,
    status: Annotated[
        str | None, typer.Option("--status", help="Only entries in this state.")
    ] = None,
    json_: Json = False,
) -> None:
    """Every entry (or those in one state), as metadata, earliest due first."""
    rows = wiring(ctx).queue.listing(status)
    if json_:
        emit_json([row.listed() for row in rows])
    else:
        _print_entries(rows)


@queue_app.command("claim-next")
def claim_next(ctx: typer.Context, as_: As, json_: Json = False) -> None:
    """Claim the entry with the earliest due date that you may take."""
    row = wiring(ctx).review.claim_next(actor=as_)
    if json_:
        emit_json(jsonable(row))
    elif row is None:
        info("Nothing to claim.")
    else:
        section = section_label(row.section)
        info(f"Claimed entry {row.id} ({row.crn} {section}), due {row.due_date.isoformat()}.")


@entry_app.command("show")
def show(
    ctx: typer.Context,
    entry_id: EntryId,
    as_: As,
    purpose: Annotated[
        str | None,
        typer.Option("--purpose", help="Why you are viewing it: a purpose code (recorded)."),
    ] = None,
    json_: Json = False,
) -> None:
    """Show an entry's record, diff and history (an audited view)."""
    data = wiring(ctx).review.show(
        parse_entry_id(entry_id),
        actor=as_,
        purpose=check_purpose(purpose),
        default_purpose="cli:entry.show",
    )
    if json_:
        emit_json(jsonable(data))
        return
    info(
        f"Entry {data.id}  {data.crn}  {section_label(data.section)}  {kind_label(data.kind)}  "
        f"{state_label(data.status)}  v{data.version}"
    )
    for change in data.diff:
        info(f"  {change['path']}: {change['before']!r} -> {change['after']!r}")
    for issue in data.issues:
        info(
            f"  issue [{'blocking' if issue['blocking'] else 'note'}] {issue['path']}: {issue['message']}"
        )
    typer.echo(data.xml)


def _act(ctx: typer.Context, action: str, entry_id: str, as_: str, json_: bool, **kw: Any) -> None:
    review = wiring(ctx).review
    row: EntrySummary = getattr(review, action)(parse_entry_id(entry_id), actor=as_, **kw)
    if json_:
        emit_json(jsonable(row))
    else:
        info(f"Entry {row.id}: {state_label(row.status)}.")


@entry_app.command("claim")
def claim(ctx: typer.Context, entry_id: EntryId, as_: As, json_: Json = False) -> None:
    """Claim an entry so no colleague works on it at the same time."""
    _act(ctx, "claim", entry_id, as_, json_)


@entry_app.command("release")
def release(ctx: typer.Context, entry_id: EntryId, as_: As, json_: Json = False) -> None:
    """Give a claimed entry back to the queue."""
    _act(ctx, "release", entry_id, as_, json_)


@entry_app.command("approve")
def approve(
    ctx: typer.Context,
    entry_id: EntryId,
    as_: As,
    version: Annotated[
        int,
        typer.Option(
            "--version",
            min=1,
            help="The version you saw (entry show): refused if the entry has moved on.",
        ),
    ],
    json_: Json = False,
) -> None:
    """Approve a claimed entry with no blocking issues, at the version you saw (required)."""
    _act(ctx, "approve", entry_id, as_, json_, version=version)


@entry_app.command("edit")
def edit(
    ctx: typer.Context,
    entry_id: EntryId,
    as_: As,
    version: Annotated[
        int,
        typer.Option("--version", help="The version your edit is based on (conflict if stale)."),
    ],
    set_: Annotated[
        list[str],
        typer.Option(
            "--set",
            help="FIELD=VALUE, a field as the diff names it (e.g. Address[2]/Postcode); repeat for more.",
        ),
    ],
    json_: Json = False,
) -> None:
    """Correct fields of a claimed entry: a new version, checked before it is saved."""
    changes, problems = parse_assignments(set_)
    if problems:
        raise BadInput(f"--set {problems[0].path!r}: {problems[0].message}.")
    row = wiring(ctx).editing.edit(
        parse_entry_id(entry_id), actor=as_, version=version, changes=changes
    )
    if json_:
        emit_json(jsonable(row))
    else:
        info(f"Entry {row.id} is now at version {row.version}.")


@entry_app.command("reject")
def reject(
    ctx: typer.Context,
    entry_id: EntryId,
    as_: As,
    reason: Annotated[
        str | None, typer.Option("--reason", help="Shown to the offender manager.")
    ] = None,
    json_: Json = False,
) -> None:
    """Return a claimed entry with a reason."""
    _act(ctx, "reject", entry_id, as_, json_, reason=reason)


@entry_app.command("mark-entered")
def mark_entered(
    ctx: typer.Context,
    entry_id: EntryId,
    as_: As,
    reference: Reference = None,
    date_: EnteredOn = None,
    json_: Json = False,
) -> None:
    """Record that an approved entry was keyed into ViSOR."""
    on = day_or_none(date_)
    _act(ctx, "mark_entered", entry_id, as_, json_, reference=reference, on=on)


def status(
    ctx: typer.Context,
    crn: Annotated[str, typer.Argument(help="Case reference.")],
    as_: As,
    json_: Json = False,
) -> None:
    """What an offender manager may see about one case: states, dates and reasons only."""
    page = wiring(ctx).status.case_page(crn.strip().upper(), actor=as_)
    data = page.status
    if json_:
        emit_json(jsonable(data))
        return
    table = Table("id", "section", "kind", "state", "created", "due", "entered", "reason")
    for e in data.entries:
        table.add_row(
            str(e.id),
            section_label(e.section),
            kind_label(e.kind),
            (REPLACED_RETURN_LABEL if e.id in page.replaced else state_label(e.status))
            + (f" ({OVERDUE_LABEL.lower()})" if e.id in page.overdue else ""),
            london_date(e.created_at).isoformat(),
            e.due_date.isoformat(),
            e.entered_at.isoformat() if e.entered_at else "",
            e.reason or "",
        )
    print_table(table)


admin_app = typer.Typer(
    help="Administrators: move claims; cases to look at or nobody can take; vetting about to lapse.",
    no_args_is_help=True,
)


@admin_app.command("release")
def admin_release(ctx: typer.Context, entry_id: EntryId, as_: As, json_: Json = False) -> None:
    """Put someone's claimed entry back in the queue."""
    row = wiring(ctx).admin.force_release(parse_entry_id(entry_id), actor=as_)
    emit_json(jsonable(row)) if json_ else info(f"Entry {row.id}: {state_label(row.status)}.")


@admin_app.command("reassign")
def admin_reassign(
    ctx: typer.Context,
    entry_id: EntryId,
    to: Annotated[str, typer.Option("--to", help="Staff code of the proxy to give it to.")],
    as_: As,
    json_: Json = False,
) -> None:
    """Give an open entry to a named proxy (who must be allowed to take it)."""
    row = wiring(ctx).admin.reassign(parse_entry_id(entry_id), to=to, actor=as_)
    emit_json(jsonable(row)) if json_ else info(f"Entry {row.id} is now claimed by {to}.")


@admin_app.command("untakeable")
def admin_untakeable(ctx: typer.Context, as_: As, json_: Json = False) -> None:
    """Cases with open entries that no current proxy may take."""
    rows = wiring(ctx).admin.untakeable(actor=as_)
    if json_:
        emit_json(jsonable(rows))
        return
    if not rows:
        info("Every open entry can be taken by at least one current proxy.")
    for r in rows:
        info(f"{r.crn}: {r.open_entries} open entries — {r.why}")


@admin_app.command("attention")
def admin_attention(ctx: typer.Context, as_: As, json_: Json = False) -> None:
    """Cases a person must look at, and why (reason codes; docs/operations.md says what to do)."""
    rows = wiring(ctx).admin.attention(actor=as_)
    if json_:
        emit_json(jsonable(rows))
        return
    if not rows:
        info("No case needs a person's attention.")
        return
    table = Table("crn", "why", "reason", "since", "what to do")
    for r in rows:
        table.add_row(
            r.crn,
            attention_label(r.reason),
            r.reason,
            long_datetime(r.since, zone=True),
            attention_guidance(r.reason),
        )
    print_table(table)


@admin_app.command("expiring")
def admin_expiring(
    ctx: typer.Context,
    as_: As,
    days: Annotated[int, typer.Option("--days", min=0)] = 30,
    json_: Json = False,
) -> None:
    """Proxies whose vetting expires within DAYS (or already has)."""
    rows = wiring(ctx).admin.expiring_vetting(actor=as_, days=days)
    if json_:
        emit_json(jsonable(rows))
        return
    if not rows:
        info(f"No proxy's vetting expires within {days} days.")
    for r in rows:
        info(f"{r.code}: {r.vetting_level} {'expired' if r.expired else 'expires'} {r.expires}")
