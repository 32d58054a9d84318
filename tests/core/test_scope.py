"""The scope rule (`decide_scope`) over the fixture cases and edited copies of them: whether a
case is in scope, and when it is not, the exact reason people are shown."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from bridge.config import default_mappings_dir
from bridge.core.scope import NO_PROXY, ScopeRules, access_of, decide_scope
from bridge.core.snapshot import CaseSnapshot
from bridge.errors import MappingSpecError
from bridge.mapping_files import load_mapping
from tests.builders import CASES, IN_SCOPE, OUT_OF_SCOPE, case_doc

#: Offender managers whose needsProxy is current on 2026-11-23 (fixtures/staff.json).
NEEDS_PROXY = frozenset({"N07A001", "N07A002", "N02A003"})
ALL = ScopeRules()
#: The mapping's code tables: scope reads MAPPA categories and levels from them.
TABLES = load_mapping(default_mappings_dir()).spec.tables


def _snap(crn: str, document: dict[str, Any] | None = None) -> CaseSnapshot:
    return CaseSnapshot.from_document(crn, document if document is not None else case_doc(crn))


NOT_IN_SCOPE = "MAPPA category or level not in scope"
UNKNOWN = "MAPPA category or level unknown"

#: Why each out-of-scope fixture case is out (fixtures/README.md, "in scope?" column).
NO_MAPPA = "no active MAPPA registration"
OUT_OF_SCOPE_REASONS = {
    "D415066": NO_MAPPA,  # its only MAPP registration is deregistered
    "E521390": NO_PROXY,  # current OM N07UATU (unallocated) needs no proxy
    "F613745": "case deleted in nDelius",
    "J903381": NO_MAPPA,  # never had one
    "J917642": NO_PROXY,  # OM N07A010 is vetted himself
    "K120459": NO_PROXY,  # OM N02A011's needsProxy ended
    "L246013": NO_PROXY,  # transferred out to N02A011
}


def test_the_reasons_cover_exactly_the_out_of_scope_fixtures() -> None:
    assert set(OUT_OF_SCOPE_REASONS) == OUT_OF_SCOPE


@pytest.mark.parametrize("crn", sorted(p.stem for p in CASES.glob("*.json")))
def test_fixture_scope_and_reason_match_the_readme(crn: str) -> None:
    rules = load_mapping(default_mappings_dir()).scope
    decision = decide_scope(_snap(crn), needs_proxy=NEEDS_PROXY, rules=rules, tables=TABLES)
    if crn in IN_SCOPE:
        assert (decision.in_scope, decision.reason) == (True, "in scope")
        assert decision.on_behalf_of in NEEDS_PROXY
    else:
        assert (decision.in_scope, decision.reason) == (False, OUT_OF_SCOPE_REASONS[crn])
        assert decision.on_behalf_of is None


def test_soft_deleted_case_is_out_of_scope() -> None:
    decision = decide_scope(_snap("F613745"), needs_proxy=NEEDS_PROXY, rules=ALL, tables=TABLES)
    assert (decision.in_scope, decision.reason) == (False, "case deleted in nDelius")
    doc = case_doc("F613745")
    doc["offender"]["softDeleted"] = False
    assert decide_scope(
        _snap("F613745", doc), needs_proxy=NEEDS_PROXY, rules=ALL, tables=TABLES
    ).in_scope


@pytest.mark.parametrize("crn", ["J903381", "D415066"])
def test_no_active_mappa_registration_is_out_of_scope(crn: str) -> None:
    """J903381 never had MAPPA; D415066's only MAPP registration is deregistered."""
    decision = decide_scope(
        _snap(crn), needs_proxy=NEEDS_PROXY | {"N07A010"}, rules=ALL, tables=TABLES
    )
    assert (decision.in_scope, decision.reason) == (False, NO_MAPPA)


