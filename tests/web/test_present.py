"""A record section as people read it: ids, labels, changed and removed rows, edit fields, history."""

from __future__ import annotations

from bridge.config import default_mappings_dir
from bridge.core.mapping.spec import SectionSpec
from bridge.core.xmltext import parse_untrusted
from bridge.mapping_files import load_mapping
from bridge.web.present import (
    editable_fields,
    field_id,
    field_label,
    issue_field,
    long_date,
    problem_text,
    section_rows,
    section_title,
    timeline,
)

_SPECS = {s.name: s for s in load_mapping(default_mappings_dir()).spec.sections}
ADDRESSES = """<Addresses xmlns="urn:visor-bridge:visor:v1">
  <Address><Status>Main</Status><Postcode>E8 3QP</Postcode></Address>
  <Address><Status>Previous</Status><Postcode>M14 6HT</Postcode></Address>
</Addresses>"""
MAPPA = """<Mappa xmlns="urn:visor-bridge:visor:v1">
  <Category>1</Category><LeadAgency>Probation</LeadAgency>
</Mappa>"""


def _spec(name: str) -> SectionSpec:
    return _SPECS[name]


def test_field_ids_replace_every_run_of_other_characters_with_one_hyphen() -> None:
    assert field_id("Address[2]/Postcode") == "field-Address-2-Postcode"
    assert field_id("PNC") == "field-PNC"
    assert field_id("Team/Code") == "field-Team-Code"


def test_labels_come_from_the_spec_and_number_repeats() -> None:
    addresses, identity, mappa = _spec("addresses"), _spec("identity"), _spec("mappa")
    assert field_label(addresses, "Address[2]/Postcode") == "Address 2: Postcode"
    assert field_label(addresses, "Address[2]/Postcode", within_group=True) == "Postcode"
    assert field_label(addresses, "Address[1]/BuildingName") == "Address 1: Building name"
    assert field_label(identity, "PNC") == "PNC number"
    assert field_label(identity, "MiddleName[2]") == "Middle name 2"
    assert field_label(mappa, "Team/Code") == "MAPPA team code"
    assert field_label(None, "SomethingElse") == "Something else"
    assert section_title("managing-officer") == "Managing officer"
    assert section_title("mappa") == "MAPPA"


def test_rows_mark_changes_and_removals_in_their_groups() -> None:
    section = parse_untrusted(ADDRESSES)
    diff = [
        {"path": "Address[2]/Postcode", "before": "M1 1AA", "after": "M14 6HT"},
        {"path": "Address[2]/Town", "before": "Manchester", "after": None},
    ]
    groups = section_rows(section, _spec("addresses"), diff)
    assert [g.title for g in groups] == ["Address 1", "Address 2"]
    first, second = groups
    assert not any(r.changed for r in first.rows)
    rows = {r.path: r for r in second.rows}
    assert rows["Address[2]/Postcode"].changed
    assert rows["Address[2]/Postcode"].before == "M1 1AA"
    assert rows["Address[2]/Postcode"].id == "field-Address-2-Postcode"
    assert rows["Address[2]/Town"].removed
    assert rows["Address[2]/Town"].before == "Manchester"
    assert not rows["Address[2]/Status"].changed


def test_a_missing_field_an_issue_names_gets_a_row_and_an_input() -> None:
    section = parse_untrusted(MAPPA)
    spec = _spec("mappa")
    rows = [r.path for g in section_rows(section, spec, [], ["Level"]) for r in g.rows]
    assert rows == ["Category", "LeadAgency", "Level"]
    fields = [f.path for f in editable_fields(section, spec, ["Level", "NoSuchField"])]
    # LeadAgency is fixed by the mapping; a path the spec does not know is not offered.
    assert fields == ["Category", "Level"]


def test_issue_paths_and_problem_messages() -> None:
    assert issue_field("identity", "identity/PNC") == "PNC"
    assert issue_field("identity", "identity") is None
    assert issue_field("identity", "mappa/Level") is None
    assert problem_text("Postcode", "is required") == "Postcode is required"
    assert (
        problem_text("Postcode", "Postcode must be a UK postcode.")
        == "Postcode must be a UK postcode"
    )


def test_the_timeline_is_newest_first_and_says_only_what_people_read() -> None:
    items = timeline(
        [
            {
                "at": "2026-11-23T09:30:00+00:00",
                "actor": "N07P005",
                "action": "entry.claimed",
                "detail": {},
            },
            {
                "at": "2026-11-23T14:05:00+00:00",
                "actor": "N07P005",
                "action": "entry.edited",
                "detail": {"version": 2, "fields": ["PNC"], "other": "not shown"},
            },
        ]
    )
    assert [i.title for i in items] == ["Edited", "Claimed"]
    assert items[0].date == "23 November 2026 at 2:05pm GMT"  # Europe/London: GMT in November
    assert items[0].description == ["Fields: PNC", "Version 2"]
    assert long_date("2026-11-03") == "3 November 2026"
    assert long_date(None) == ""
