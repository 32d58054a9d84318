"""Limited access fails closed (ARCHITECTURE §4, issue 18): lists always apply, codes are
normalised, object items are read, the offender's flags are read, and anything the bridge
cannot apply hides the case from everyone."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bridge.core.attention import AttentionReason, case_reason
from bridge.core.lifecycle import case_allows, lists_allow
from bridge.core.scope import HIDDEN, AccessLists, access_of, read_access
from bridge.core.snapshot import CaseSnapshot
from tests.builders import case_doc

PROXY = "N07P004"


def _allows(lists: AccessLists, code: str = PROXY) -> bool:
    return case_allows(code, None, lists.excluded_from, lists.restricted_to)


@pytest.mark.parametrize(
    ("offender", "access", "allowed"),
    [
        ({}, None, True),
        ({}, {"excludedFrom": [], "restrictedTo": []}, True),
        # finding: a lower-case or padded code in excludedFrom no longer matched
        ({}, {"excludedFrom": [" n07p004 "]}, False),
        # finding: object items were dropped, so the list ended up empty and let everyone in
        ({}, {"restrictedTo": [{"code": "N07P005"}]}, False),
        ({}, {"restrictedTo": [{"code": "n07p004"}]}, True),
        ({}, {"excludedFrom": [{"staffCode": "N07P004"}]}, False),
        ({}, {"excludedFrom": [{"staff": {"code": "N07P004"}}]}, False),
        # a list always applies, whatever the flags say
        ({"currentExclusion": False}, {"excludedFrom": ["N07P004"]}, False),
        ({"currentRestriction": False}, {"restrictedTo": ["N07P005"]}, False),
        # finding: currentExclusion / currentRestriction were never read
        ({"currentExclusion": True}, {"excludedFrom": []}, False),
        ({"currentRestriction": True}, None, False),
        ({"currentRestriction": "Y"}, {}, False),
        ({"currentExclusion": True}, {"excludedFrom": ["N07A001"]}, True),
        # unparseable lists hide the case
        ({}, {"restrictedTo": [{"email": "someone@example"}]}, False),
        ({}, {"excludedFrom": "N07A001"}, False),
        ({}, {"excludedFrom": [17]}, False),
        ({}, {"restrictedTo": ["N07P004", None]}, False),
        ({}, ["N07A001"], False),
    ],
)
def test_access_lists_fail_closed(offender: dict[str, Any], access: Any, allowed: bool) -> None:
    assert _allows(read_access(offender, access)) is allowed


def test_an_unclear_case_is_restricted_to_nobody_and_named_so() -> None:
    lists = read_access({"currentExclusion": True}, {"excludedFrom": []})
    assert lists.unclear
    assert lists.restricted_to == (HIDDEN,)
    for code in ("N07P004", "N07A001", "ADM0001", "*", " * "):
        assert not lists_allow(code, lists.excluded_from, lists.restricted_to)


def test_the_snapshot_keeps_a_body_that_is_not_an_object() -> None:
    doc = case_doc("B203456")
    doc["accessLimitations"] = "no access for you"
    assert access_of(CaseSnapshot.from_document("B203456", doc)).unclear
    doc["accessLimitations"] = None
    assert not access_of(CaseSnapshot.from_document("B203456", doc)).unclear


def test_an_unclear_case_goes_on_the_attention_list() -> None:
    from bridge.config import default_mappings_dir
    from bridge.mapping_files import load_mapping
    from bridge.services.sync.prepare import prepare_case

    doc = case_doc("B203456")
    doc["offender"]["currentRestriction"] = True
    bundle = load_mapping(default_mappings_dir())
    prepared = prepare_case(
        CaseSnapshot.from_document("B203456", doc), needs_proxy={"N02A003"}, bundle=bundle
    )
    assert prepared.restricted_to == (HIDDEN,)
    assert case_reason(prepared) is AttentionReason.ACCESS_UNCLEAR


_ITEM = st.one_of(
    st.text(max_size=8),
    st.integers(),
    st.none(),
    st.dictionaries(st.sampled_from(["code", "staffCode", "email", "staff"]), st.text(max_size=8)),
)


@settings(max_examples=100, deadline=None)
@given(
    excluded=st.one_of(st.none(), st.text(max_size=4), st.lists(_ITEM, max_size=4)),
    restricted=st.one_of(st.none(), st.text(max_size=4), st.lists(_ITEM, max_size=4)),
    flags=st.fixed_dictionaries(
        {}, optional={"currentExclusion": st.booleans(), "currentRestriction": st.booleans()}
    ),
)
def test_nobody_sees_a_case_whose_lists_name_them_or_cannot_be_read(
    excluded: Any, restricted: Any, flags: dict[str, bool]
) -> None:
    """Whatever arrives: a code named in excludedFrom (any case, any padding) never sees the
    case, and someone a restriction list does not name never sees it."""
    lists = read_access(flags, {"excludedFrom": excluded, "restrictedTo": restricted})
    for item in excluded if isinstance(excluded, list) else []:
        if isinstance(item, str) and item.strip():
            assert not _allows(lists, item.strip().lower())
    if lists.unclear:
        assert not _allows(lists, PROXY)
    if isinstance(restricted, list) and restricted and not lists.unclear:
        assert _allows(lists, "ZZZ999") is False
