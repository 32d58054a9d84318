"""Source paths: the grammar, resolution over nested documents, and never raising on odd shapes."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bridge.core.mapping.paths import MISSING, Path, PathError, parse_path, text_of

DOC: dict[str, Any] = {
    "crn": "B203456",
    "offender": {
        "surname": "Docherty",
        "middleNames": ["Michael", "John"],
        "otherIds": {"pncNumber": "2003/0551872F", "count": 0, "flag": False, "note": ""},
        "additionalIdentifiers": [
            {"type": {"code": "MFCO"}, "value": "X1"},
            {"type": {"code": "VISO"}, "value": "VIS-1"},
            {"type": {"code": "VISO"}, "value": "VIS-2"},
        ],
        "contactDetails": {
            "addresses": [
                {"id": 1, "status": {"code": "P"}, "postcode": "L8 0SZ", "noFixedAbode": False},
                {"id": 2, "status": {"code": "M"}, "postcode": "NE6 1LP", "noFixedAbode": True},
                {"id": 3.5, "status": {"code": "M"}, "postcode": None},
            ]
        },
    },
}


# -- grammar ------------------------------------------------------------------------------


def test_a_dotted_path_compiles_to_one_step_per_key() -> None:
    path = parse_path("offender.otherIds.pncNumber")
    assert path.text == "offender.otherIds.pncNumber"
    assert [s.key for s in path.steps] == ["offender", "otherIds", "pncNumber"]
    assert not any(s.spread for s in path.steps)
    assert not path.is_multi


def test_spread_and_filter_steps() -> None:
    path = parse_path("offender.additionalIdentifiers[type.code=VISO].value")
    assert [s.key for s in path.steps] == ["offender", "additionalIdentifiers", "value"]
    step = path.steps[1]
    assert step.spread
    assert step.filter_path is not None
    assert step.filter_path.text == "type.code"
    assert step.filter_values == frozenset({"VISO"})
    assert path.is_multi

    spread = parse_path("offender.middleNames[]")
    assert spread.steps[1].spread
    assert spread.steps[1].filter_path is None
    assert spread.is_multi


@pytest.mark.parametrize(
    "text",
    [
        "crn",
        "_private",
        "$ref",
        "with-hyphen_and_9",
        "a[]",
        "a[].b[].c",
        "a[b=]",  # an empty filter value: matches the empty text
        "a[b.c.d=x y z]",  # spaces and dots in the value
        "a[b=1.5].c",
        "a[b=x=y]",  # everything after the first '=' is the value
        "a[b-c_9=Ω]",
    ],
)
def test_valid_paths_compile(text: str) -> None:
    assert parse_path(text).text == text


def test_the_filter_value_is_everything_after_the_first_equals_sign() -> None:
    step = parse_path("a[b=x=y]").steps[0]
    assert step.filter_values == frozenset({"x=y"})
    assert parse_path("a[b=]").steps[0].filter_values == frozenset({""})


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("offender..surname", "empty segment"),
        (".offender", "empty segment"),
        ("offender.", "empty segment"),
        ("a[", "unbalanced brackets"),
        ("a[b=x", "unbalanced brackets"),
        ("a]", "unbalanced brackets"),
        ("a[b]", "is not a key"),  # a filter needs '=VALUE'
        ("a[=x]", "is not a key"),  # and a sub-path
        ("1abc", "is not a key"),
        ("a b", "is not a key"),
        ("a[]b", "is not a key"),
        ("a[b=x]c", "is not a key"),
        ("a[b[]=x]", "is not a key"),  # no spreads inside a filter's sub-path
        ("a.b[c=x]]", "unbalanced brackets"),
        ("surnäme", "is not a key"),  # keys are ASCII
    ],
)
def test_invalid_paths_raise_path_error_naming_the_path(text: str, fragment: str) -> None:
    with pytest.raises(PathError) as caught:
        parse_path(text)
    message = str(caught.value)
    assert fragment in message
    assert text in message


def test_a_bad_sub_path_in_a_filter_is_a_path_error() -> None:
    with pytest.raises(PathError, match="empty segment"):
        parse_path("a[b..c=x]")
    with pytest.raises(PathError, match="is not a key"):
        parse_path("a[1b=x]")


@pytest.mark.parametrize("value", ["", None, 42, ["a"], {"a": 1}])
def test_a_path_must_be_non_empty_text(value: Any) -> None:
    with pytest.raises(PathError, match="non-empty text"):
        parse_path(value)


def test_path_error_is_a_value_error() -> None:
    assert issubclass(PathError, ValueError)


# -- resolution ----------------------------------------------------------------------------


def test_first_follows_nested_objects() -> None:
    assert parse_path("offender.surname").first(DOC) == "Docherty"
    assert parse_path("offender.otherIds.pncNumber").first(DOC) == "2003/0551872F"
    assert parse_path("crn").first(DOC) == "B203456"


def test_first_returns_falsy_values_but_not_null() -> None:
    assert parse_path("offender.otherIds.count").first(DOC) == 0
    assert parse_path("offender.otherIds.flag").first(DOC) is False
    assert parse_path("offender.otherIds.note").first(DOC) == ""
    assert parse_path("offender.contactDetails.addresses[id=3.5].postcode").first(DOC) is MISSING


def test_first_returns_objects_and_arrays_as_they_are() -> None:
    assert parse_path("offender.otherIds").first(DOC) is DOC["offender"]["otherIds"]
    assert parse_path("offender.middleNames").first(DOC) == ["Michael", "John"]


def test_missing_keys_give_missing() -> None:
    assert parse_path("offender.nope").first(DOC) is MISSING
    assert parse_path("nope.deeper.still").first(DOC) is MISSING
    assert list(parse_path("offender.nope").values(DOC)) == []
    assert repr(MISSING) == "MISSING"


def test_values_walks_every_array_element_in_document_order() -> None:
    assert list(parse_path("offender.middleNames[]").values(DOC)) == ["Michael", "John"]
    assert parse_path("offender.middleNames[]").first(DOC) == "Michael"
    postcodes = parse_path("offender.contactDetails.addresses[].postcode")
    assert list(postcodes.values(DOC)) == ["L8 0SZ", "NE6 1LP"]  # the null is skipped


def test_a_filter_with_a_dotted_sub_path_selects_matching_elements() -> None:
    visor = parse_path("offender.additionalIdentifiers[type.code=VISO].value")
    assert visor.first(DOC) == "VIS-1"
    assert list(visor.values(DOC)) == ["VIS-1", "VIS-2"]
    main = parse_path("offender.contactDetails.addresses[status.code=M]")
    assert [a["id"] for a in main.values(DOC)] == [2, 3.5]
    assert parse_path("offender.additionalIdentifiers[type.code=NOPE].value").first(DOC) is MISSING


def test_filters_compare_numbers_and_booleans_as_json_writes_them() -> None:
    addresses = "offender.contactDetails.addresses"
    assert parse_path(f"{addresses}[id=2].postcode").first(DOC) == "NE6 1LP"
    assert parse_path(f"{addresses}[id=3.5].id").first(DOC) == 3.5
    assert parse_path(f"{addresses}[noFixedAbode=true].id").first(DOC) == 2
    assert parse_path(f"{addresses}[noFixedAbode=false].id").first(DOC) == 1
    assert parse_path(f"{addresses}[noFixedAbode=True].id").first(DOC) is MISSING
    assert parse_path(f"{addresses}[id=02].id").first(DOC) is MISSING


def test_an_empty_filter_value_matches_empty_text_only() -> None:
    doc = {"a": [{"b": ""}, {"b": None}, {}, {"b": "x"}]}
    assert list(parse_path("a[b=]").values(doc)) == [{"b": ""}]


def test_nested_spreads_flatten_in_order() -> None:
    doc = {"a": [{"b": [1, 2]}, {"b": []}, {"b": [3]}, {"c": [4]}]}
    assert list(parse_path("a[].b[]").values(doc)) == [1, 2, 3]


@pytest.mark.parametrize(
    ("path", "context"),
    [
        ("offender.surname", None),
        ("offender.surname", "text"),
        ("offender.surname", 12),
        ("offender.surname", ["offender"]),
        ("offender.surname", {"offender": ["surname"]}),  # a list where an object is expected
        ("offender.surname", {"offender": "Docherty"}),
        ("offender.surname", {"offender": None}),
        ("a[]", {"a": {"0": "x"}}),  # an object where an array is expected
        ("a[]", {"a": "xyz"}),  # a string is not walked character by character
        ("a[].b", {"a": [None, 1, "s", [{"b": 1}]]}),  # elements of the wrong shape
        ("a[b.c=x].d", {"a": [{"b": "x", "d": 1}, {"b": ["x"], "d": 2}, {"b": None, "d": 3}]}),
        ("a[b=x]", {"a": [["b", "x"], "b=x"]}),
    ],
)
def test_wrong_shapes_yield_nothing_and_never_raise(path: str, context: Any) -> None:
    compiled = parse_path(path)
    assert compiled.first(context) is MISSING
    assert list(compiled.values(context)) == []


def test_a_filter_never_matches_a_non_scalar() -> None:
    doc = {"a": [{"b": {"c": 1}, "v": 1}, {"b": [1], "v": 2}, {"b": 1, "v": 3}]}
    assert list(parse_path("a[b=1].v").values(doc)) == [3]


# -- text_of -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("M", "M"),
        ("", ""),
        (True, "true"),
        (False, "false"),
        (0, "0"),
        (42, "42"),
        (-7, "-7"),
        (1.5, "1.5"),
        (None, None),
        ({"a": 1}, None),
        (["a"], None),
        (MISSING, None),
    ],
)
def test_text_of(value: Any, expected: str | None) -> None:
    assert text_of(value) == expected


# -- property: resolution is total ---------------------------------------------------------

_KEYS = st.sampled_from(["a", "b", "c", "id"])
_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**12), max_value=10**12),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["x", "1", "true", ""]),
    st.text(max_size=5),
)
_JSON = st.recursive(
    _SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.one_of(_KEYS, st.text(max_size=3)), children, max_size=4),
    ),
    max_leaves=25,
)
_SEGMENT = st.tuples(
    _KEYS, st.sampled_from(["", "", "[]", "[a=x]", "[b.c=1]", "[id=true]", "[a=]"])
).map("".join)
_PATHS = st.lists(_SEGMENT, min_size=1, max_size=4).map(".".join)


@settings(max_examples=150, deadline=None)
@given(path_text=_PATHS, context=_JSON)
def test_first_and_values_never_raise_and_agree(path_text: str, context: Any) -> None:
    path: Path = parse_path(path_text)
    found = list(path.values(context))
    first = path.first(context)
    assert None not in found
    if found:
        assert first is found[0]
    else:
        assert first is MISSING
    if not path.is_multi:
        assert len(found) <= 1


def test_a_filter_may_accept_alternatives() -> None:
    path = parse_path("rows[status.code=M|m].postcode")
    rows = {
        "rows": [
            {"status": {"code": "P"}, "postcode": "A"},
            {"status": {"code": "m"}, "postcode": "B"},
        ]
    }
    assert path.first(rows) == "B"
    assert list(
        path.values({"rows": [*rows["rows"], {"status": {"code": "M"}, "postcode": "C"}]})
    ) == ["B", "C"]
