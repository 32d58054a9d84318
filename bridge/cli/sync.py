"""`visor-bridge sync` (with a progress display on a terminal) and `visor-bridge retries` (the retry set)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from bridge.cli.common import emit_json, info, print_table, wiring
from bridge.core.vocabulary import long_datetime

if TYPE_CHECKING:  # annotations only: `sync`'s wiring imports them when it runs
    from bridge.ndelius import NdeliusClient
    from bridge.services.sync.service import SyncResult

__all__ = ["retries", "sync"]


def _describe(r: SyncResult) -> str:
    return (
        f"events {r.events_read:,} · cases {r.cases_fetched:,} · "
        f"entries {r.entries_created:,} · failures {r.cases_failed:,}"
    )


@contextmanager
def _progress(
    console: Console, source: NdeliusClient
) -> Iterator[Callable[[SyncResult], None] | None]:
    """A live bar on a terminal (a spinner until the size of the work is known); else nothing."""
    if not console.is_terminal:
        yield None
        return
    columns = (
        SpinnerColumn(),
        TextColumn("Sync"),
        BarColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task("starting", total=None)

        def update(result: SyncResult) -> None:
            done = result.cases_fetched + result.cases_failed
            bar.update(
                task,
                description=_describe(result),
                completed=done,
                total=source.listed,
                refresh=True,  # each page shows, however fast the run
            )

        yield update


def sync(
    ctx: typer.Context,
    full: Annotated[
        bool, typer.Option("--full", help="Reconcile every MAPPA case, not just changes.")
    ] = False,
    json_: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """One sync run: changes since the cursor (or everything, with --full or on first run)."""
    w = wiring(ctx)
    console = Console(stderr=True)
    with w.ndelius() as source, _progress(console, source) as progress:
        result = w.sync_service(source, progress=progress).run(full=full)
    if result is None:
        if json_:
            emit_json({"skipped": "another sync is running"})
        else:
            info("Skipped: another sync is running.")
        return
    if json_:
        emit_json(result.to_json())
        return
    info(
        f"Sync run {result.run_id}: {result.events_read} events, {result.cases_fetched} cases read, "
        f"{result.entries_created} entries created, {result.entries_superseded} superseded, "
        f"{result.cases_failed} failed (kept for retry); cursor {result.cursor}."
    )
    if result.retry_attention:
        info(
            f"{result.retry_attention} case(s) have failed {w.settings.retry_alert_attempts} "
            "times or more: see `visor-bridge retries`."
        )


def retries(
    ctx: typer.Context,
    json_: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """The durable retry set: cases whose read failed, with attempts and the last error."""
    rows = [
        {
            "crn": i.crn,
            "attempts": i.attempts,
            "needs_attention": i.needs_attention,
            "last_error": i.last_error,
            "first_failed_at": i.first_failed_at.isoformat(),
            "next_attempt_at": i.next_attempt_at.isoformat(),
        }
        for i in wiring(ctx).retries.all()
    ]
    if json_:
        emit_json(rows)
        return
    if not rows:
        info("The retry set is empty.")
        return
    table = Table("CRN", "attempts", "next attempt", "last error", title="Retry set")
    for row in rows:
        flag = " ⚠" if row["needs_attention"] else ""
        table.add_row(
            str(row["crn"]),
            f"{row['attempts']}{flag}",
            long_datetime(str(row["next_attempt_at"]), zone=True),
            str(row["last_error"]),
        )
    print_table(table, stderr=True)
