"""Sync scenarios end to end: changes made through the simulator's admin API, seen through the CLI.

Each test drives `visor-bridge sync`, `visor-bridge queue list`, `visor-bridge entry …`, `visor-bridge status` and
`visor-bridge staff import` in-process against a real database (SQLite and PostgreSQL) and the
nDelius simulator on a loopback socket.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlmodel import Session, select

from bridge.store.db import make_engine
from bridge.store.models import AuditEvent, Baseline, CaseState, Entry, EntryVersion
from tests.builders import (
    MANAGER,
    PROXY,
    Cli,
    case_doc,
    expected_sections,
    only_cases,
    staff_file,
)
from tests.cli.conftest import today
from tests.loopback import local

TRANSFER_TO = "N07A010"  # an offender manager who needs no proxy


def _put(ndelius_url: str, crn: str, doc: dict[str, Any]) -> None:
    local.put(f"{ndelius_url}/__admin/cases/{crn}", json=doc).raise_for_status()


def _queue(cli: Cli, crn: str, status: str | None = None) -> list[dict[str, Any]]:
    rows = cli.json("queue", "list", *(["--status", status] if status else []))
    return [r for r in rows if r["crn"] == crn]


def _status(cli: Cli, crn: str, manager: str) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = cli.json("status", crn, "--as", manager)["entries"]
    return entries


def _approve(cli: Cli, entry_id: int) -> None:
    for action in (["claim"], ["approve", "--version", "1"]):
        code, _out, err = cli("entry", action[0], str(entry_id), "--as", PROXY, *action[1:])
        assert code == 0, err


def _one(rows: list[dict[str, Any]], section: str) -> dict[str, Any]:
    found = [r for r in rows if r["section"] == section]
    assert len(found) == 1, found
    return found[0]


def _move(doc: dict[str, Any], postcode: str) -> dict[str, Any]:
    main = next(
        a for a in doc["offender"]["contactDetails"]["addresses"] if a["status"]["code"] == "M"
    )
    main["postcode"] = postcode
    return doc


def _sync(cli: Cli) -> dict[str, Any]:
    result: dict[str, Any] = cli.json("sync")
    return result


# -- supersede and revert -------------------------------------------------------------------


def test_newer_change_supersedes_and_a_revert_to_the_baseline_creates_nothing(
    db_cli: Cli, ndelius_url: str
) -> None:
    crn = "B203456"
    only_cases(ndelius_url, {crn})
    _sync(db_cli)
    first = _one(_queue(db_cli, crn, "pending"), "addresses")

    _put(ndelius_url, crn, _move(case_doc(crn), "NE6 2AA"))
    result = _sync(db_cli)
    assert (result["entries_created"], result["entries_superseded"]) == (1, 1)
    second = _one(_queue(db_cli, crn, "pending"), "addresses")
    assert second["id"] != first["id"]
    reasons = {e["id"]: e["reason"] for e in _status(db_cli, crn, "N02A003")}
    assert reasons[first["id"]] == "newer change"

    # Entered on ViSOR, then nDelius changes and changes back: nothing is left to do.
    _approve(db_cli, second["id"])
    _put(ndelius_url, crn, _move(case_doc(crn), "NE6 3BB"))
    assert _sync(db_cli)["entries_created"] == 1
    third = _one(_queue(db_cli, crn, "pending"), "addresses")
    _put(ndelius_url, crn, _move(case_doc(crn), "NE6 2AA"))
    result = _sync(db_cli)
    assert (result["entries_created"], result["entries_superseded"]) == (0, 1)
    assert [r for r in _queue(db_cli, crn, "pending") if r["section"] == "addresses"] == []
    reasons = {e["id"]: e["reason"] for e in _status(db_cli, crn, "N02A003")}
    assert reasons[third["id"]] == "reverted: nDelius is back to what ViSOR holds"


def test_contact_update_supersedes_and_delete_after_entry_asks_for_withdrawal(
    db_cli: Cli, ndelius_url: str
) -> None:
    crn = "A117839"
    only_cases(ndelius_url, {crn})
    _sync(db_cli)
    activity = _one(_queue(db_cli, crn, "pending"), "activity")
    doc = case_doc(crn)
    doc["contacts"][0]["notes"] = "Rescheduled by the police."
    _put(ndelius_url, crn, doc)
    result = _sync(db_cli)
    assert (result["entries_created"], result["entries_superseded"]) == (1, 1)
    updated = _one(_queue(db_cli, crn, "pending"), "activity")
    assert updated["id"] != activity["id"]

    _approve(db_cli, updated["id"])
    doc["contacts"] = doc["contacts"][1:]
    _put(ndelius_url, crn, doc)
    assert _sync(db_cli)["entries_created"] == 1
    withdrawal = _one(_queue(db_cli, crn, "pending"), "activity")
    assert withdrawal["kind"] == "activity-withdrawn"
    assert _sync(db_cli)["entries_created"] == 0  # asked once


# -- scope changes in nDelius -----------------------------------------------------------------


def test_transfer_to_an_officer_needing_no_proxy_only_supersedes(
    db_cli: Cli, ndelius_url: str
) -> None:
    crn = "B203456"
    only_cases(ndelius_url, {crn})
    _sync(db_cli)
    _approve(db_cli, _one(_queue(db_cli, crn, "pending"), "mappa")["id"])  # MAPPA is on ViSOR
    pending = _queue(db_cli, crn, "pending")
    doc = case_doc(crn)
    for manager in doc["offender"]["offenderManagers"]:
        manager["active"] = False
    doc["offender"]["offenderManagers"].append({"active": True, "staff": {"code": TRANSFER_TO}})
    _put(ndelius_url, crn, doc)

    result = _sync(db_cli)
    assert (result["entries_created"], result["entries_superseded"]) == (0, len(pending))
    assert _queue(db_cli, crn, "pending") == []  # no mappa-ended: MAPPA goes on, vetted officer
    reasons = {e["reason"] for e in _status(db_cli, crn, "N02A003") if e["status"] == "superseded"}
    assert reasons == {"out of scope: offender manager does not need a proxy"}


def test_deregistration_with_a_baseline_asks_once_and_without_one_only_supersedes(
    db_cli: Cli, ndelius_url: str
) -> None:
    with_baseline, without = "B203456", "C305117"
    only_cases(ndelius_url, {with_baseline, without})
    _sync(db_cli)
    _approve(db_cli, _one(_queue(db_cli, with_baseline, "pending"), "mappa")["id"])
    for crn in (with_baseline, without):
        doc = case_doc(crn)
        for registration in doc["registrations"]:
            if registration["type"]["code"] == "MAPP":
                registration.update(active=False, endDate="2026-11-20")
        _put(ndelius_url, crn, doc)

    assert _sync(db_cli)["entries_created"] == 1
    ended = _queue(db_cli, with_baseline, "pending")
    assert [(r["section"], r["kind"]) for r in ended] == [("mappa", "mappa-ended")]
    assert _queue(db_cli, without, "pending") == []
    assert _sync(db_cli)["entries_created"] == 0


def test_merge_retires_the_merged_away_case_and_rereads_the_survivor(
    db_cli: Cli, ndelius_url: str
) -> None:
    source, target = "A117839", "B203456"
    only_cases(ndelius_url, {source, target})
    _sync(db_cli)
    source_pending = _queue(db_cli, source, "pending")
    assert source_pending
    local.post(
        f"{ndelius_url}/__admin/merge", json={"from": source, "into": target}
    ).raise_for_status()

    result = _sync(db_cli)
    assert result["cases_merged"] == 1
    assert result["cases_failed"] == 0  # the merged-away CRN is not read (it would 404)
    assert _queue(db_cli, source, "pending") == []
    reasons = {e["reason"] for e in _status(db_cli, source, "N07A002")}
    assert reasons == {f"merged into {target} in nDelius"}
    # The survivor now holds the source's contacts: their activity entries are queued for it.
    moved = {str(c["id"]) for c in case_doc(source)["contacts"] if c.get("visorContact")}
    rows = db_cli.json("queue", "list")
    assert {r["section"] for r in rows if r["crn"] == target and r["status"] == "pending"}
    assert result["entries_created"] >= len(moved)
    assert _sync(db_cli)["entries_created"] == 0


# -- GDPR erasure ---------------------------------------------------------------------------------


def _content_strings(crn: str) -> list[bytes]:
    """Values of the case that appear in its records (names, date of birth, postcodes)."""
    offender = case_doc(crn)["offender"]
    values = [offender["firstName"], offender["surname"], offender["dateOfBirth"]]
    values += [a["postcode"] for a in offender["contactDetails"]["addresses"] if a.get("postcode")]
    return [v.encode("utf-8") for v in values]


def test_gdpr_deletion_erases_every_stored_byte_of_the_case(
    db_url: str, db_cli: Cli, ndelius_url: str
) -> None:
    gone, kept = "G719053", "A117839"
    only_cases(ndelius_url, {gone, kept})
    _sync(db_cli)
    engine = make_engine(db_url)
    try:
        _approve(db_cli, _one(_queue(db_cli, gone, "pending"), "identity")["id"])  # a baseline too
        with Session(engine) as s:
            assert s.exec(select(Baseline).where(Baseline.crn == gone)).first() is not None
        before = _relfilenodes(engine)
        local.delete(f"{ndelius_url}/__admin/cases/{gone}").raise_for_status()

        result = _sync(db_cli)
        assert (result["cases_erased"], result["cases_failed"]) == (1, 0)
        with Session(engine) as s:
            for table in (Entry, Baseline, CaseState):
                rows = s.exec(select(table).where(table.crn == gone)).all()  # type: ignore[attr-defined]
                assert rows == [], table
            assert s.exec(select(EntryVersion)).all()  # the other case's versions are intact
            erasures = s.exec(
                select(AuditEvent).where(AuditEvent.crn == gone, AuditEvent.category == "erasure")
            ).all()
            assert [e.action for e in erasures] == ["case.erased"]
            assert erasures[0].detail["entries"] >= 1
        assert _queue(db_cli, kept, "pending")  # nothing else went
        if engine.dialect.name == "sqlite":
            _assert_absent_from_files(Path(str(engine.url.database)), _content_strings(gone))
        else:
            after = _relfilenodes(engine)
            # VACUUM FULL wrote each content table to a new file and dropped the old one.
            assert all(after[t] != before[t] for t in before), (before, after)
        present = _content_strings(kept)[1]  # the test can fail: a kept value is still found
        if engine.dialect.name == "sqlite":
            assert any(present in p.read_bytes() for p in _db_files(Path(str(engine.url.database))))
    finally:
        engine.dispose()


def _relfilenodes(engine: Any) -> dict[str, int]:
    if engine.dialect.name != "postgresql":
        return {}
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT relname, relfilenode FROM pg_class WHERE relname IN "
                "('entry', 'entryversion', 'baseline', 'casestate')"
            )
        ).all()
    return {name: int(node) for name, node in rows}


def _db_files(path: Path) -> list[Path]:
    return [p for p in (path, Path(f"{path}-wal"), Path(f"{path}-journal")) if p.exists()]


def _assert_absent_from_files(path: Path, needles: list[bytes]) -> None:
    for file in _db_files(path):
        data = file.read_bytes()
        for needle in needles:
            assert needle not in data, f"{needle!r} still in {file.name}"


# -- scope that changes inside the bridge (ARCHITECTURE §9) -----------------------------------------


@pytest.mark.parametrize("adopt", ["adopt", "queue"])
def test_adoption_at_go_live(
    adopt: str, db_cli: Cli, ndelius_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    crn = "M361024"  # already on ViSOR (a VISO identifier)
    only_cases(ndelius_url, {crn})
    monkeypatch.setenv("BRIDGE_ADOPT_EXISTING", adopt)
    first = _sync(db_cli)
    rows = _queue(db_cli, crn)
    if adopt == "adopt":
        assert (first["entries_created"], rows) == (0, [])
        _put(ndelius_url, crn, _move(case_doc(crn), "E3 4AA"))
        _sync(db_cli)
        rows = _queue(db_cli, crn)
        assert [(r["section"], r["kind"]) for r in rows] == [("addresses", "nominal-update")]
    else:
        assert first["entries_created"] == len(expected_sections(crn))
        assert {r["kind"] for r in rows if r["section"] != "activity"} == {"nominal-update"}


def _staff_with(tmp_path: Path, code: str, needs: dict[str, Any] | None, drop: set[str]) -> Path:
    path = staff_file(tmp_path, today())
    data = json.loads(path.read_text(encoding="utf-8"))
    data["staff"] = [p for p in data["staff"] if p["code"] not in drop]
    for person in data["staff"]:
        if person["code"] == code:
            person["needsProxy"] = needs
    out = tmp_path / "staff-changed.json"
    out.write_text(json.dumps(data), encoding="utf-8")
    return out


def test_officer_starting_then_stopping_needing_a_proxy(
    db_cli: Cli, ndelius_url: str, tmp_path: Path
) -> None:
    crn, officer = "J917642", "N07A010"  # managed by an officer who needs no proxy
    only_cases(ndelius_url, {crn})
    assert _sync(db_cli)["entries_created"] == 0
    since = (today() - timedelta(days=1)).isoformat()
    started = _staff_with(tmp_path, officer, {"since": since, "until": None}, set())
    assert db_cli("staff", "import", str(started))[0] == 0

    result = _sync(db_cli)  # no nDelius event: the bridge's own scope change is enough
    assert (result["events_read"], result["entries_created"]) == (0, len(expected_sections(crn)))
    assert {r["on_behalf_of"] for r in _queue(db_cli, crn)} == {officer}
    claimed = _queue(db_cli, crn, "pending")[0]
    assert db_cli("entry", "claim", str(claimed["id"]), "--as", PROXY)[0] == 0

    ended = _staff_with(
        tmp_path,
        officer,
        {"since": since, "until": (today() - timedelta(days=1)).isoformat()},
        set(),
    )
    assert db_cli("staff", "import", str(ended))[0] == 0
    result = _sync(db_cli)
    assert result["entries_superseded"] == len(expected_sections(crn))
    assert _queue(db_cli, crn, "pending") == []
    assert _queue(db_cli, crn, "claimed") == []
    reasons = {e["reason"] for e in _status(db_cli, crn, officer)}
    assert reasons == {"out of scope: offender manager does not need a proxy"}


def test_staff_import_replace_deactivates_and_releases_claims(
    db_cli: Cli, ndelius_url: str, tmp_path: Path
) -> None:
    crn = "B203456"
    only_cases(ndelius_url, {crn})
    _sync(db_cli)
    entry = _queue(db_cli, crn, "pending")[0]
    assert db_cli("entry", "claim", str(entry["id"]), "--as", PROXY)[0] == 0
    without_proxy = _staff_with(tmp_path, MANAGER, {"since": "2025-01-06", "until": None}, {PROXY})

    result = db_cli.json("staff", "import", str(without_proxy), "--replace")
    assert (result["deactivated"], result["released"]) == (1, 1)
    back = {r["id"]: r["status"] for r in _queue(db_cli, crn)}
    assert back[entry["id"]] == "pending"
    assert db_cli("entry", "claim", str(entry["id"]), "--as", PROXY)[0] == 1  # no longer staff


def test_a_rejected_section_is_queued_again_only_when_it_changes(
    db_cli: Cli, ndelius_url: str
) -> None:
    crn = "B203456"
    only_cases(ndelius_url, {crn})
    _sync(db_cli)
    identity = _one(_queue(db_cli, crn, "pending"), "identity")
    assert db_cli("entry", "claim", str(identity["id"]), "--as", PROXY)[0] == 0
    code, _out, err = db_cli(
        "entry", "reject", str(identity["id"]), "--as", PROXY, "--reason", "Wrong person"
    )
    assert code == 0, err

    _put(ndelius_url, crn, _move(case_doc(crn), "NE6 2AA"))  # another section changes
    result = _sync(db_cli)
    assert result["entries_created"] == 1
    assert [
        r["section"] for r in _queue(db_cli, crn, "pending") if r["section"] == "identity"
    ] == []

    doc = _move(case_doc(crn), "NE6 2AA")
    doc["offender"]["surname"] = "Dockerty"  # now the rejected section itself changes
    _put(ndelius_url, crn, doc)
    assert _sync(db_cli)["entries_created"] == 1
    assert _one(_queue(db_cli, crn, "pending"), "identity")["id"] != identity["id"]
