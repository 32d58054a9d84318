"""The mapping engine over small specs written in the test, and routing through the real spec."""

from __future__ import annotations

from functools import cache
from typing import Any

import pytest
from lxml import etree

from bridge.config import default_mappings_dir
from bridge.core.issues import Issue
from bridge.core.mapping.engine import MappedCase, MappedSection, Mapper
from bridge.core.mapping.routing import postcode_area
from bridge.core.mapping.spec_parse import parse_spec
from bridge.core.mapping.trace import Trace
from bridge.core.snapshot import CaseSnapshot
from bridge.mapping_files import load_mapping
from tests.builders import case_doc

NS = "urn:test:visor"
CRN = "A000001"

MAPPING = """\
[mapping]
version = "visor-v9.1"
schema = "visor-record.xsd"
namespace = "urn:test:visor"
sections = SECTIONS

[routing]
main_address = "offender.contactDetails.addresses[status.code=M]"
postcode = "postcode"
no_fixed_abode = "noFixedAbode"
area = "manager.probationArea.code"
postcode_areas = "postcode-areas"
area_defaults = "area-forces"
forces = "forces"
"""

CODES = {
    "postcode-areas": '[table]\ndescription = "a"\n[codes]\nNE = "NORTHUMBRIA"\n',
    "area-forces": '[table]\ndescription = "d"\n[codes]\nN02 = "NORTHUMBRIA"\n',
    "forces": '[table]\ndescription = "f"\n[codes]\nNORTHUMBRIA = "Northumbria Police"\n',
    "genders": (
        '[table]\ndescription = "g"\ncase_insensitive = true\n[codes]\nM = "Male"\nF = "Female"\n'
    ),
    "mappa-categories": (
        '[table]\ndescription = "c"\nunknown = ["X9"]\n[codes]\nM1 = "1"\nM2 = "2"\n'
    ),
    "statuses": '[table]\ndescription = "s"\n[codes]\nM = "Main"\nP = "Previous"\n',
}


def build(
    *fields: str, name: str = "identity", element: str = "Identity", head: str = ""
) -> Mapper:
    """A mapper for one section with the given [[fields]] bodies."""
    text = f'[section]\nname = "{name}"\nelement = "{element}"\n{head}'
    for body in fields:
        text += f"\n[[fields]]\n{body.strip()}\n"
    spec, problems = parse_spec(MAPPING.replace("SECTIONS", f'["{name}"]'), {name: text}, CODES)
    assert problems == []
    assert spec is not None
    return Mapper(spec)


def map_doc(mapper: Mapper, offender: dict[str, Any] | None = None, **document: Any) -> MappedCase:
    document["offender"] = offender or {}
    return mapper.map_case(CaseSnapshot.from_document(CRN, document))


def section(
    mapper: Mapper, offender: dict[str, Any] | None = None, **document: Any
) -> MappedSection:
    (only,) = map_doc(mapper, offender, **document).sections
    return only


def shape(element: etree._Element) -> list[tuple[str, Any]]:
    """Children as (local name, text or nested shape), for whole-structure comparisons."""
    out: list[tuple[str, Any]] = []
    for child in element:
        assert etree.QName(child).namespace == NS
        name = etree.QName(child).localname
        out.append((name, shape(child) if len(child) else child.text))
    return out


# -- required, warn, required_when ----------------------------------------------------------


@pytest.mark.parametrize("surname", [None, "", "   ", "\t\n"])
def test_a_required_field_that_is_missing_is_a_blocking_missing_field(surname: Any) -> None:
    mapper = build('element = "Surname"\nsource = "offender.surname"\nrequired = true')
    offender = {} if surname is None else {"surname": surname}
    mapped = section(mapper, offender)
    assert shape(mapped.element) == []
    assert mapped.issues == (
        Issue(
            "missing-field",
            "identity/Surname",
            "Surname is missing in nDelius; add it here before approval.",
            True,
        ),
    )


def test_the_label_names_the_field_in_messages() -> None:
    mapper = build(
        'element = "DateOfBirth"\nlabel = "Date of birth"\nsource = "offender.dateOfBirth"\n'
        "required = true"
    )
    (issue,) = section(mapper).issues
    assert issue.message == "Date of birth is missing in nDelius; add it here before approval."
    assert issue.path == "identity/DateOfBirth"