def test_soft_deleted_registration_does_not_count() -> None:
    doc = case_doc("B203456")
    for reg in doc["registrations"]:
        if reg["type"]["code"] == "MAPP":
            reg["softDeleted"] = True
    decision = decide_scope(
        _snap("B203456", doc), needs_proxy=NEEDS_PROXY, rules=ALL, tables=TABLES
    )
    assert decision.reason == "no active MAPPA registration"


def test_latest_of_two_active_mappa_registrations_counts() -> None:
    """E508871: M2/M1 from 2023 and M1/M2 from 2026; only the 2026 one (cat 1, level 2) counts."""
    snap = _snap("E508871")
    latest = snap.latest_mappa()
    assert latest is not None
    assert (latest.code_of("registerCategory"), latest.code_of("registerLevel")) == ("M1", "M2")
    cat1 = ScopeRules(categories=frozenset({1}))
    cat2 = ScopeRules(categories=frozenset({2}))
    level1 = ScopeRules(levels=frozenset({1}))
    assert decide_scope(snap, needs_proxy=NEEDS_PROXY, rules=cat1, tables=TABLES).in_scope
    for rules in (cat2, level1):
        decision = decide_scope(snap, needs_proxy=NEEDS_PROXY, rules=rules, tables=TABLES)
        assert (decision.in_scope, decision.reason) == (False, NOT_IN_SCOPE)


def test_registration_order_in_the_document_does_not_matter() -> None:
    doc = case_doc("E508871")
    doc["registrations"].reverse()
    latest = _snap("E508871", doc).latest_mappa()
    assert latest is not None
    assert latest.code_of("registerCategory") == "M1"


def test_manager_must_need_a_proxy() -> None:
    """J917642 is managed by N07A010, who needs no proxy."""
    out = decide_scope(_snap("J917642"), needs_proxy=NEEDS_PROXY, rules=ALL, tables=TABLES)
    assert (out.in_scope, out.reason) == (False, NO_PROXY)
    inside = decide_scope(
        _snap("J917642"), needs_proxy=NEEDS_PROXY | {"N07A010"}, rules=ALL, tables=TABLES
    )
    assert (inside.in_scope, inside.on_behalf_of) == (True, "N07A010")


def test_only_the_current_manager_counts() -> None:
    """E521390: unallocated now; the ended N07A001 allocation does not count."""
    e = decide_scope(_snap("E521390"), needs_proxy=NEEDS_PROXY, rules=ALL, tables=TABLES)
    assert (e.in_scope, e.reason) == (False, NO_PROXY)  # N07A001 would need one: not counted
    # K134872: transferred in from N07A010 to N07A001
    k = decide_scope(_snap("K134872"), needs_proxy=NEEDS_PROXY, rules=ALL, tables=TABLES)
    assert (k.in_scope, k.on_behalf_of) == (True, "N07A001")


def test_no_current_manager_is_out_of_scope() -> None:
    doc = case_doc("B203456")
    for manager in doc["offender"]["offenderManagers"]:
        manager["active"] = False
    decision = decide_scope(
        _snap("B203456", doc), needs_proxy=NEEDS_PROXY, rules=ALL, tables=TABLES
    )
    assert (decision.in_scope, decision.reason) == (False, "no current offender manager")


