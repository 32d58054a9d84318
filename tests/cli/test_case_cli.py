"""`visor-bridge case …` (ARCHITECTURE §6): JSON shapes, exit codes and refusals."""

from __future__ import annotations

from sqlmodel import Session, col, select

from bridge.errors import NotPermitted
from bridge.store.db import make_engine
from bridge.store.models import AuditEvent
from tests.builders import ADMIN, PROXY, PROXY_2, Cli

LIST_KEYS = {"crn", "entries", "sections", "due_date", "overdue", "blocking_issues", "claimed_by"}
ENTRY_KEYS = {
    "id",
    "crn",
    "kind",
    "section",
    "status",
    "on_behalf_of",
    "created_at",
    "due_date",
    "issues",
}
SHOW_KEYS = {"id", "section", "kind", "status", "version", "issues", "xml", "diff"}


def _last_line(err: str) -> str:
    return err.strip().splitlines()[-1]


def test_a_case_from_list_to_entered_in_visor(synced_cli: Cli) -> None:
    cli = synced_cli
    rows = cli.json("case", "list")
    assert [set(r) for r in rows] == [LIST_KEYS] * 2
    assert {r["crn"] for r in rows} == {"G719053", "F600218"}
    assert [r["due_date"] for r in rows] == sorted(r["due_date"] for r in rows)
    assert all(r["claimed_by"] is None and r["entries"] >= 1 for r in rows)

    # F600218 excludes N07P004, so claim-next gives them G719053, then nothing.
    task = cli.json("case", "claim-next", "--as", PROXY)
    assert set(task) == {"crn", "entries"}
    assert task["crn"] == "G719053"
    assert {frozenset(e) for e in task["entries"]} == {frozenset(ENTRY_KEYS)}
    assert {e["status"] for e in task["entries"]} == {"claimed"}
    assert cli.json("case", "claim-next", "--as", PROXY) is None
    listed = {r["crn"]: r["claimed_by"] for r in cli.json("case", "list")}
    assert listed == {"G719053": PROXY, "F600218": None}

    # Held: a colleague is refused (exit 1, the reason last on stderr).
    code, out, err = cli("case", "claim", "G719053", "--as", PROXY_2, "--json")
    assert (code, out) == (1, "")
    assert "held by" in _last_line(err)

    shown = cli.json("case", "show", "G719053", "--as", PROXY)
    assert shown["crn"] == "G719053"
    assert [set(e) for e in shown["entries"]] == [SHOW_KEYS] * len(task["entries"])
    versions = ",".join(f"{e['id']}={e['version']}" for e in shown["entries"])

    for bad in ("", "1", "1=a", "1=1,", "1 = 1", "1=1;2=2", f"{versions},{versions}"):
        code, _out, err = cli("case", "approve", "G719053", "--as", PROXY, "--versions", bad)
        assert code == 2, (bad, err)
    code, _out, err = cli("case", "approve", "G719053", "--as", PROXY, "--versions", "999999=1")
    assert code == 1
    assert "not an open entry" in _last_line(err)

    approved = cli.json("case", "approve", "G719053", "--as", PROXY, "--versions", versions)
    assert {e["status"] for e in approved["entries"]} == {"approved"}
    # Approved and not yet entered: still held (manual sink), so still not for a colleague.
    code, _out, err = cli("case", "claim", "G719053", "--as", PROXY_2)
    assert code == 1

    code, _out, err = cli("case", "mark-entered", "G719053", "--as", PROXY, "--date", "soon")
    assert code == 2
    entered = cli.json(
        "case", "mark-entered", "G719053", "--as", PROXY, "--reference", "VIS/2026/1"
    )
    assert {e["status"] for e in entered["entries"]} == {"accepted"}
    assert len(entered["entries"]) == len(task["entries"])
    code, _out, err = cli("case", "mark-entered", "G719053", "--as", PROXY, "--reference", "R123")
    assert code == 1  # nothing left open: refused like an unknown case


def test_a_crn_that_cannot_exist_is_refused_like_an_unknown_one(
    synced_cli: Cli, sqlite_url: str
) -> None:
    outcomes = []
    for crn in ("Z999999", "not-a-crn", "G7190531", "F600218"):  # the last: N07P004 excluded
        code, out, err = synced_cli("case", "show", crn, "--as", PROXY, "--json")
        outcomes.append((code, out, _last_line(err)))
    assert len(set(outcomes)) == 1
    assert outcomes[0] == (1, "", f"visor-bridge: {NotPermitted.MESSAGE}")
    engine = make_engine(sqlite_url)
    with Session(engine) as s:
        refused = s.exec(select(AuditEvent).where(col(AuditEvent.action) == "access.refused")).all()
    engine.dispose()
    assert len(refused) == 4
    assert all(r.crn is None for r in refused)  # the refusal names no case


def test_release_and_the_administrators_commands(synced_cli: Cli) -> None:
    cli = synced_cli
    cli.json("case", "claim", "G719053", "--as", PROXY)
    released = cli.json("case", "release", "G719053", "--as", PROXY)
    assert {e["status"] for e in released["entries"]} == {"pending"}
    code, _out, err = cli("case", "release", "G719053", "--as", PROXY)
    assert code == 1
    assert "no claim" in _last_line(err)

    cli.json("case", "claim", "G719053", "--as", PROXY)
    code, _out, _err = cli("case", "force-release", "G719053", "--as", PROXY)
    assert code == 1  # not an administrator
    freed = cli.json("case", "force-release", "G719053", "--as", ADMIN)
    assert {e["status"] for e in freed["entries"]} == {"pending"}
    moved = cli.json("case", "reassign", "G719053", "--to", PROXY_2, "--as", ADMIN)
    assert {e["status"] for e in moved["entries"]} == {"claimed"}
    assert cli.json("case", "list")[0]["claimed_by"] in {PROXY_2, None}
    code, _out, err = cli("case", "reassign", "F600218", "--to", PROXY, "--as", ADMIN)
    assert code == 2  # N07P004 is excluded from F600218: bad input for the administrator


def test_human_output_uses_the_vocabulary(synced_cli: Cli) -> None:
    cli = synced_cli
    code, out, _err = cli("case", "list")
    assert code == 0
    assert "Managing officer" in out
    assert "managing-officer" not in out
    code, out, _err = cli("case", "claim", "G719053", "--as", PROXY)
    assert code == 0
    assert "With a proxy" in out
    assert "claimed" not in out.split("\n", 1)[1]
    assert "New person" in out or "Update" in out