def test_a_warn_field_that_is_missing_is_a_non_blocking_missing_field() -> None:
    mapper = build(
        'element = "PNC"\nlabel = "PNC number"\nsource = "offender.pnc"\nrequired = "warn"'
    )
    assert section(mapper).issues == (
        Issue(
            "missing-field",
            "identity/PNC",
            "PNC number is not recorded in nDelius; add it if one exists.",
            False,
        ),
    )


def test_an_optional_missing_field_is_no_issue() -> None:
    mapper = build('element = "CRO"\nsource = "offender.cro"')
    mapped = section(mapper, {"surname": "x"})
    assert (shape(mapped.element), mapped.issues) == ([], ())
    assert mapped.is_empty


ADDRESS = """
element = "Address"
each = "offender.addresses[]"

  [[fields.fields]]
  element = "Status"
  source = "status"

  [[fields.fields]]
  element = "Postcode"
  source = "postcode"
  transform = "postcode"
  required = "warn"
  required_when = [
    { path = "status", in = ["M"] },
    { path = "noFixedAbode", not_in = [true] },
  ]
"""


def test_required_when_applies_only_where_its_conditions_hold() -> None:
    mapper = build(ADDRESS)
    addresses = [
        {"status": "P"},  # a previous address needs no postcode
        {"status": "M"},  # a main address does
        {"status": "M", "noFixedAbode": True},  # unless it is no fixed abode
        {"status": "M", "postcode": "NF1 1NF"},  # the NFA dummy is not a postcode
        {"status": "M", "postcode": "ne14xf"},
    ]
    mapped = section(mapper, {"addresses": addresses})
    assert shape(mapped.element) == [
        ("Address", [("Status", "P")]),
        ("Address", [("Status", "M")]),
        ("Address", [("Status", "M")]),
        ("Address", [("Status", "M")]),
        ("Address", [("Status", "M"), ("Postcode", "NE1 4XF")]),
    ]
    assert [(i.code, i.path, i.blocking) for i in mapped.issues] == [
        ("missing-field", "identity/Address[2]/Postcode", False),
        ("missing-field", "identity/Address[4]/Postcode", False),
    ]


# -- default, value, sources ---------------------------------------------------------------

NFA = 'element = "NoFixedAbode"\nsource = "offender.nfa"\ntransform = "boolean"\ndefault = "false"'


@pytest.mark.parametrize(
    ("offender", "expected"),
    [({}, "false"), ({"nfa": None}, "false"), ({"nfa": "  "}, "false"), ({"nfa": "Y"}, "true")],
)
def test_default_is_used_only_when_the_source_has_nothing(
    offender: dict[str, Any], expected: str
) -> None:
    mapped = section(build(NFA + "\nrequired = true"), offender)
    assert shape(mapped.element) == [("NoFixedAbode", expected)]
    assert mapped.issues == ()


def test_a_default_goes_through_the_transform() -> None:
    mapper = build(
        'element = "Area"\nsource = "offender.area"\ntransform = "postcode"\ndefault = "ne14xf"'
    )
    assert shape(section(mapper).element) == [("Area", "NE1 4XF")]


def test_a_constant_value_is_always_written() -> None:
    mapper = build(
        'element = "Source"\nvalue = "nDelius"',
        'element = "Flag"\nvalue = "yes"\ntransform = "boolean"',
    )
    for offender in ({}, {"surname": "x"}):
        assert shape(section(mapper, offender).element) == [("Source", "nDelius"), ("Flag", "true")]


NAME = (
    'element = "Name"\nsources = ["offender.firstName", "offender.middleNames[]", '
    '"offender.surname"]\nseparator = " / "\nrequired = true'
)


