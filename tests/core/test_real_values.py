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
