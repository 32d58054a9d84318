"""The scope rule (`decide_scope`) over the fixture cases and edited copies of them."""

from __future__ import annotations

from typing import Any

import pytest

from bridge.config import default_mappings_dir
from bridge.core.scope import ScopeRules, decide_scope
from bridge.core.snapshot import CaseSnapshot
from bridge.mapping_files import load_mapping
from tests.builders import CASES, IN_SCOPE, case_doc

#: Offender managers whose needsProxy is current on 2026-11-23 (fixtures/staff.json).
NEEDS_PROXY = frozenset({"N07A001", "N07A002", "N02A003"})
ALL = ScopeRules()


def _snap(crn: str, document: dict[str, Any] | None = None) -> CaseSnapshot:
    return CaseSnapshot.from_document(crn, document if document is not None else case_doc(crn))


@pytest.mark.parametrize("crn", sorted(p.stem for p in CASES.glob("*.json")))
def test_fixture_scope_matches_the_readme(crn: str) -> None:
    rules = load_mapping(default_mappings_dir()).scope
    decision = decide_scope(_snap(crn), needs_proxy=NEEDS_PROXY, rules=rules)
    assert decision.in_scope is (crn in IN_SCOPE), decision.reason
    if decision.in_scope:
        assert decision.on_behalf_of in NEEDS_PROXY
    else:
        assert decision.on_behalf_of is None


def test_soft_deleted_case_is_out_of_scope() -> None:
    decision = decide_scope(_snap("F613745"), needs_proxy=NEEDS_PROXY, rules=ALL)
    assert (decision.in_scope, decision.reason) == (False, "case deleted in nDelius")
    doc = case_doc("F613745")
    doc["offender"]["softDeleted"] = False
    assert decide_scope(_snap("F613745", doc), needs_proxy=NEEDS_PROXY, rules=ALL).in_scope


@pytest.mark.parametrize("crn", ["J903381", "D415066"])
def test_no_active_mappa_registration_is_out_of_scope(crn: str) -> None:
    """J903381 never had MAPPA; D415066's only MAPP registration is deregistered."""
    decision = decide_scope(_snap(crn), needs_proxy=NEEDS_PROXY | {"N07A010"}, rules=ALL)
    assert (decision.in_scope, decision.reason) == (False, "no active MAPPA registration")


def test_soft_deleted_registration_does_not_count() -> None:
    doc = case_doc("B203456")
    for reg in doc["registrations"]:
        if reg["type"]["code"] == "MAPP":
            reg["softDeleted"] = True
    decision = decide_scope(_snap("B203456", doc), needs_proxy=NEEDS_PROXY, rules=ALL)
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
    assert decide_scope(snap, needs_proxy=NEEDS_PROXY, rules=cat1).in_scope
    assert not decide_scope(snap, needs_proxy=NEEDS_PROXY, rules=cat2).in_scope
    assert not decide_scope(snap, needs_proxy=NEEDS_PROXY, rules=level1).in_scope


def test_registration_order_in_the_document_does_not_matter() -> None:
    doc = case_doc("E508871")
    doc["registrations"].reverse()
    latest = _snap("E508871", doc).latest_mappa()
    assert latest is not None
    assert latest.code_of("registerCategory") == "M1"


def test_manager_must_need_a_proxy() -> None:
    """J917642 is managed by N07A010, who needs no proxy."""
    out = decide_scope(_snap("J917642"), needs_proxy=NEEDS_PROXY, rules=ALL)
    assert (out.in_scope, out.reason) == (False, "offender manager does not need a proxy")
    inside = decide_scope(_snap("J917642"), needs_proxy=NEEDS_PROXY | {"N07A010"}, rules=ALL)
    assert (inside.in_scope, inside.on_behalf_of) == (True, "N07A010")


def test_only_the_current_manager_counts() -> None:
    """E521390: unallocated now; the ended N07A001 allocation does not count."""
    assert not decide_scope(_snap("E521390"), needs_proxy=NEEDS_PROXY, rules=ALL).in_scope
    # K134872: transferred in from N07A010 to N07A001
    k = decide_scope(_snap("K134872"), needs_proxy=NEEDS_PROXY, rules=ALL)
    assert (k.in_scope, k.on_behalf_of) == (True, "N07A001")


def test_no_current_manager_is_out_of_scope() -> None:
    doc = case_doc("B203456")
    for manager in doc["offender"]["offenderManagers"]:
        manager["active"] = False
    decision = decide_scope(_snap("B203456", doc), needs_proxy=NEEDS_PROXY, rules=ALL)
    assert (decision.in_scope, decision.reason) == (False, "no current offender manager")


@pytest.mark.parametrize(
    ("crn", "rules", "in_scope"),
    [
        ("A117839", ScopeRules(levels=frozenset({2})), True),  # M2/M2
        ("A117839", ScopeRules(levels=frozenset({1, 3})), False),
        ("A117839", ScopeRules(categories=frozenset({1, 3, 4})), False),
        ("B219904", ScopeRules(categories=frozenset({4}), levels=frozenset({2})), True),  # M4/M2
        ("C318820", ScopeRules(), True),  # X9 stays in scope to be fixed
        ("C318820", ScopeRules(include_unknown=False), False),
        ("D402935", ScopeRules(include_unknown=False), False),  # M0
        ("P527104", ScopeRules(include_unknown=False), False),  # no level at all
        ("P527104", ScopeRules(levels=frozenset({3})), True),  # unknown bypasses the level filter
        ("N493362", ScopeRules(), True),
    ],
)
def test_category_and_level_filters(crn: str, rules: ScopeRules, in_scope: bool) -> None:
    decision = decide_scope(_snap(crn), needs_proxy=NEEDS_PROXY, rules=rules)
    assert decision.in_scope is in_scope, decision.reason
    if not in_scope:
        assert decision.reason in {
            "MAPPA category or level not in scope",
            "MAPPA category or level unknown",
        }


def test_access_limitations_are_read_from_the_case() -> None:
    excluded = _snap("F600218")
    assert "N07P004" in excluded.excluded_from
    restricted = _snap("N480937")
    assert set(restricted.restricted_to) == {"N07A001", "N07P005", "N07A050"}
    assert decide_scope(excluded, needs_proxy=NEEDS_PROXY, rules=ALL).in_scope
    assert decide_scope(restricted, needs_proxy=NEEDS_PROXY, rules=ALL).in_scope


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
    decision = decide_scope(_snap("Z000001", document), needs_proxy=NEEDS_PROXY, rules=ALL)
    assert not decision.in_scope
