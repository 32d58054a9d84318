"""The mapping engine over every fixture case, text safety, and a property over random documents."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from lxml import etree

from bridge.config import default_mappings_dir
from bridge.core.issues import has_blocking
from bridge.core.mapping.engine import MappedSection, Mapper
from bridge.core.mapping.spec import SECTION_NAMES
from bridge.core.mapping.transforms import pnc_is_valid
from bridge.core.record import NS, Envelope, build_record, canonical_hash, to_xml
from bridge.core.snapshot import CaseSnapshot
from bridge.core.xmltext import parse_untrusted
from bridge.mapping_files import load_mapping
from tests.builders import CASES, IN_SCOPE, case_doc

ALL_CASES = sorted(p.stem for p in CASES.glob("*.json"))
PREPARED_AT = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)

#: (CRN, section) → the blocking issues fixtures/README.md says the mapping must raise.
EXPECTED_BLOCKING: dict[tuple[str, str], set[tuple[str, str]]] = {
    ("C318820", "mappa"): {("unknown-code", "mappa/Category")},
    ("D402935", "mappa"): {("unknown-code", "mappa/Level")},
    ("N493362", "mappa"): {("unknown-code", "mappa/Category"), ("unknown-code", "mappa/Level")},
    ("P527104", "mappa"): {("missing-field", "mappa/Level")},  # no level recorded at all
    ("B219904", "identity"): {("invalid-format", "identity/PNC")},
}


#: Sections every case has once, in record order (activity comes once per flagged contact).
SECTIONS = SECTION_NAMES[:-1]


@cache
def _schema() -> etree.XMLSchema:
    return load_mapping(default_mappings_dir()).schema


@cache
def _mapper() -> Mapper:
    return load_mapping(default_mappings_dir()).mapper


def _record(snapshot: CaseSnapshot, mapped: MappedSection) -> etree._Element:
    envelope = Envelope(
        kind="nominal-create",
        crn=snapshot.crn,
        source_version=snapshot.fingerprint(),
        mapping_version="visor-v1.0",
        on_behalf_of="N07A001",
        prepared_at=PREPARED_AT,
    )
    return build_record(mapped.element, envelope, section_hash=canonical_hash(mapped.element))


def _map(crn: str, document: dict[str, Any]) -> tuple[CaseSnapshot, list[MappedSection]]:
    snapshot = CaseSnapshot.from_document(crn, document)
    return snapshot, list(_mapper().map_case(snapshot).sections)


def _names(sections: list[MappedSection]) -> list[str]:
    """Section names in order, with the per-contact activity sections left out."""
    assert all(m.name == "activity" for m in sections[len(SECTIONS) :])
    return [m.name for m in sections[: len(SECTIONS)]]


def _blocking(mapped: MappedSection) -> set[tuple[str, str]]:
    return {(i.code, i.path) for i in mapped.issues if i.blocking}


def _section(sections: list[MappedSection], name: str) -> MappedSection:
    return next(m for m in sections if m.name == name)


def _text(element: etree._Element, tag: str) -> str | None:
    found = element.find(f"{{{NS}}}{tag}")
    return None if found is None else found.text


# -- every fixture case -----------------------------------------------------------------


@pytest.mark.parametrize("crn", ALL_CASES)
def test_fixture_case_maps_to_valid_records_or_expected_blocking_issues(crn: str) -> None:
    snapshot, sections = _map(crn, case_doc(crn))
    assert _names(sections) == list(SECTIONS)
    for mapped in sections:
        blocking = _blocking(mapped)
        if crn in IN_SCOPE:
            assert blocking == EXPECTED_BLOCKING.get((crn, mapped.name), set()), mapped.name
        if not blocking:
            record = _record(snapshot, mapped)
            assert _schema().validate(record), (mapped.name, str(_schema().error_log))
        for issue in mapped.issues:
            assert issue.path.startswith(f"{mapped.name}/")
            assert issue.message


@pytest.mark.parametrize("crn", ["D415066", "J903381"])
def test_a_case_without_active_mappa_gets_a_blocking_issue_instead_of_a_crash(crn: str) -> None:
    _, sections = _map(crn, case_doc(crn))
    assert _blocking(_section(sections, "mappa")) == {
        ("missing-field", "mappa/Category"),
        ("missing-field", "mappa/Level"),
        ("missing-field", "mappa/StartDate"),
    }


def test_missing_pnc_is_a_non_blocking_issue() -> None:
    _, sections = _map("H844120", case_doc("H844120"))
    identity = _section(sections, "identity")
    assert [(i.code, i.path, i.blocking) for i in identity.issues] == [
        ("missing-field", "identity/PNC", False)
    ]
    assert not has_blocking(list(identity.issues))
    assert identity.element.find(f"{{{NS}}}PNC") is None


def test_wrong_pnc_check_character_is_blocking_and_left_out_of_the_record() -> None:
    _, sections = _map("B219904", case_doc("B219904"))
    identity = _section(sections, "identity")
    assert [(i.code, i.blocking) for i in identity.issues] == [("invalid-format", True)]
    assert identity.element.find(f"{{{NS}}}PNC") is None
    # with the check character corrected, the same case maps cleanly
    doc = case_doc("B219904")
    doc["offender"]["otherIds"]["pncNumber"] = "2017/0264190W"
    _, fixed = _map("B219904", doc)
    assert _section(fixed, "identity").issues == ()
    assert _text(_section(fixed, "identity").element, "PNC") == "2017/0264190W"


def test_latest_of_two_active_mappa_registrations_is_mapped() -> None:
    _, sections = _map("E508871", case_doc("E508871"))
    mappa = _section(sections, "mappa").element
    assert (_text(mappa, "Category"), _text(mappa, "Level")) == ("1", "2")


def test_unicode_names_are_kept_literally() -> None:
    snapshot, sections = _map("G719053", case_doc("G719053"))
    identity = _section(sections, "identity")
    assert _text(identity.element, "Forename") == "Siobhán"
    assert "Siobhán" in to_xml(_record(snapshot, identity))


def _arabic(text: str) -> str:
    """`text` with its digits 0-9 written as Arabic-Indic digits (Unicode category Nd)."""
    return text.translate({ord("0") + i: 0x660 + i for i in range(10)})


# -- PNC check character ------------------------------------------------------------------


@pytest.mark.parametrize(
    "pnc",
    ["2011/0483921T", "1976/0011873L", "2017/0264190W", "2015/0127764B", "2019/0533817Z"],
)
def test_pnc_with_the_right_check_character_is_valid(pnc: str) -> None:
    assert pnc_is_valid(pnc)


@pytest.mark.parametrize(
    "pnc",
    [
        "2017/0264190A",  # B219904: wrong check character
        "2011/0483921U",  # off by one letter
        "2011/0483921t",  # lower case
        "2011/483921T",  # six-digit serial
        "11/0483921T",  # two-digit year
        "2011-0483921T",  # wrong separator
        " 2011/0483921T",  # surrounding space
        "2011/0483921",  # no check character
        "",
        _arabic("2011/0483921T"),  # Arabic-Indic digits: ViSOR's schema allows 0-9 only
    ],
)
def test_pnc_with_a_wrong_format_or_check_character_is_invalid(pnc: str) -> None:
    assert not pnc_is_valid(pnc)


@pytest.mark.parametrize(
    ("key", "value", "path"),
    [
        ("pncNumber", _arabic("2011/0483921T"), "identity/PNC"),
        ("croNumber", _arabic("90231/15F"), "identity/CRO"),
        ("nomsNumber", _arabic("A1108SO"), "identity/NOMS"),
    ],
)
def test_identifiers_with_non_ascii_digits_are_blocking_not_schema_invalid(
    key: str, value: str, path: str
) -> None:
    doc = case_doc("G719053")
    doc["offender"]["otherIds"][key] = value
    _, sections = _map("G719053", doc)
    identity = _section(sections, "identity")
    assert ("invalid-format", path) in _blocking(identity)


def test_postcode_with_non_ascii_digits_is_blocking() -> None:
    doc = case_doc("G719053")
    doc["offender"]["contactDetails"]["addresses"][0]["postcode"] = _arabic("N19 5DN")
    _, sections = _map("G719053", doc)
    assert ("invalid-format", "addresses/Address[1]/Postcode") in _blocking(
        _section(sections, "addresses")
    )


# -- text safety ---------------------------------------------------------------------------


def test_characters_xml_cannot_hold_are_removed_with_a_non_blocking_issue() -> None:
    doc = case_doc("B203456")
    doc["offender"]["surname"] = "Ha\x00rt\x0bley\ud800"
    snapshot, sections = _map("B203456", doc)
    identity = _section(sections, "identity")
    assert _text(identity.element, "Surname") == "Hartley"
    removed = [i for i in identity.issues if i.code == "xml-char-removed"]
    assert [(i.path, i.blocking) for i in removed] == [("identity/Surname", False)]
    assert "3 character(s)" in removed[0].message
    assert "Ha" not in removed[0].message  # messages never carry record values
    record = _record(snapshot, identity)
    assert _schema().validate(record)
    parse_untrusted(to_xml(record))  # the serialised record is well-formed UTF-8


XXE = '<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>&e;'


def test_markup_in_a_value_is_escaped_and_never_expanded() -> None:
    doc = case_doc("B203456")
    doc["offender"]["contactDetails"]["addresses"][0]["streetName"] = XXE
    snapshot, sections = _map("B203456", doc)
    addresses = _section(sections, "addresses")
    assert not _blocking(addresses)
    record = _record(snapshot, addresses)
    assert _schema().validate(record)
    xml = to_xml(record)
    assert "&lt;!DOCTYPE" in xml
    assert "&amp;e;" in xml
    assert "<!DOCTYPE" not in xml
    assert "<![CDATA[" not in xml
    passwd = Path("/etc/passwd")
    if passwd.exists():
        first_line = passwd.read_text(encoding="utf-8", errors="replace").splitlines()[0]
        assert first_line not in xml
    # read back with the hardened parser, the value is the literal text, not a file's content
    back = parse_untrusted(xml)
    streets = back.findall(f".//{{{NS}}}StreetName")
    assert XXE in [s.text for s in streets]


# -- property: any JSON whatsoever ----------------------------------------------------------

_NASTY = st.sampled_from(
    ["\x00", "\x0b", "\x1f", "\ud800", "\udfff", "\ufffe", "\uffff", "<", "&", "]", ">", "é", " "]
)
_TEXT = st.one_of(
    st.text(alphabet=st.characters(exclude_categories=()), max_size=40),
    st.text(alphabet=st.one_of(_NASTY, st.sampled_from("AZaz09/- ")), max_size=20),
    st.builds(lambda s, n: s * n, st.text(min_size=1, max_size=4), st.integers(200, 5000)),
    st.sampled_from(
        ["M1", "M2", "M0", "X9", "MAPP", "M", "P", "O", "2026-11-23", "2011/0483921T", "N07A001"]
    ),
)
_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    _TEXT,
)
_JSON = st.recursive(
    _SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(
            st.one_of(_TEXT, st.sampled_from(["code", "active", "status"])), children, max_size=4
        ),
    ),
    max_leaves=12,
)
_TOP_KEYS = ["offender", "registrations", "contacts", "accessLimitations"]


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            out.extend(_paths(value, (*prefix, key)))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            out.extend(_paths(value, (*prefix, index)))
    return out


def _set(document: Any, path: tuple[Any, ...], value: Any) -> None:
    target = document
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value


@st.composite
def _mutated_fixture(draw: st.DrawFn) -> dict[str, Any]:
    """A real fixture document with random JSON put at random places in it."""
    document = copy.deepcopy(_fixture_documents()[draw(st.sampled_from(ALL_CASES))])
    for _ in range(draw(st.integers(1, 6))):
        paths = _paths(document)[1:]
        if not paths:
            break
        _set(document, draw(st.sampled_from(paths)), draw(_JSON))
    return document


_RANDOM_DOCUMENT = st.dictionaries(st.one_of(st.sampled_from(_TOP_KEYS), _TEXT), _JSON, max_size=5)


@cache
def _fixture_documents() -> dict[str, dict[str, Any]]:
    return {
        crn: json.loads((CASES / f"{crn}.json").read_text(encoding="utf-8")) for crn in ALL_CASES
    }


def _check_total_and_deterministic(document: Any) -> None:
    snapshot, first = _map("A000001", document)
    _, second = _map("A000001", copy.deepcopy(document))
    assert _names(first) == list(SECTIONS)
    assert [canonical_hash(m.element) for m in first] == [canonical_hash(m.element) for m in second]
    assert [m.issues for m in first] == [m.issues for m in second]
    for mapped in first:
        if has_blocking(list(mapped.issues)):
            continue
        record = _record(snapshot, mapped)
        assert _schema().validate(record), (mapped.name, str(_schema().error_log), to_xml(record))


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(document=st.one_of(_mutated_fixture(), _RANDOM_DOCUMENT))
@example(document={"offender": {"surname": "\x00", "firstName": "\ud800 "}})
@example(
    document={
        "offender": {
            "offenderManagers": [
                {"active": True, "staff": {"code": "N07A001"}, "team": {"code": "\x00"}}
            ]
        },
        "registrations": [
            {
                "active": True,
                "type": {"code": "MAPP"},
                "registerCategory": {"code": "M1"},
                "registerLevel": {"code": "M1"},
                "startDate": "2026-01-01",
                "registeringTeam": {"code": "\x0b\x00"},
            }
        ],
    }
)
def test_any_document_maps_without_raising_deterministically_and_validly(
    document: dict[str, Any],
) -> None:
    _check_total_and_deterministic(document)


def test_a_code_that_is_empty_once_cleaned_is_blocking_not_an_empty_element() -> None:
    """Otherwise `<Team/>` without its required `<Code>` would fail ViSOR's schema unflagged."""
    doc = case_doc("B203456")
    mappa_reg = next(r for r in doc["registrations"] if r["type"]["code"] == "MAPP" and r["active"])
    mappa_reg["registeringTeam"] = {"code": "\x00\x0b", "description": "Team"}
    _, sections = _map("B203456", doc)
    assert ("missing-field", "mappa/Team/Code") in _blocking(_section(sections, "mappa"))