@pytest.mark.parametrize(
    ("offender", "expected"),
    [
        ({"firstName": "Lee", "middleNames": ["Mo", "Jo"], "surname": "Doe"}, "Lee / Mo / Doe"),
        ({"firstName": "Lee", "surname": "Doe"}, "Lee / Doe"),  # a missing part is skipped
        ({"firstName": "  ", "surname": " Doe "}, "Doe"),  # a blank part too; parts are trimmed
        ({"firstName": 7, "surname": True}, "7 / true"),  # numbers and booleans as text
        ({"firstName": {"a": 1}, "surname": "Doe"}, "Doe"),  # an object is no part
    ],
)
def test_sources_are_joined_with_the_separator(offender: dict[str, Any], expected: str) -> None:
    mapped = section(build(NAME), offender)
    assert shape(mapped.element) == [("Name", expected)]
    assert mapped.issues == ()


def test_sources_with_nothing_at_all_are_missing() -> None:
    mapped = section(build(NAME), {"firstName": "", "middleNames": []})
    assert shape(mapped.element) == []
    assert [(i.code, i.path, i.blocking) for i in mapped.issues] == [
        ("missing-field", "identity/Name", True)
    ]


def test_the_default_separator_is_a_space_and_transforms_apply_to_the_joined_text() -> None:
    mapper = build(
        'element = "Name"\nsources = ["offender.firstName", "offender.surname"]\ntransform = "upper"'
    )
    assert shape(section(mapper, {"firstName": "lee", "surname": "doe"}).element) == [
        ("Name", "LEE DOE")
    ]


# -- repeat, max_length ----------------------------------------------------------------------

MIDDLE = 'element = "MiddleName"\nsource = "offender.middleNames[]"\ntransform = "name"\nrepeat = 3'


def test_repeat_keeps_the_first_values_with_a_non_blocking_too_many() -> None:
    names = ["Ann", "", "Bo", "  ", "Cy", "Di", "Ed"]  # blanks are not values
    mapped = section(build(MIDDLE), {"middleNames": names})
    assert shape(mapped.element) == [
        ("MiddleName", "Ann"),
        ("MiddleName", "Bo"),
        ("MiddleName", "Cy"),
    ]
    assert mapped.issues == (
        Issue(
            "too-many",
            "identity/MiddleName",
            "Only the first 3 values of MiddleName are kept; ViSOR holds no more.",
            False,
        ),
    )


def test_repeat_with_no_more_than_allowed_is_no_issue() -> None:
    mapped = section(build(MIDDLE), {"middleNames": ["Ann", "Bo", "Cy"]})
    assert len(mapped.element) == 3
    assert mapped.issues == ()


def test_repeated_values_are_checked_one_by_one() -> None:
    mapper = build(MIDDLE + "\nmax_length = 3")
    mapped = section(mapper, {"middleNames": ["Ann", "Bobby", {"x": 1}]})
    assert shape(mapped.element) == [("MiddleName", "Ann")]
    assert [(i.code, i.path, i.blocking) for i in mapped.issues] == [
        ("too-long", "identity/MiddleName[2]", True),
        ("wrong-type", "identity/MiddleName[3]", False),
    ]


def test_max_length_too_long_is_blocking_and_the_value_is_left_out() -> None:
    mapper = build(
        'element = "Surname"\nsource = "offender.surname"\ntransform = "name"\nmax_length = 7'
    )
    assert shape(section(mapper, {"surname": "Ann   Lee"}).element) == [("Surname", "Ann Lee")]
    mapped = section(mapper, {"surname": "Annabel Lee"})
    assert shape(mapped.element) == []
    assert mapped.issues == (
        Issue(
            "too-long",
            "identity/Surname",
            "Surname is longer than ViSOR allows (7 characters); shorten it.",
            True,
        ),
    )


# -- wrong types, XML characters ---------------------------------------------------------------


@pytest.mark.parametrize("value", [{"text": "Doe"}, ["Doe"], []])
@pytest.mark.parametrize(
    ("required", "blocking"), [("true", True), ('"warn"', False), ("false", False)]
)
def test_an_object_or_array_where_text_is_expected_is_wrong_type(
    value: Any, required: str, blocking: bool
) -> None:
    mapper = build(f'element = "Surname"\nsource = "offender.surname"\nrequired = {required}')
    mapped = section(mapper, {"surname": value})
    assert shape(mapped.element) == []
    assert mapped.issues == (
        Issue(
            "wrong-type",
            "identity/Surname",
            "Surname in nDelius is not a single value; check nDelius and enter it by hand.",
            blocking,
        ),
    )


