"""Real nDelius values reach the record: every address status, previous surname and preferred
name as names, and the current offender manager without an `active` flag (issue 13)."""

from __future__ import annotations

from functools import cache
from typing import Any

import pytest
from lxml import etree

from bridge.config import default_mappings_dir
from bridge.core.issues import Issue
from bridge.core.mapping.engine import Mapper
from bridge.core.scope import ScopeRules, decide_scope
from bridge.core.snapshot import CaseSnapshot
from bridge.core.xmltext import parse_untrusted
from bridge.mapping_files import MappingBundle, load_mapping
from tests.builders import case_doc

NS = {"v": "urn:visor-bridge:visor:v1"}


@cache
def _bundle() -> MappingBundle:
    return load_mapping(default_mappings_dir())


def _mapper() -> Mapper:
    return _bundle().mapper


def _section(
    document: dict[str, Any], name: str, crn: str = "A117839"
) -> tuple[etree._Element, tuple[Issue, ...]]:
    mapped = _mapper().map_case(CaseSnapshot.from_document(crn, document))
    section = next(s for s in mapped.sections if s.name == name)
    return section.element, section.issues


def _texts(element: etree._Element, path: str) -> list[str]:
    return [e.text or "" for e in element.findall(path, NS)]


# -- address statuses -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "visor"),
    [
        ("M", "Main"),
        ("m", "Main"),  # the search index writes lower case
        ("P", "Previous"),
        ("O", "Other"),
        ("S", "Other"),  # Secondary: current but not main; ViSOR has no "Secondary"
        ("s", "Other"),
    ],
)
def test_every_ndelius_address_status_has_a_visor_value(code: str, visor: str) -> None:
    doc = case_doc("A117839")
    doc["offender"]["contactDetails"]["addresses"][0]["status"] = {"code": code}
    element, issues = _section(doc, "addresses")
    assert _texts(element, "v:Address/v:Status")[0] == visor
    assert not [i for i in issues if i.code == "unknown-code"]


def test_every_code_in_the_status_table_is_a_value_the_xsd_allows() -> None:
    schema_doc = parse_untrusted((default_mappings_dir() / "visor-record.xsd").read_bytes())
    allowed = set(
        schema_doc.xpath(
            "//xs:simpleType[@name='AddressStatus']//xs:enumeration/@value",
            namespaces={"xs": "http://www.w3.org/2001/XMLSchema"},
        )
    )
    table = _bundle().spec.tables["address-status"]
    assert {"m", "p", "o", "s"} <= set(table.codes)  # the table ignores case
    assert set(table.codes.values()) <= allowed


def test_a_secondary_address_comes_after_the_main_one_and_before_previous_ones() -> None:
    element, issues = _section(case_doc("K134872"), "addresses", "K134872")
    assert _texts(element, "v:Address/v:Status") == ["Main", "Other", "Previous"]
    assert _texts(element, "v:Address/v:Postcode")[1] == "N1 6BH"
    assert not [i for i in issues if i.blocking]


def test_an_unknown_address_status_is_still_a_blocking_issue() -> None:
    doc = case_doc("A117839")
    doc["offender"]["contactDetails"]["addresses"][0]["status"] = {"code": "ZZ"}
    _, issues = _section(doc, "addresses")
    assert [(i.code, i.blocking) for i in issues if i.code == "unknown-code"] == [
        ("unknown-code", True)
    ]


# -- previous surname and preferred name -----------------------------------------------------------


def _aliases(document: dict[str, Any], crn: str = "A104212") -> list[tuple[str, ...]]:
    element, issues = _section(document, "aliases", crn)
    assert not issues
    return [tuple(child.text or "" for child in alias) for alias in element.findall("v:Alias", NS)]


def test_a_previous_surname_becomes_an_alias_with_the_persons_forenames() -> None:
    doc = case_doc("A104212")  # Daniel Roy Prescott, no ALIAS rows
    doc["offender"]["previousSurname"] = " Whitlock "
    assert _aliases(doc) == [("Whitlock", "Daniel", "Roy", "1979-04-12", "Male")]


def test_a_preferred_name_becomes_an_alias_with_the_current_surname() -> None:
    doc = case_doc("A104212")
    doc["offender"]["preferredName"] = "Danny"
    assert _aliases(doc) == [("Prescott", "Danny", "1979-04-12", "Male")]


