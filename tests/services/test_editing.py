"""A proxy's corrections: new versions, checked before saving, refused when stale."""

from __future__ import annotations

import pytest
from sqlmodel import Session, col, select

from bridge.clock import FixedClock
from bridge.core.record import NS, section_of
from bridge.errors import VersionConflict, WrongState
from bridge.services.editing import EditRefused
from bridge.store.models import AuditEvent, Entry, EntryVersion
from bridge.wiring import Wiring
from tests.builders import PROXY, PROXY_2, MakeWiring, only_cases, sync_json

GOOD_PNC = "2008/0545166T"
BAD_PNC = "2008/0545166A"  # wrong check character


def _synced(make_wiring: MakeWiring, db_url: str, ndelius_url: str) -> Wiring:
    return make_wiring(db_url, ndelius_url, synced={"B219904", "P527104"})


def _entry(wiring: Wiring, crn: str, section: str) -> Entry:
    with Session(wiring.engine) as s:
        return s.exec(select(Entry).where(Entry.crn == crn, Entry.section == section)).one()


def _claimed(wiring: Wiring, crn: str, section: str, actor: str = PROXY) -> int:
    entry_id = _entry(wiring, crn, section).id
    assert entry_id is not None
    wiring.review.claim(entry_id, actor=actor)
    return entry_id


def test_an_edit_fixes_a_blocking_issue_as_a_new_version(
    db_url: str, ndelius_url: str, make_wiring: MakeWiring
) -> None:
    w = _synced(make_wiring, db_url, ndelius_url)
    entry_id = _claimed(w, "B219904", "identity")
    assert any(
        i["path"] == "identity/PNC" and i["blocking"]
        for i in _entry(w, "B219904", "identity").issues
    )

    row = w.editing.edit(entry_id, actor=PROXY, version=1, changes={"PNC": GOOD_PNC})

    assert row.version == 2
    entry = _entry(w, "B219904", "identity")
    assert not any(i["blocking"] for i in entry.issues)
    assert entry.xml is not None
    assert section_of(entry.xml).findtext(f"{{{NS}}}PNC") == GOOD_PNC
    change = next(c for c in entry.diff if c["path"] == "PNC")
    # the mapping could not write the invalid PNC: the edit adds what it left out
    assert (change["after"], change["mapped"], change["edited"]) == (GOOD_PNC, None, True)
    with Session(w.engine) as s:
        versions = s.exec(
            select(EntryVersion.version).where(EntryVersion.entry_id == entry_id)
        ).all()
        assert sorted(versions) == [1, 2]
        [edited] = s.exec(select(AuditEvent).where(col(AuditEvent.action) == "entry.edited")).all()
        assert edited.detail == {"version": 2, "fields": ["PNC"]}
        assert GOOD_PNC not in str(edited.detail)
    assert w.review.approve(entry_id, actor=PROXY, version=2).status == "approved"


def test_a_missing_field_is_added_where_the_schema_wants_it(
    db_url: str, ndelius_url: str, make_wiring: MakeWiring
) -> None:
    w = _synced(make_wiring, db_url, ndelius_url)
    entry_id = _claimed(w, "P527104", "mappa")
    with pytest.raises(WrongState):
        w.review.approve(entry_id, actor=PROXY)  # the level is missing: blocking
    w.editing.edit(entry_id, actor=PROXY, version=1, changes={"Level": "2"})
    entry = _entry(w, "P527104", "mappa")
    assert entry.xml is not None
    names = [child.tag.split("}")[1] for child in section_of(entry.xml)]
    assert names.index("Level") == names.index("Category") + 1
    assert w.review.approve(entry_id, actor=PROXY).status == "approved"


@pytest.mark.parametrize(
    ("changes", "says"),
    [
        ({"PNC": BAD_PNC}, "PNC: PNC number must be YYYY/NNNNNNNX with the right check character"),
        ({"DateOfBirth": "1985-02-30"}, "must be a real date"),
        ({"Nope": "x"}, "Nope: is not a field of this section"),
        ({"Surname": "Bad\x01char"}, "characters ViSOR cannot hold"),
        ({"Surname": ""}, "is required"),
    ],
)
def test_an_edit_that_breaks_a_rule_is_refused_and_nothing_is_saved(
    changes: dict[str, str], says: str, sqlite_url: str, ndelius_url: str, make_wiring: MakeWiring
) -> None:
    w = _synced(make_wiring, sqlite_url, ndelius_url)
    entry_id = _claimed(w, "B219904", "identity")
    before = _entry(w, "B219904", "identity")
    with pytest.raises(EditRefused, match=says):
        w.editing.edit(entry_id, actor=PROXY, version=1, changes=changes)
    after = _entry(w, "B219904", "identity")
    assert (after.version, after.xml, after.issues) == (before.version, before.xml, before.issues)


def test_a_lookup_field_lists_the_values_it_takes(
    sqlite_url: str, ndelius_url: str, make_wiring: MakeWiring
) -> None:
    w = _synced(make_wiring, sqlite_url, ndelius_url)
    entry_id = _claimed(w, "P527104", "mappa")
    with pytest.raises(EditRefused, match="MAPPA level must be one of: 1, 2, 3"):
        w.editing.edit(entry_id, actor=PROXY, version=1, changes={"Level": "M2"})


def test_an_edit_on_a_stale_version_is_a_conflict_and_overwrites_nothing(
    db_url: str, ndelius_url: str, make_wiring: MakeWiring, clock: FixedClock
) -> None:
    w = _synced(make_wiring, db_url, ndelius_url)
    entry_id = _claimed(w, "B219904", "identity", actor=PROXY)  # PROXY reads version 1
    clock.advance(31 * 60)  # ... and the claim expires
    w.review.claim(entry_id, actor=PROXY_2)
    w.editing.edit(entry_id, actor=PROXY_2, version=1, changes={"PNC": GOOD_PNC})
    w.review.release(entry_id, actor=PROXY_2)

    w.review.claim(entry_id, actor=PROXY)
    with pytest.raises(VersionConflict, match="version 2, not 1"):
        w.editing.edit(entry_id, actor=PROXY, version=1, changes={"Surname": "Other"})
    entry = _entry(w, "B219904", "identity")
    assert entry.version == 2
    assert entry.xml is not None
    assert section_of(entry.xml).findtext(f"{{{NS}}}PNC") == GOOD_PNC


def test_editing_needs_the_claim(
    sqlite_url: str, ndelius_url: str, make_wiring: MakeWiring
) -> None:
    w = _synced(make_wiring, sqlite_url, ndelius_url)
    entry_id = _entry(w, "B219904", "identity").id
    assert entry_id is not None
    with pytest.raises(WrongState, match="claim it first"):
        w.editing.edit(entry_id, actor=PROXY, version=1, changes={"PNC": GOOD_PNC})


def test_a_view_records_its_purpose_and_configuration_can_require_one(
    sqlite_url: str, ndelius_url: str, make_wiring: MakeWiring
) -> None:
    from bridge.errors import BadInput

    only_cases(ndelius_url, {"B219904"})
    w = make_wiring(sqlite_url, ndelius_url, view_purpose_required=True)
    sync_json(w)
    entry_id = _entry(w, "B219904", "identity").id
    assert entry_id is not None
    with pytest.raises(BadInput, match="--purpose"):
        w.review.show(entry_id, actor=PROXY)
    w.review.show(entry_id, actor=PROXY, purpose="review")
    with Session(w.engine) as s:
        views = s.exec(select(AuditEvent).where(col(AuditEvent.action) == "entry.viewed")).all()
    assert [v.detail.get("purpose") for v in views] == ["review"]