def test_a_group_whose_source_is_not_an_object_is_wrong_type() -> None:
    mapper = build(
        'element = "Officer"\nsource = "offender.officer"\nrequired = true\n'
        '  [[fields.fields]]\n  element = "Code"\n  source = "code"\n'
    )
    mapped = section(mapper, {"officer": "N07P004"})
    assert shape(mapped.element) == []
    assert [(i.code, i.path, i.blocking) for i in mapped.issues] == [
        ("wrong-type", "identity/Officer", True)
    ]


def test_characters_xml_cannot_hold_are_removed_with_a_count_never_the_value() -> None:
    mapper = build('element = "Surname"\nsource = "offender.surname"\nrequired = true')
    mapped = section(mapper, {"surname": "Smi\x00th\x07\ufffe"})
    assert shape(mapped.element) == [("Surname", "Smith")]
    assert mapped.issues == (
        Issue(
            "xml-char-removed",
            "identity/Surname",
            "3 character(s) XML cannot hold were removed from Surname; check it.",
            False,
        ),
    )
    assert "Smi" not in mapped.issues[0].message


def test_a_value_of_only_control_characters_counts_as_missing() -> None:
    mapper = build('element = "Surname"\nsource = "offender.surname"\nrequired = true')
    mapped = section(mapper, {"surname": "\x00\x01 \x02"})
    assert shape(mapped.element) == []
    assert [(i.code, i.path, i.blocking) for i in mapped.issues] == [
        ("xml-char-removed", "identity/Surname", False),
        ("missing-field", "identity/Surname", True),
    ]


def test_markup_in_a_value_stays_text() -> None:
    mapper = build('element = "Notes"\nsource = "offender.notes"')
    mapped = section(mapper, {"notes": "<b>&amp;</b>"})
    assert shape(mapped.element) == [("Notes", "<b>&amp;</b>")]
    assert b"&lt;b&gt;&amp;amp;&lt;/b&gt;" in etree.tostring(mapped.element)


# -- transforms inside the engine --------------------------------------------------------------


def test_lookups_unknown_codes_and_declared_unknowns() -> None:
    mapper = build(
        'element = "Gender"\nsource = "offender.gender"\ntransform = "lookup"\ntable = "genders"',
        'element = "Category"\nlabel = "MAPPA category"\nsource = "offender.category"\n'
        'transform = "lookup"\ntable = "mappa-categories"',
    )
    ok = section(mapper, {"gender": "f", "category": "M2"})
    assert shape(ok.element) == [("Gender", "Female"), ("Category", "2")]
    assert ok.issues == ()
    bad = section(mapper, {"gender": "Q", "category": "X9"})
    assert shape(bad.element) == []
    assert bad.issues == (
        Issue(
            "unknown-code",
            "identity/Gender",
            "Gender has a code that is not in the genders code table; choose the right value.",
            True,
        ),
        Issue(
            "unknown-code",
            "identity/Category",
            "MAPPA category is recorded as unknown in nDelius; ask the offender manager and set it.",
            True,
        ),
    )


def test_invalid_formats_and_dates_are_blocking_with_the_format_in_the_message() -> None:
    mapper = build(
        'element = "NOMS"\nsource = "offender.noms"\ntransform = "noms"',
        'element = "Born"\nsource = "offender.born"\ntransform = "date"',
    )
    mapped = section(mapper, {"noms": "A12BC", "born": "2023-02-30"})
    assert mapped.issues == (
        Issue(
            "invalid-format",
            "identity/NOMS",
            "NOMS is not in the format ViSOR needs (A1234BC); correct it.",
            True,
        ),
        Issue("invalid-date", "identity/Born", "Born is not a real date; correct it.", True),
    )