def test_both_come_after_the_alias_rows_previous_surname_first() -> None:
    doc = case_doc("G719053")  # two ALIAS rows, previous surname Kavanagh
    doc["offender"]["preferredName"] = "Shiv"
    names = [(a[0], a[1]) for a in _aliases(doc, "G719053")]
    assert names[2:] == [("Kavanagh", "Siobhán"), ("O'Neil", "Shiv")]
    assert len(names) == 4


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("previousSurname", "prescott"),  # the same name as now, whatever the case
        ("previousSurname", "  "),
        ("previousSurname", None),
        ("preferredName", "Daniel"),  # A104212's fixture says so: no alias
        ("preferredName", " DANIEL "),
        ("preferredName", ""),
    ],
)
def test_no_alias_repeats_the_current_name_or_comes_from_nothing(key: str, value: Any) -> None:
    doc = case_doc("A104212")
    doc["offender"][key] = value
    assert _aliases(doc) == []


def test_a_fixture_with_a_previous_surname_and_no_alias_rows_gets_one_alias() -> None:
    element, _ = _section(case_doc("P527104"), "aliases", "P527104")
    assert _texts(element, "v:Alias/v:Surname") == ["Fletcher"]


def test_an_alias_row_that_already_says_the_same_is_not_repeated() -> None:
    """L258390 (fixture): preferred name Tony, and an ALIAS row Tony McGowan with the same
    date of birth and gender: one alias, not two (`distinct = true`)."""
    names = [(a[0], a[1]) for a in _aliases(case_doc("L258390"), "L258390")]
    assert names.count(("McGowan", "Tony")) == 1
    doc = case_doc("L258390")
    doc["offender"]["offenderAliases"][0]["dateOfBirth"] = "1968-10-11"  # no longer the same
    names = [(a[0], a[1]) for a in _aliases(doc, "L258390")]
    assert names.count(("McGowan", "Tony")) == 2


# -- the current offender manager ------------------------------------------------------------------


def _managers(*rows: dict[str, Any]) -> CaseSnapshot:
    doc = case_doc("A117839")
    doc["offender"]["offenderManagers"] = list(rows)
    return CaseSnapshot.from_document("A117839", doc)


def _om(code: str, **fields: Any) -> dict[str, Any]:
    return {"staff": {"code": code}, "team": {"code": "N07CHT"}, **fields}


def test_the_manager_marked_active_is_current_whatever_the_dates() -> None:
    snap = _managers(_om("N07A010", fromDate="2020-01-01"), _om("N07A002", active=True))
    assert snap.manager_code == "N07A002"


def test_without_an_active_flag_the_one_with_no_to_date_is_current() -> None:
    snap = _managers(
        _om("N07A010", fromDate="2023-01-09", toDate="2026-09-30"),
        _om("N07A002", fromDate="2026-10-01"),
    )
    assert snap.manager_code == "N07A002"


def test_an_allocation_marked_inactive_or_deleted_is_never_current() -> None:
    assert _managers(_om("N07A002", active=False)).manager_code is None
    assert _managers(_om("N07A002", softDeleted=True)).manager_code is None
    ended_flagged = _managers(_om("N07A010", active=False), _om("N07A002"))
    assert ended_flagged.manager_code == "N07A002"


def test_several_open_allocations_and_no_flag_leave_the_manager_undetermined() -> None:
    snap = _managers(_om("N07A010"), _om("N07A002", toDate=""))
    assert snap.manager_code is None
    assert snap.current_manager() == {}


def test_a_manager_without_the_flag_is_mapped_and_keeps_the_case_in_scope() -> None:
    """M361024's only row has no `active` flag (fixture): in scope, its officer mapped."""
    snap = CaseSnapshot.from_document("M361024", case_doc("M361024"))
    decision = decide_scope(
        snap, needs_proxy={"N07A002"}, rules=ScopeRules(), tables=_bundle().spec.tables
    )
    assert (decision.in_scope, decision.on_behalf_of) == (True, "N07A002")
    element, issues = _section(case_doc("M361024"), "managing-officer", "M361024")
    assert _texts(element, "v:StaffCode") == ["N07A002"]
    assert not [i for i in issues if i.blocking]


def test_a_transfer_without_flags_goes_to_the_new_officer() -> None:
    """L246013 (fixture): ended N02A003 (toDate), current N02A011, no flags on either row."""
    snap = CaseSnapshot.from_document("L246013", case_doc("L246013"))
    assert snap.manager_code == "N02A011"