@pytest.mark.parametrize(
    ("crn", "rules", "reason"),
    [
        ("A117839", ScopeRules(levels=frozenset({2})), None),  # M2/M2
        ("A117839", ScopeRules(levels=frozenset({1, 3})), NOT_IN_SCOPE),
        ("A117839", ScopeRules(categories=frozenset({1, 3, 4})), NOT_IN_SCOPE),
        ("B219904", ScopeRules(categories=frozenset({4}), levels=frozenset({2})), None),  # M4/M2
        ("C318820", ScopeRules(), None),  # X9 stays in scope to be fixed
        ("C318820", ScopeRules(include_unknown=False), UNKNOWN),
        ("D402935", ScopeRules(include_unknown=False), UNKNOWN),  # M0
        ("P527104", ScopeRules(include_unknown=False), UNKNOWN),  # no level at all
        ("P527104", ScopeRules(levels=frozenset({3})), None),  # unknown bypasses the level filter
        ("N493362", ScopeRules(), None),
    ],
)
def test_category_and_level_filters(crn: str, rules: ScopeRules, reason: str | None) -> None:
    """`reason` None: in scope; otherwise the reason it is out."""
    decision = decide_scope(_snap(crn), needs_proxy=NEEDS_PROXY, rules=rules, tables=TABLES)
    expected = (True, "in scope") if reason is None else (False, reason)
    assert (decision.in_scope, decision.reason) == expected


def test_access_limitations_are_read_from_the_case() -> None:
    excluded = _snap("F600218")
    assert "N07P004" in access_of(excluded).excluded_from
    restricted = _snap("N480937")
    assert set(access_of(restricted).restricted_to) == {"N07A001", "N07P005", "N07A050"}
    assert decide_scope(excluded, needs_proxy=NEEDS_PROXY, rules=ALL, tables=TABLES).in_scope
    assert decide_scope(restricted, needs_proxy=NEEDS_PROXY, rules=ALL, tables=TABLES).in_scope


@pytest.mark.parametrize(
    "document",
    [
        {},
        {"offender": None},
        {"offender": [], "registrations": "x"},
        {"registrations": {"registrations": 7}},
    ],
)
def test_malformed_documents_are_out_of_scope_not_errors(document: dict[str, Any]) -> None:
    decision = decide_scope(
        _snap("Z000001", document), needs_proxy=NEEDS_PROXY, rules=ALL, tables=TABLES
    )
    assert (decision.in_scope, decision.reason) == (False, NO_MAPPA)


def test_scope_reads_mappa_codes_from_the_mappings_code_tables() -> None:
    """One place for codes: a category the table lacks is unknown to scope as to the mapping."""
    doc = case_doc("B219904")  # M4/M2
    rules = ScopeRules(include_unknown=False)
    assert decide_scope(
        _snap("B219904", doc), needs_proxy=NEEDS_PROXY, rules=rules, tables=TABLES
    ).in_scope
    categories = TABLES["mappa-categories"]
    without_m4 = replace(categories, codes={k: v for k, v in categories.codes.items() if k != "M4"})
    tables = {**TABLES, "mappa-categories": without_m4}
    decision = decide_scope(
        _snap("B219904", doc), needs_proxy=NEEDS_PROXY, rules=rules, tables=tables
    )
    assert (decision.in_scope, decision.reason) == (False, UNKNOWN)
    renamed = replace(categories, codes={**categories.codes, "C4": "4"})  # a new code for cat 4
    mappa = next(r for r in doc["registrations"] if r["type"]["code"] == "MAPP")
    mappa["registerCategory"]["code"] = "C4"
    four_only = ScopeRules(categories=frozenset({4}), include_unknown=False)
    tables = {**TABLES, "mappa-categories": renamed}
    assert decide_scope(
        _snap("B219904", doc), needs_proxy=NEEDS_PROXY, rules=four_only, tables=tables
    ).in_scope


def test_without_the_tables_every_mappa_code_is_unknown() -> None:
    decision = decide_scope(
        _snap("A117839"),
        needs_proxy=NEEDS_PROXY,
        rules=ScopeRules(include_unknown=False),
        tables={},
    )
    assert (decision.in_scope, decision.reason) == (False, UNKNOWN)


def test_a_mapping_without_the_mappa_tables_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "visor-v1"
    shutil.copytree(default_mappings_dir(), folder)
    (folder / "codes" / "mappa-levels.toml").unlink()
    with pytest.raises(MappingSpecError) as caught:
        load_mapping(folder)
    assert any("mappa-levels" in p for p in caught.value.problems), caught.value.problems