def test_a_dummy_postcode_is_not_written_and_counts_as_missing() -> None:
    mapper = build(
        'element = "Postcode"\nsource = "offender.postcode"\ntransform = "postcode"\nrequired = "warn"'
    )
    mapped = section(mapper, {"postcode": "NF1 1NF"})
    assert shape(mapped.element) == []
    assert [(i.code, i.blocking) for i in mapped.issues] == [("missing-field", False)]


# -- groups --------------------------------------------------------------------------------

OFFICER = """
element = "Officer"
source = "offender.officer"
required = "warn"

  [[fields.fields]]
  element = "Code"
  source = "code"

  [[fields.fields]]
  element = "Name"
  source = "name"
"""


def test_a_group_holds_its_children_in_spec_order() -> None:
    mapped = section(build(OFFICER), {"officer": {"name": "Ann", "code": "N07P004"}})
    assert shape(mapped.element) == [("Officer", [("Code", "N07P004"), ("Name", "Ann")])]


def test_an_empty_group_is_omitted() -> None:
    mapped = section(build(OFFICER), {"officer": {"other": 1}})
    assert (shape(mapped.element), mapped.issues) == ([], ())
    wrapper = build(
        'element = "Wrapper"\n  [[fields.fields]]\n  element = "A"\n  source = "offender.a"\n'
    )
    assert shape(section(wrapper).element) == []
    assert shape(section(wrapper, {"a": "x"}).element) == [("Wrapper", [("A", "x")])]


def test_a_missing_group_source_follows_required() -> None:
    mapped = section(build(OFFICER))
    assert [(i.code, i.path, i.blocking) for i in mapped.issues] == [
        ("missing-field", "identity/Officer", False)
    ]


def test_a_required_repeated_group_with_no_items_is_missing() -> None:
    mapper = build(
        ADDRESS.replace(
            'each = "offender.addresses[]"', 'each = "offender.addresses[]"\nrequired = true'
        )
    )
    for addresses in ([], [None, "x"], None):  # nothing that is an object
        mapped = section(mapper, {"addresses": addresses})
        assert shape(mapped.element) == []
        assert [(i.code, i.path, i.blocking) for i in mapped.issues] == [
            ("missing-field", "identity/Address", True)
        ]


# -- each: where, sort, limit ------------------------------------------------------------------


def _things(where: str = "", sort: str = "", limit: str = "") -> Mapper:
    return build(
        f"""
element = "Thing"
each = "offender.things[]"
{where}
{sort}
{limit}

  [[fields.fields]]
  element = "Id"
  source = "id"
"""
    )


def _ids(mapper: Mapper, things: list[Any]) -> list[str]:
    return [child[0].text for child in section(mapper, {"things": things}).element]


def test_where_with_any_in_table_not_in_and_present() -> None:
    mapper = _things(
        where="""where = [
  { any = [{ path = "visor", in = [true] }, { path = "exported", in = [true, "Y"] }] },
  { path = "deleted", not_in = [true] },
  { path = "type.code", in_table = "statuses" },
  { path = "note", present = true },
]"""
    )
    things = [
        {"id": "1", "visor": True, "type": {"code": "M"}, "note": "n"},
        {"id": "2", "exported": "Y", "type": {"code": "P"}, "note": "n"},
        {"id": "3", "type": {"code": "M"}, "note": "n"},  # neither flag
        {"id": "4", "visor": True, "deleted": True, "type": {"code": "M"}, "note": "n"},
        {"id": "5", "visor": True, "deleted": False, "type": {"code": "Q"}, "note": "n"},
        {"id": "6", "visor": True, "type": {"code": "M"}},  # no note
        {"id": "7", "visor": "true", "type": {"code": "M"}, "note": "n"},  # "true" is true's text
        {"id": "8", "visor": True, "type": {"code": "m"}, "note": "n"},  # case-sensitive table
        {"id": "9", "exported": True, "deleted": None, "type": {"code": "P"}, "note": 0},
        "not an object",
    ]
    assert _ids(mapper, things) == ["1", "2", "7", "9"]


def test_present_false_selects_items_without_the_value() -> None:
    mapper = _things(where='where = [{ path = "to", present = false }]')
    assert _ids(
        mapper, [{"id": "1", "to": "2020-01-01"}, {"id": "2"}, {"id": "3", "to": None}]
    ) == ["2", "3"]


THINGS = [
    {"id": "a", "status": "P", "from": "2020-01-01"},
    {"id": "b", "status": "M", "from": "2019-01-01"},
    {"id": "c", "status": "M", "from": "2021-06-01"},
    {"id": "d", "from": "2022-01-01"},
    {"id": "e", "status": "O"},
    {"id": "f", "status": "O", "from": "2018-01-01"},
    {"id": "g", "status": "X", "from": "2023-01-01"},
]


def test_sort_by_an_order_list_then_descending_with_absent_values_last() -> None:
    mapper = _things(
        sort='sort = [{ by = "status", order = ["M", "O", "P"] }, { by = "from", descending = true }]'
    )
    # M, O, P in that order, then values not in the list, then no status at all;
    # within a status the newest first, and no date after every date.
    assert _ids(mapper, THINGS) == ["c", "b", "f", "e", "a", "g", "d"]


def test_sort_ascending_and_descending_put_absent_values_last() -> None:
    ascending = _things(sort='sort = [{ by = "from" }]')
    assert _ids(ascending, THINGS) == ["f", "b", "a", "c", "d", "g", "e"]
    descending = _things(sort='sort = [{ by = "from", descending = true }]')
    assert _ids(descending, THINGS) == ["g", "d", "c", "a", "b", "f", "e"]


def test_sort_is_stable_and_limit_keeps_the_first_items() -> None:
    unsorted_limited = _things(limit="limit = 2")
    assert _ids(unsorted_limited, THINGS) == ["a", "b"]
    by_status = _things(sort='sort = [{ by = "status" }]', limit="limit = 4")
    assert _ids(by_status, THINGS) == ["b", "c", "e", "f"]  # document order within a status


def test_repeated_group_paths_are_numbered() -> None:
    mapper = build(
        'element = "Thing"\neach = "offender.things[]"\n'
        '  [[fields.fields]]\n  element = "Id"\n  source = "id"\n  required = true\n'
    )
    mapped = section(mapper, {"things": [{"id": "1"}, {}, {"id": "3"}]})
    # the empty item keeps its place, so Thing[2] in the issue is the second element
    assert shape(mapped.element) == [
        ("Thing", [("Id", "1")]),
        ("Thing", None),
        ("Thing", [("Id", "3")]),
    ]
    assert [(i.code, i.path) for i in mapped.issues] == [("missing-field", "identity/Thing[2]/Id")]


# -- section-level each + key ------------------------------------------------------------------

ACTIVITY_HEAD = """\
each = "contacts[]"
key = "id"
where = [{ path = "visorContact", in = [true] }, { path = "softDeleted", not_in = [true] }]
sort = [{ by = "contactDate" }]
attributes = { kind = "contact", source = "nDelius" }
"""


def _activity() -> Mapper:
    return build(
        'element = "ContactId"\nsource = "id"',
        'element = "Date"\nsource = "contactDate"\ntransform = "date"\nrequired = true',
        name="activity",
        element="Activity",
        head=ACTIVITY_HEAD,
    )


def test_section_level_each_makes_one_section_per_item_keyed_by_the_item() -> None:
    contacts = [
        {"id": 30, "contactDate": "2024-03-01T10:00:00+00:00", "visorContact": True},
        {"id": 10, "contactDate": "2024-01-01", "visorContact": True},
        {"id": 20, "contactDate": "2024-02-01", "visorContact": False},
        {"id": 25, "contactDate": "2024-02-15", "visorContact": True, "softDeleted": True},
        {"id": "C-40", "visorContact": True},
    ]
    mapped = map_doc(_activity(), contacts=contacts)
    assert [(s.name, s.key) for s in mapped.sections] == [
        ("activity", "10"),
        ("activity", "30"),
        ("activity", "C-40"),
    ]
    first, second, third = mapped.sections
    assert shape(first.element) == [("ContactId", "10"), ("Date", "2024-01-01")]
    assert shape(second.element) == [("ContactId", "30"), ("Date", "2024-03-01")]
    assert (first.issues, second.issues) == ((), ())
    assert third.issues == (
        Issue(
            "missing-field",
            "activity/Date",
            "Date is missing in nDelius; add it here before approval.",
            True,
        ),
    )


def test_a_case_with_no_matching_items_has_no_per_item_sections() -> None:
    assert map_doc(_activity(), contacts=[{"id": 1, "visorContact": False}]).sections == ()
    assert map_doc(_activity()).sections == ()


def test_attributes_are_set_on_the_section_element() -> None:
    (mapped,) = map_doc(_activity(), contacts=[{"id": 1, "visorContact": True}]).sections
    assert mapped.element.tag == f"{{{NS}}}Activity"
    assert dict(mapped.element.attrib) == {"kind": "contact", "source": "nDelius"}
    assert mapped.element.nsmap == {None: NS}


def test_a_plain_section_has_an_empty_key() -> None:
    mapped = section(build('element = "Surname"\nsource = "offender.surname"'), {"surname": "Doe"})
    assert (mapped.name, mapped.key) == ("identity", "")
    assert mapped.element.tag == f"{{{NS}}}Identity"
    assert not mapped.is_empty


# -- trace ---------------------------------------------------------------------------------


def test_trace_records_fields_that_found_a_value_and_every_code_looked_up() -> None:
    mapper = build(
        'element = "Surname"\nsource = "offender.surname"',
        'element = "Forename"\nsource = "offender.firstName"',
        'element = "Gender"\nsource = "offender.gender"\ntransform = "lookup"\ntable = "genders"',
        'element = "Category"\nsource = "offender.categories[]"\ntransform = "lookup"\n'
        'table = "mappa-categories"\nrepeat = 5',
        'element = "Name"\nsources = ["offender.firstName", "offender.nickname"]',
    )
    surname, forename, gender, category, name = mapper.spec.sections[0].fields
    trace = Trace()
    offender = {"surname": "Doe", "gender": "m", "categories": ["M1", "X9", "Z1"]}
    mapper.map_case(CaseSnapshot.from_document(CRN, {"offender": offender}), trace=trace)
    assert trace.hits == {surname.where, gender.where, category.where}
    assert forename.where not in trace.hits
    assert name.where not in trace.hits
    assert trace.codes == {
        ("genders", "m", True),
        ("mappa-categories", "M1", True),
        ("mappa-categories", "X9", True),  # a declared unknown is covered
        ("mappa-categories", "Z1", False),
    }


def test_trace_records_repeated_groups_and_routing_codes() -> None:
    mapper = build(ADDRESS)
    trace = Trace()
    document = {
        "offender": {
            "addresses": [{"status": "M", "postcode": "NE1 4XF"}],
            "contactDetails": {"addresses": [{"status": {"code": "M"}, "postcode": "ZZ1 1ZZ"}]},
            "offenderManagers": [{"active": True, "probationArea": {"code": "N02"}}],
        }
    }
    mapped = mapper.map_case(CaseSnapshot.from_document(CRN, document), trace=trace)
    (address,) = mapper.spec.sections[0].fields
    assert address.where in trace.hits
    assert {c.where for c in address.children} <= trace.hits
    assert trace.codes == {("postcode-areas", "ZZ", False), ("area-forces", "N02", True)}
    assert mapped.owning_force == "NORTHUMBRIA"


def test_mapping_without_a_trace_changes_nothing() -> None:
    mapper = build('element = "Surname"\nsource = "offender.surname"')
    with_trace = mapper.map_case(
        CaseSnapshot.from_document(CRN, {"offender": {"surname": "Doe"}}), trace=Trace()
    )
    without = mapper.map_case(CaseSnapshot.from_document(CRN, {"offender": {"surname": "Doe"}}))
    assert etree.tostring(with_trace.sections[0].element) == etree.tostring(
        without.sections[0].element
    )


# -- routing through the real spec -------------------------------------------------------------


@cache
def _real_mapper() -> Mapper:
    return load_mapping(default_mappings_dir()).mapper


def _route(document: dict[str, Any]) -> tuple[str | None, tuple[Issue, ...]]:
    mapped = _real_mapper().map_case(CaseSnapshot.from_document("B203456", document))
    return mapped.owning_force, mapped.routing_issues


def _b203456(area: str | None = None) -> dict[str, Any]:
    """B203456: main address NE6 1LP, previous address L8 0SZ, managed in N02 (NORTHUMBRIA)."""
    doc = case_doc("B203456")
    if area is not None:
        (manager,) = doc["offender"]["offenderManagers"]
        manager["probationArea"]["code"] = area
    return doc


def _main(doc: dict[str, Any]) -> dict[str, Any]:
    addresses = doc["offender"]["contactDetails"]["addresses"]
    mains: list[dict[str, Any]] = [a for a in addresses if a["status"]["code"] == "M"]
    assert len(mains) == 1
    return mains[0]


def test_a_main_address_in_ne_is_owned_by_northumbria() -> None:
    assert _route(_b203456(area="N07")) == ("NORTHUMBRIA", ())


def test_no_fixed_abode_uses_the_managing_areas_default_with_a_non_blocking_issue() -> None:
    doc = _b203456(area="N07")  # London: METROPOLITAN, so the fallback is visible
    _main(doc)["noFixedAbode"] = True
    assert _route(doc) == (
        "METROPOLITAN",
        (
            Issue(
                "routing-default",
                "envelope/OwningForce",
                "The person has no fixed abode; the owning force is the managing area's "
                "default. Check it.",
                False,
            ),
        ),
    )


@pytest.mark.parametrize(
    ("postcode", "why"),
    [
        ("NF1 1NF", "The main address has no usable postcode"),
        (None, "The main address has no usable postcode"),
        ("not a postcode", "The main address has no usable postcode"),
        ("BF1 2AT", "The main address's postcode area is not in the routing table"),  # BFPO
    ],
)
def test_an_unusable_postcode_uses_the_managing_areas_default(
    postcode: str | None, why: str
) -> None:
    doc = _b203456(area="N07")
    _main(doc)["postcode"] = postcode
    force, issues = _route(doc)
    assert force == "METROPOLITAN"
    assert [(i.code, i.path, i.blocking) for i in issues] == [
        ("routing-default", "envelope/OwningForce", False)
    ]
    assert issues[0].message.startswith(why + "; ")


def test_no_main_address_and_an_area_without_a_default_is_blocking_routing_unknown() -> None:
    doc = _b203456(area="N41")  # National Responsibility Division: no default force
    doc["offender"]["contactDetails"]["addresses"].remove(_main(doc))
    assert _route(doc) == (
        None,
        (
            Issue(
                "routing-unknown",
                "envelope/OwningForce",
                "The main address has no usable postcode, and the managing area has no default "
                "force; set the owning force.",
                True,
            ),
        ),
    )


def test_no_address_and_no_manager_is_blocking_routing_unknown() -> None:
    force, issues = _route({"offender": {"surname": "Doe"}})
    assert force is None
    assert [(i.code, i.blocking) for i in issues] == [("routing-unknown", True)]


def test_a_main_address_with_status_m_in_lower_case_is_routed_by_its_postcode() -> None:
    """codes/address-status.toml: "the search index writes 'm' for main" — still the main address."""
    doc = _b203456(area="N07")
    _main(doc)["status"]["code"] = "m"
    assert _route(doc) == ("NORTHUMBRIA", ())


@pytest.mark.parametrize(
    ("postcode", "area"),
    [
        ("NE1 4XF", "NE"),
        ("ne14xf", "NE"),
        ("  ne1   4xf ", "NE"),
        ("B10 0RX", "B"),
        ("EC1A 1BB", "EC"),
        ("W1A 0AX", "W"),
        ("N\x001 4XF", "N"),  # characters XML cannot hold are ignored
        ("NF1 1NF", None),  # the no-fixed-abode dummy
        ("nf11nf", None),
        ("NFA", None),
        ("", None),
        ("123 ABC", None),
        ("ABC1 2DE", None),  # three letters is not an area
        ("NE\u0661 4XF", None),  # Arabic-Indic digit: not 0-9
    ],
)
def test_postcode_area(postcode: str, area: str | None) -> None:
    assert postcode_area(postcode) == area
