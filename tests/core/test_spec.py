"""The mapping spec: small specs as TOML text, every mistake named by file and key, all at once."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from bridge.config import default_mappings_dir
from bridge.core.mapping.codes import parse_code_table
from bridge.core.mapping.spec import SECTION_NAMES, Clause, MappingSpec, SortKey
from bridge.core.mapping.spec_parse import parse_spec
from bridge.errors import MappingSpecError
from bridge.mapping_files import load_mapping

MAPPING = """\
# A small mapping for tests.
[mapping]
version = "visor-v9.1"
schema = "visor-record.xsd"
namespace = "urn:test:visor"
sections = ["identity", "addresses"]

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
    "genders": """\
[table]
description = "gender"
case_insensitive = true

[codes]
M = "Male"
F = "Female"
""",
    "address-status": """\
[table]
description = "address status"

[codes]
M = "Main"
P = "Previous"
""",
    "postcode-areas": """\
[table]
description = "postcode area -> force"

[codes]
NE = "NORTHUMBRIA"
L = "MERSEYSIDE"
""",
    "area-forces": """\
[table]
description = "probation area -> default force"

[codes]
N02 = "NORTHUMBRIA"
""",
    "forces": """\
[table]
description = "forces"

[codes]
NORTHUMBRIA = "Northumbria Police"
MERSEYSIDE = "Merseyside Police"
""",
}

IDENTITY = """\
# Who the person is.
[section]
name = "identity"
element = "Identity"

[[fields]]
element = "Surname"
source = "offender.surname"
transform = "name"
required = true
max_length = 35

[[fields]]
# the gender, from a code table
label = "Gender"
element = "Gender"
source = "offender.gender"
transform = "lookup"
table = "genders"
required = "warn"
"""

ADDRESSES = """\
[section]
name = "addresses"
element = "Addresses"

[[fields]]
element = "Address"
each = "offender.contactDetails.addresses[]"
where = [
  { any = [{ path = "status.code", in = ["M"] }, { path = "main", in = [true, 1] }] },
  { path = "softDeleted", not_in = [true] },
  { path = "status.code", in_table = "address-status" },
  { path = "postcode", present = true },
]
sort = [{ by = "status.code", order = ["M", "P"] }, { by = "from", descending = true }]
limit = 3

  [[fields.fields]]
  element = "Status"
  source = "status.code"
  transform = "lookup"
  table = "address-status"
  required = true

  [[fields.fields]]
  element = "Postcode"
  source = "postcode"
  transform = "postcode"
  required = "warn"
  required_when = [{ path = "status.code", in = ["M"] }]
"""


def parse(
    mapping: str = MAPPING,
    sections: dict[str, str] | None = None,
    codes: dict[str, str] | None = None,
) -> tuple[MappingSpec | None, list[str]]:
    return parse_spec(
        mapping,
        {"identity": IDENTITY, "addresses": ADDRESSES} if sections is None else sections,
        CODES if codes is None else codes,
    )


def problems_of(
    mapping: str = MAPPING,
    sections: dict[str, str] | None = None,
    codes: dict[str, str] | None = None,
) -> list[str]:
    spec, problems = parse(mapping, sections, codes)
    assert spec is None, "a spec with problems must not be returned"
    assert problems, "expected at least one problem"
    return problems


def identity(*fields: str, head: str = "") -> str:
    """A section file for `identity` with the given [[fields]] bodies."""
    text = f'[section]\nname = "identity"\nelement = "Identity"\n{head}'
    for body in fields:
        text += f"\n[[fields]]\n{body.strip()}\n"
    return text


def line_of(text: str, needle: str, occurrence: int = 1) -> int:
    """The 1-based number of the `occurrence`-th line that contains `needle`."""
    hits = [n for n, line in enumerate(text.splitlines(), start=1) if needle in line]
    return hits[occurrence - 1]


SURNAME = 'element = "Surname"\nsource = "offender.surname"\n'


# -- a valid spec ----------------------------------------------------------------------------


def test_a_valid_spec_parses_into_a_frozen_spec() -> None:
    spec, problems = parse()
    assert problems == []
    assert spec is not None
    assert (spec.version, spec.schema, spec.namespace) == (
        "visor-v9.1",
        "visor-record.xsd",
        "urn:test:visor",
    )
    assert [s.name for s in spec.sections] == ["identity", "addresses"]
    assert sorted(spec.tables) == sorted(CODES)
    assert spec.tables["genders"].case_insensitive

    identity_section = spec.sections[0]
    assert identity_section.element == "Identity"
    assert identity_section.where == "sections/identity.toml"
    surname, gender = identity_section.fields
    assert surname.element == "Surname"
    assert surname.source is not None
    assert surname.source.text == "offender.surname"
    assert (surname.transform, surname.required, surname.max_length) == ("name", "block", 35)
    assert surname.where == "sections/identity.toml fields[1] (Surname, line 7)"
    assert (gender.table, gender.required, gender.label) == ("genders", "warn", "Gender")
    assert gender.where == "sections/identity.toml fields[2] (Gender, line 16)"

    (address,) = spec.sections[1].fields
    assert address.is_group
    assert address.each is not None
    assert address.each.text == "offender.contactDetails.addresses[]"
    assert address.limit == 3
    assert [c.label for c in address.children] == ["Address/Status", "Address/Postcode"]
    assert address.sort[0].order == ("M", "P")
    assert address.sort[1] == SortKey(address.sort[1].path, (), True)
    any_clause, not_in, in_table, present = address.where_
    assert [c.values for c in any_clause.any_of] == [frozenset({"M"}), frozenset({"true", "1"})]
    assert (not_in.values, not_in.negate) == (frozenset({"true"}), True)
    assert in_table.table == "address-status"
    assert present.present is True
    postcode = address.children[1]
    assert postcode.required_when == (
        Clause(path=postcode.required_when[0].path, values=frozenset({"M"})),
    )

    routing = spec.routing
    assert routing.main_address.text == "offender.contactDetails.addresses[status.code=M]"
    assert (routing.postcode_areas, routing.area_defaults, routing.forces) == (
        "postcode-areas",
        "area-forces",
        "forces",
    )


def test_the_packaged_mapping_parses_with_every_section_in_record_order() -> None:
    bundle = load_mapping(default_mappings_dir())
    assert tuple(s.name for s in bundle.spec.sections) == SECTION_NAMES
    assert bundle.version.startswith("visor-v1")


def test_paths_inside_a_repeated_group_may_start_anywhere() -> None:
    text = identity(
        """
element = "Alias"
each = "offender.offenderAliases[]"
  [[fields.fields]]
  element = "Surname"
  source = "surname"
"""
    )
    _, problems = parse(sections={"identity": text, "addresses": ADDRESSES})
    assert problems == []


# -- one mistake at a time: each names its file and key --------------------------------------


def _field_where(text: str, label: str, index: str = "fields[1]") -> str:
    element = label.rsplit("/", 1)[-1]
    line = line_of(text, 'element = "' + element + '"')
    return f"sections/identity.toml {index} ({label}, line {line})"


FIELD_MISTAKES = [
    pytest.param(
        SURNAME + 'colour = "red"',
        "{w}: 'colour' is not a field setting (see docs/mapping.md)",
        id="unknown-setting",
    ),
    pytest.param(
        SURNAME + 'transform = "nope"',
        "{w} transform: 'nope' is not a transform (known: boolean, crn, cro, date, lookup, "
        "name, noms, pnc, postcode, staff-code, text, upper)",
        id="unknown-transform",
    ),
    pytest.param(
        SURNAME + 'transform = "lookup"',
        "{w} table: transform 'lookup' needs a table",
        id="lookup-without-table",
    ),
    pytest.param(
        SURNAME + 'transform = "lookup"\ntable = "colours"',
        "{w} table: 'colours' is not a code table in codes/",
        id="table-does-not-exist",
    ),
    pytest.param(
        SURNAME + 'value = "Smith"',
        "{w}: needs exactly one of source, sources or value",
        id="source-and-value",
    ),
    pytest.param(
        'element = "Surname"\ntransform = "name"',
        "{w}: needs exactly one of source, sources or value",
        id="neither-source-nor-value",
    ),
    pytest.param(
        'element = "Surname"\nsource = "offender..surname"',
        "{w} source: 'offender..surname' has an empty segment or unbalanced brackets",
        id="path-syntax",
    ),
    pytest.param(
        'element = "Surname"\nsource = "offender.surname[type=X"',
        "{w} source: 'offender.surname[type=X' has an empty segment or unbalanced brackets",
        id="path-unbalanced",
    ),
    pytest.param(
        'element = "Surname"\nsource = "offendr.surname"',
        "{w} source: 'offendr.surname' must start with one of access, contacts, crn, manager, "
        "mappa, offender, registrations (or be inside a repeated group)",
        id="unknown-root",
    ),
    pytest.param(
        'element = "Surname"\nsources = ["offender.firstName", "offendr.surname"]',
        "{w} sources: 'offendr.surname' must start with one of",
        id="unknown-root-in-sources",
    ),
    pytest.param(
        'element = "Surname"\nsources = []',
        "{w} sources: must be a list of paths",
        id="empty-sources",
    ),
    pytest.param(
        SURNAME + 'required = "yes"',
        '{w} required: must be true, false or "warn"',
        id="bad-required",
    ),
    pytest.param(
        SURNAME + "max_length = 0",
        "{w} max_length: must be a whole number of at least 1",
        id="max-length-zero",
    ),
    pytest.param(
        SURNAME + 'max_length = "35"',
        "{w} max_length: must be a whole number of at least 1",
        id="max-length-text",
    ),
    pytest.param(
        SURNAME + "max_length = 3.5",
        "{w} max_length: must be a whole number of at least 1",
        id="max-length-fraction",
    ),
    pytest.param(
        SURNAME + "repeat = -1",
        "{w} repeat: must be a whole number of at least 1",
        id="bad-repeat",
    ),
    pytest.param(
        'element = "Surname"\nvalue = 5',
        "{w} value: must be text",
        id="value-not-text",
    ),
    pytest.param(
        SURNAME + "default = false",
        "{w} default: must be text",
        id="default-not-text",
    ),
    pytest.param(
        SURNAME + 'required_when = [{ path = "offender.x" }]',
        "{w} required_when[1]: needs exactly one of in, not_in, in_table, present or differs_from",
        id="condition-without-kind",
    ),
    pytest.param(
        SURNAME + 'required_when = [{ path = "offender.x", in = "M" }]',
        "{w} required_when[1]: in must be a list of text, numbers or true/false",
        id="condition-in-not-a-list",
    ),
    pytest.param(
        SURNAME + 'required_when = [{ path = "offender.x", in = ["M"], not_in = ["P"] }]',
        "{w} required_when[1]: needs exactly one of in, not_in, in_table, present or differs_from",
        id="condition-two-kinds",
    ),
    pytest.param(
        SURNAME + 'required_when = [{ path = "offender.x", equals = "M", in = ["M"] }]',
        "{w} required_when[1]: 'equals' is not a condition key (use differs_from, in, in_table, "
        "not_in, path, present or any)",
        id="condition-unknown-key",
    ),
    pytest.param(
        SURNAME + 'required_when = [{ path = "offender.x", differs_from = "a..b" }]',
        "{w} required_when[1].differs_from: 'a..b' has an empty segment or unbalanced brackets",
        id="condition-differs-from-bad-path",
    ),
    pytest.param(
        SURNAME + 'required_when = [{ path = "offender.x", in_table = "colours" }]',
        "{w} required_when[1]: in_table names 'colours', which is not a code table",
        id="condition-unknown-table",
    ),
    pytest.param(
        SURNAME + 'required_when = [{ path = "offender.x", present = "yes" }]',
        "{w} required_when[1]: present must be true or false",
        id="condition-present-not-boolean",
    ),
    pytest.param(
        SURNAME + 'required_when = [{ path = "a..b", in = ["M"] }]',
        "{w} required_when[1].path: 'a..b' has an empty segment or unbalanced brackets",
        id="condition-bad-path",
    ),
    pytest.param(
        SURNAME + 'required_when = [{ any = [{ path = "a", in = "M" }] }]',
        "{w} required_when[1].any[1]: in must be a list of text, numbers or true/false",
        id="condition-inside-any",
    ),
    pytest.param(
        SURNAME + 'required_when = { path = "a", in = ["M"] }',
        '{w} required_when: must be a list of conditions like { path = "...", in = [...] }',
        id="conditions-not-a-list",
    ),
    pytest.param(
        SURNAME + 'required_when = ["offender.x"]',
        '{w} required_when[1]: must be a table like { path = "...", in = [...] }',
        id="condition-not-a-table",
    ),
]


@pytest.mark.parametrize(("body", "expected"), FIELD_MISTAKES)
def test_each_field_mistake_names_the_file_and_field(body: str, expected: str) -> None:
    text = identity(body)
    problems = problems_of(sections={"identity": text, "addresses": ADDRESSES})
    message = expected.replace("{w}", _field_where(text, "Surname"))
    assert any(p.startswith(message) for p in problems), problems
    assert all(p.startswith("sections/identity.toml fields[1] (Surname, line ") for p in problems)


GROUP = 'element = "Address"\neach = "offender.contactDetails.addresses[]"\n'
CHILD = '\n  [[fields.fields]]\n  element = "Postcode"\n  source = "postcode"\n'

GROUP_MISTAKES = [
    pytest.param(
        GROUP + 'where = [{ path = "status.code", in = "M" }]' + CHILD,
        "{w} where[1]: in must be a list of text, numbers or true/false",
        id="where-in-not-a-list",
    ),
    pytest.param(
        GROUP + 'where = [{ path = "status.code", in_table = "colours" }]' + CHILD,
        "{w} where[1]: in_table names 'colours', which is not a code table",
        id="where-unknown-table",
    ),
    pytest.param(
        GROUP + 'where = "status.code=M"' + CHILD,
        '{w} where: must be a list of conditions like { path = "...", in = [...] }',
        id="where-not-a-list",
    ),
    pytest.param(
        GROUP + 'sort = [{ by = "from", descending = "yes" }]' + CHILD,
        "{w} sort[1].descending: must be true or false",
        id="sort-descending-not-boolean",
    ),
    pytest.param(
        GROUP + 'sort = [{ by = "from", direction = "up" }]' + CHILD,
        "{w} sort[1]: must be a table with by, and optionally order or descending",
        id="sort-unknown-key",
    ),
    pytest.param(
        GROUP + 'sort = [{ by = "status.code", order = [1, 2] }]' + CHILD,
        "{w} sort[1].order: must be a list of text values",
        id="sort-order-not-text",
    ),
    pytest.param(
        GROUP + 'sort = [{ by = "from..x" }]' + CHILD,
        "{w} sort[1].by: 'from..x' has an empty segment or unbalanced brackets",
        id="sort-bad-path",
    ),
    pytest.param(
        GROUP + 'sort = "from"' + CHILD,
        '{w} sort: must be a list like [{ by = "from", descending = true }]',
        id="sort-not-a-list",
    ),
    pytest.param(
        GROUP + "limit = 0" + CHILD,
        "{w} limit: must be a whole number of at least 1",
        id="bad-limit",
    ),
    pytest.param(
        GROUP + 'distinct = "yes"' + CHILD,
        "{w} distinct: must be true or false",
        id="distinct-not-boolean",
    ),
    pytest.param(
        'element = "Address"\nsource = "offender.surname"\ndistinct = true',
        "{w}: 'distinct' applies to a group of fields, not to a value",
        id="distinct-on-a-value",
    ),
    pytest.param(
        GROUP + 'transform = "upper"' + CHILD,
        "{w}: 'transform' applies to a value, not to a group of fields",
        id="leaf-setting-on-group",
    ),
    pytest.param(
        'element = "Address"\neach = "offender.contactDetails.addresses[]"\nsource = "x"',
        "{w}: each needs fields to repeat",
        id="each-without-fields",
    ),
    pytest.param(
        'element = "Address"\neach = "ofender.addresses[]"' + CHILD,
        "{w} each: 'ofender.addresses[]' must start with one of",
        id="each-unknown-root",
    ),
]


@pytest.mark.parametrize(("body", "expected"), GROUP_MISTAKES)
def test_each_group_mistake_names_the_file_and_field(body: str, expected: str) -> None:
    text = identity(body)
    problems = problems_of(sections={"identity": text, "addresses": ADDRESSES})
    message = expected.replace("{w}", _field_where(text, "Address"))
    assert any(p.startswith(message) for p in problems), problems


@pytest.mark.parametrize("element", ["surname", "Sur name", "1Surname", "Surname!", "Süße", ""])
def test_a_bad_element_name_names_the_file_field_and_line(element: str) -> None:
    text = identity(f'element = "{element}"\nsource = "offender.surname"')
    problems = problems_of(sections={"identity": text, "addresses": ADDRESSES})
    line = line_of(text, "element = ", occurrence=2)  # the first is the section's
    assert (
        f"sections/identity.toml fields[1] (line {line}): element must be an XML element name like 'Surname'"
        in problems
    )


def test_a_child_field_is_named_by_its_parent_and_position() -> None:
    text = identity(
        'element = "Wrapper"\n'
        '  [[fields.fields]]\n  element = "Postcode"\n  source = "postcode"\n'  # not a case root
    )
    problems = problems_of(sections={"identity": text, "addresses": ADDRESSES})
    line = line_of(text, 'element = "Postcode"')
    assert problems == [
        f"sections/identity.toml fields[1].fields[1] (Wrapper/Postcode, line {line}) source: "
        "'postcode' must start with one of access, contacts, crn, manager, mappa, offender, "
        "registrations (or be inside a repeated group)"
    ]


# -- section files -------------------------------------------------------------------------


SECTION_MISTAKES = [
    pytest.param(
        IDENTITY.replace('name = "identity"', 'name = "aliases"'),
        "sections/identity.toml: [section].name must be 'identity' (the file's name)",
        id="name-not-the-file-name",
    ),
    pytest.param(
        IDENTITY.replace("[section]", "[header]"),
        "sections/identity.toml: [section] is missing (it names the section and its element)",
        id="no-section-table",
    ),
    pytest.param(
        IDENTITY.replace('element = "Identity"', 'element = "Identity"\ncolour = "red"'),
        "sections/identity.toml: [section].colour is not a section setting",
        id="unknown-section-setting",
    ),
    pytest.param(
        IDENTITY.replace('element = "Identity"', 'element = "identity"'),
        "sections/identity.toml: [section].element must be an XML element name like 'Identity'",
        id="bad-section-element",
    ),
    pytest.param(
        IDENTITY + "\n[extra]\nx = 1\n",
        "sections/identity.toml: [extra] is not part of a section file (only [section] and [[fields]])",
        id="extra-table",
    ),
    pytest.param(
        IDENTITY.replace('element = "Identity"', 'element = "Identity"\neach = "contacts[]"'),
        "sections/identity.toml: [section].each and [section].key go together",
        id="each-without-key",
    ),
    pytest.param(
        IDENTITY.replace(
            'element = "Identity"', 'element = "Identity"\neach = "contact[]"\nkey = "id"'
        ),
        "sections/identity.toml [section].each: 'contact[]' must start with one of",
        id="section-each-unknown-root",
    ),
    pytest.param(
        IDENTITY.replace('element = "Identity"', 'element = "Identity"\nattributes = { kind = 1 }'),
        "sections/identity.toml: [section].attributes must map XML attribute names to text",
        id="attributes-not-text",
    ),
    pytest.param(
        IDENTITY.replace(
            'element = "Identity"',
            'element = "Identity"\neach = "contacts[]"\nkey = "id"\nwhere = [{ path = "x", in = "y" }]',
        ),
        "sections/identity.toml [section].where[1]: in must be a list",
        id="section-where",
    ),
    pytest.param(
        IDENTITY.replace(
            'element = "Identity"',
            'element = "Identity"\neach = "contacts[]"\nkey = "id"\nsort = [{ by = "id", descending = 1 }]',
        ),
        "sections/identity.toml [section].sort[1].descending: must be true or false",
        id="section-sort",
    ),
    pytest.param(
        'name = "identity"\n[section\nelement = "Identity"\n',
        "sections/identity.toml: not valid TOML (",
        id="toml-syntax",
    ),
]


@pytest.mark.parametrize(("text", "expected"), SECTION_MISTAKES)
def test_each_section_mistake_names_the_file(text: str, expected: str) -> None:
    problems = problems_of(sections={"identity": text, "addresses": ADDRESSES})
    assert any(p.startswith(expected) for p in problems), problems


def test_a_section_file_with_no_fields_names_its_file() -> None:
    """Every problem names its file: a section without [[fields]] is no exception."""
    text = '[section]\nname = "identity"\nelement = "Identity"\n'
    problems = problems_of(sections={"identity": text, "addresses": ADDRESSES})
    assert problems == [
        "sections/identity.toml fields: must list at least one field ([[fields]] tables)"
    ]


def test_a_group_with_an_empty_fields_list_names_its_file() -> None:
    text = identity('element = "Alias"\neach = "offender.offenderAliases[]"\nfields = []')
    problems = problems_of(sections={"identity": text, "addresses": ADDRESSES})
    assert any(p.startswith("sections/identity.toml fields[1].fields") for p in problems), problems


# -- mapping.toml: header, section list, routing -----------------------------------------------


MAPPING_MISTAKES = [
    pytest.param(
        MAPPING.replace('version = "visor-v9.1"', 'version = "v9"'),
        None,
        "mapping.toml [mapping].version: must be text like 'visor-v1.1'",
        id="bad-version",
    ),
    pytest.param(
        MAPPING.replace('namespace = "urn:test:visor"\n', ""),
        None,
        "mapping.toml [mapping].namespace: must be text",
        id="no-namespace",
    ),
    pytest.param(
        MAPPING.replace("[mapping]", "[mappings]"),
        None,
        "mapping.toml: [mapping] is missing",
        id="no-mapping-table",
    ),
    pytest.param(
        MAPPING.replace('sections = ["identity", "addresses"]', "sections = []"),
        None,
        "mapping.toml [mapping].sections: must list the sections in record order",
        id="no-sections",
    ),
    pytest.param(
        MAPPING.replace('"addresses"]', '"addresses", "alias"]'),
        None,
        "mapping.toml [mapping].sections: 'alias' is not a section (one of identity, aliases, "
        "addresses, mappa, risk, registrations, managing-officer, activity)",
        id="unknown-section",
    ),
    pytest.param(
        MAPPING.replace('"addresses"]', '"addresses", "aliases"]'),
        None,
        "sections/aliases.toml: file is missing",
        id="listed-but-missing",
    ),
    pytest.param(
        MAPPING,
        {"identity": IDENTITY, "addresses": ADDRESSES, "aliases": IDENTITY},
        "sections/aliases.toml: is not listed in mapping.toml [mapping].sections",
        id="present-but-not-listed",
    ),
    pytest.param(
        MAPPING.replace("[routing]", "[routing\n"),
        None,
        "mapping.toml: not valid TOML (",
        id="toml-syntax",
    ),
    pytest.param(
        MAPPING.split("[routing]")[0],
        None,
        "mapping.toml [routing]: is missing (it says how the owning police force is chosen)",
        id="no-routing",
    ),
    pytest.param(
        MAPPING.replace('postcode = "postcode"\n', ""),
        None,
        "mapping.toml [routing]: postcode is missing",
        id="routing-key-missing",
    ),
    pytest.param(
        MAPPING + 'colour = "red"\n',
        None,
        "mapping.toml [routing]: colour is not a routing setting",
        id="routing-unknown-key",
    ),
    pytest.param(
        MAPPING.replace('forces = "forces"', 'forces = "police"'),
        None,
        "mapping.toml [routing]: forces must name a code table in codes/ (got 'police')",
        id="routing-unknown-table",
    ),
    pytest.param(
        MAPPING.replace('area = "manager.', 'area = "managr.'),
        None,
        "mapping.toml [routing].area: 'managr.probationArea.code' must start with one of",
        id="routing-unknown-root",
    ),
    pytest.param(
        MAPPING.replace('postcode = "postcode"', 'postcode = "post code"'),
        None,
        "mapping.toml [routing].postcode: 'post code' in 'post code' is not a key",
        id="routing-path-syntax",
    ),
]


@pytest.mark.parametrize(("mapping", "sections", "expected"), MAPPING_MISTAKES)
def test_each_mapping_mistake_names_the_file_and_key(
    mapping: str, sections: dict[str, str] | None, expected: str
) -> None:
    problems = problems_of(mapping=mapping, sections=sections)
    assert any(p.startswith(expected) for p in problems), problems


def test_a_routing_table_naming_a_force_not_in_the_forces_table() -> None:
    codes = dict(CODES)
    codes["postcode-areas"] = CODES["postcode-areas"].replace(
        'NE = "NORTHUMBRIA"', 'NE = "NORTHUMBRIA-X"'
    )
    codes["area-forces"] = CODES["area-forces"] + 'N07 = "METROPOLITAN"\n'
    problems = problems_of(codes=codes)
    assert sorted(problems) == [
        "codes/area-forces.toml [codes].N07: 'METROPOLITAN' is not a force in codes/forces.toml",
        "codes/postcode-areas.toml [codes].NE: 'NORTHUMBRIA-X' is not a force in codes/forces.toml",
    ]


# -- code tables ---------------------------------------------------------------------------


CODE_MISTAKES = [
    pytest.param(
        CODES["genders"].replace('M = "Male"', "M = 1"),
        "codes/genders.toml: [codes].M must be non-empty text",
        id="value-not-text",
    ),
    pytest.param(
        CODES["genders"].replace('M = "Male"', 'M = "  "'),
        "codes/genders.toml: [codes].M must be non-empty text",
        id="value-blank",
    ),
    pytest.param(
        CODES["genders"].replace('M = "Male"', "M = { a = 1 }"),
        "codes/genders.toml: [codes].M must be non-empty text",
        id="value-table",
    ),
    pytest.param(
        CODES["genders"].replace('description = "gender"\n', ""),
        "codes/genders.toml: [table].description must say what the table is for",
        id="no-description",
    ),
    pytest.param(
        CODES["genders"].replace("case_insensitive = true", 'case_insensitive = "yes"'),
        "codes/genders.toml: [table].case_insensitive must be true or false",
        id="case-insensitive-not-boolean",
    ),
    pytest.param(
        CODES["genders"].replace("case_insensitive = true", 'unknown = "X9"'),
        "codes/genders.toml: [table].unknown must be a list of codes",
        id="unknown-not-a-list",
    ),
    pytest.param(
        CODES["genders"].replace("case_insensitive = true", 'colour = "red"'),
        "codes/genders.toml: [table].colour is not a known setting",
        id="unknown-table-setting",
    ),
    pytest.param(
        '[table]\ndescription = "gender"\n',
        "codes/genders.toml: [codes] must be a table with at least one code",
        id="no-codes",
    ),
    pytest.param(
        CODES["genders"] + "\n[more]\nX = 1\n",
        "codes/genders.toml: [more] is not part of a code table (only [table] and [codes])",
        id="extra-table",
    ),
    pytest.param(
        CODES["genders"] + "\nM = [",
        "codes/genders.toml: not valid TOML (",
        id="toml-syntax",
    ),
]


@pytest.mark.parametrize(("text", "expected"), CODE_MISTAKES)
def test_each_code_table_mistake_names_the_file_and_key(text: str, expected: str) -> None:
    problems = problems_of(codes={**CODES, "genders": text})
    assert any(p.startswith(expected) for p in problems), problems


def test_parse_code_table_keeps_the_good_codes_of_a_partly_bad_table() -> None:
    table, problems = parse_code_table(
        "mappa-categories",
        {"table": {"description": "x", "unknown": ["X9"]}, "codes": {"M1": "1", "M2": 2}},
        where="codes/mappa-categories.toml",
    )
    assert problems == ["codes/mappa-categories.toml: [codes].M2 must be non-empty text"]
    assert dict(table.codes) == {"M1": "1"}
    assert table.unknown == frozenset({"X9"})


def test_a_case_insensitive_table_folds_codes_and_unknowns() -> None:
    table, problems = parse_code_table(
        "t",
        {
            "table": {"description": "x", "case_insensitive": True, "unknown": ["UNK"]},
            "codes": {"Ab": "1"},
        },
        where="codes/t.toml",
    )
    assert problems == []
    assert dict(table.codes) == {"ab": "1"}
    assert table.unknown == frozenset({"unk"})
    assert table.lookup("AB").value == "1"
    assert table.lookup("unk").known_unknown


# -- every problem at once -----------------------------------------------------------------


def test_several_mistakes_in_several_files_are_all_reported_in_one_call() -> None:
    mapping = MAPPING.replace('version = "visor-v9.1"', 'version = "nine"')
    identity_text = IDENTITY.replace('transform = "name"', 'transform = "nmae"').replace(
        "max_length = 35", "max_length = -35"
    )
    addresses_text = ADDRESSES.replace('  table = "address-status"', '  table = "statuses"')
    codes = {**CODES, "genders": CODES["genders"].replace('F = "Female"', "F = 2")}
    spec, problems = parse(
        mapping=mapping,
        sections={"identity": identity_text, "addresses": addresses_text},
        codes=codes,
    )
    assert spec is None
    status_line = line_of(addresses_text, 'element = "Status"')
    assert sorted(problems) == sorted(
        [
            "codes/genders.toml: [codes].F must be non-empty text",
            "mapping.toml [mapping].version: must be text like 'visor-v1.1'",
            "sections/identity.toml fields[1] (Surname, line 7) max_length: must be a whole "
            "number of at least 1",
            "sections/identity.toml fields[1] (Surname, line 7) transform: 'nmae' is not a "
            "transform (known: boolean, crn, cro, date, lookup, name, noms, pnc, postcode, "
            "staff-code, text, upper)",
            f"sections/addresses.toml fields[1].fields[1] (Address/Status, line {status_line}) "
            "table: 'statuses' is not a code table in codes/",
        ]
    )


# -- line numbers --------------------------------------------------------------------------


def test_line_numbers_point_at_each_fields_element_line() -> None:
    text = """\
# comments and blank lines before the fields
[section]
name = "identity"
element = "Identity"   # the section's element is not a field's

[[fields]]
# a comment first
label = "Surname"

source = "offender.surname"
element = "Surname"
colour = 1

[[fields]]
element = "Alias"
each = "offender.offenderAliases[]"
where = [
  { path = "a", in = ["x"] },
  { path = "b", in = "y" },
]

  [[fields.fields]]
  element = "Forename"
  source = "firstName"
  transform = "upper-case"

  [[fields.fields]]
    element   =   "Surname"
  source = "surname"
  required = "sometimes"

[[fields]]
element = "Notes"
value = "x"
max_length = 0
"""
    problems = problems_of(sections={"identity": text, "addresses": ADDRESSES})
    assert sorted(problems) == sorted(
        [
            "sections/identity.toml fields[1] (Surname, line 11): 'colour' is not a field "
            "setting (see docs/mapping.md)",
            "sections/identity.toml fields[2] (Alias, line 15) where[2]: in must be a list of "
            "text, numbers or true/false",
            "sections/identity.toml fields[2].fields[1] (Alias/Forename, line 23) transform: "
            "'upper-case' is not a transform (known: boolean, crn, cro, date, lookup, name, "
            "noms, pnc, postcode, staff-code, text, upper)",
            "sections/identity.toml fields[2].fields[2] (Alias/Surname, line 28) required: "
            'must be true, false or "warn"',
            "sections/identity.toml fields[3] (Notes, line 33) max_length: must be a whole "
            "number of at least 1",
        ]
    )


def test_a_field_without_an_element_does_not_shift_the_lines_of_later_fields() -> None:
    text = identity(
        SURNAME,
        'source = "offender.firstName"',  # fields[2]: its element was forgotten
        'element = "Forename"\nsource = "offender.firstName"\ntransform = "nope"',
        'element = "Gender"\nsource = "offender.gender"',
    )
    problems = problems_of(sections={"identity": text, "addresses": ADDRESSES})
    forename_line = line_of(text, 'element = "Forename"')
    gender_line = line_of(text, 'element = "Gender"')
    transform_problem = next(p for p in problems if "'nope' is not a transform" in p)
    assert transform_problem.startswith(
        f"sections/identity.toml fields[3] (Forename, line {forename_line}) transform:"
    ), (transform_problem, f"Gender's element is on line {gender_line}")
    missing_element = next(p for p in problems if "element must be" in p)
    assert f"(line {forename_line})" not in missing_element


# -- settings of the wrong type ------------------------------------------------------------


@pytest.mark.parametrize(
    ("setting", "key"),
    [
        ("required = 1", "required"),  # TOML 1 is not true
        ("max_length = true", "max_length"),  # TOML true is not a number
        ("repeat = true", "repeat"),
    ],
)
def test_settings_of_the_wrong_toml_type_are_problems(setting: str, key: str) -> None:
    text = identity(SURNAME + setting)
    _, problems = parse(sections={"identity": text, "addresses": ADDRESSES})
    assert any(p.startswith(f"{_field_where(text, 'Surname')} {key}:") for p in problems), problems


def test_a_limit_of_true_is_a_problem() -> None:
    text = identity(GROUP + "limit = true" + CHILD)
    _, problems = parse(sections={"identity": text, "addresses": ADDRESSES})
    assert any(p.startswith(f"{_field_where(text, 'Address')} limit:") for p in problems), problems


@pytest.mark.parametrize(
    ("mapping", "section_text", "expected"),
    [
        pytest.param(
            MAPPING,
            identity(SURNAME + 'transform = ["lookup"]'),
            "sections/identity.toml fields[1] (Surname, line 6) transform:",
            id="transform-list",
        ),
        pytest.param(
            MAPPING,
            identity(SURNAME + 'transform = "lookup"\ntable = ["genders"]'),
            "sections/identity.toml fields[1] (Surname, line 6) table:",
            id="table-list",
        ),
        pytest.param(
            MAPPING,
            identity(SURNAME + 'required_when = [{ path = "a", in_table = ["genders"] }]'),
            "sections/identity.toml fields[1] (Surname, line 6) required_when[1]:",
            id="in-table-list",
        ),
        pytest.param(
            MAPPING.replace(
                'sections = ["identity", "addresses"]', 'sections = [["identity"], "addresses"]'
            ),
            IDENTITY,
            "mapping.toml [mapping].sections:",
            id="section-name-list",
        ),
        pytest.param(
            MAPPING.replace('forces = "forces"', 'forces = ["forces"]'),
            IDENTITY,
            "mapping.toml [routing]:",
            id="routing-table-list",
        ),
    ],
)
def test_a_list_where_a_name_is_expected_is_a_problem_not_a_crash(
    mapping: str, section_text: str, expected: str
) -> None:
    """parse_spec reports every problem; it must not raise on a wrongly typed setting."""
    spec, problems = parse(
        mapping=mapping, sections={"identity": section_text, "addresses": ADDRESSES}
    )
    assert spec is None
    assert any(p.startswith(expected) for p in problems), problems


@pytest.mark.parametrize(
    "attributes",
    [
        pytest.param('{ "bad name" = "x" }', id="name-with-a-space"),
        pytest.param('{ "1kind" = "x" }', id="name-starting-with-a-digit"),
        pytest.param('{ kind = "a\\u0001b" }', id="value-with-a-control-character"),
    ],
)
def test_section_attributes_that_xml_cannot_hold_are_a_problem(attributes: str) -> None:
    """The checker must catch what the engine cannot write (lxml raises ValueError on it)."""
    text = IDENTITY.replace(
        'element = "Identity"', f'element = "Identity"\nattributes = {attributes}'
    )
    spec, problems = parse(sections={"identity": text, "addresses": ADDRESSES})
    assert spec is None
    assert any(p.startswith("sections/identity.toml") and "attributes" in p for p in problems), (
        problems
    )


# -- load_mapping over a folder --------------------------------------------------------------


def test_load_mapping_names_the_folder_and_the_broken_section_file(tmp_path: Path) -> None:
    folder = tmp_path / "visor-v1"
    shutil.copytree(default_mappings_dir(), folder)
    identity_file = folder / "sections" / "identity.toml"
    identity_file.write_text(
        identity_file.read_text(encoding="utf-8").replace(
            'transform = "pnc"', 'transform = "pnc-number"'
        ),
        encoding="utf-8",
    )
    with pytest.raises(MappingSpecError) as caught:
        load_mapping(folder)
    message = str(caught.value)
    assert str(folder) in message
    assert re.search(
        r"sections/identity\.toml fields\[\d+\] \(PNC, line \d+\) transform: "
        r"'pnc-number' is not a transform",
        message,
    ), message
    assert caught.value.problems == [p for p in caught.value.problems if "identity.toml" in p]
    assert len(caught.value.problems) == 1


def test_load_mapping_reports_every_broken_file_at_once(tmp_path: Path) -> None:
    folder = tmp_path / "visor-v1"
    shutil.copytree(default_mappings_dir(), folder)
    (folder / "sections" / "aliases.toml").unlink()
    (folder / "codes" / "genders.toml").write_text("[table\n", encoding="utf-8")
    (folder / "scope.toml").write_text(
        "[scope]\ncategories = [9]\nlevels = [1]\n", encoding="utf-8"
    )
    with pytest.raises(MappingSpecError) as caught:
        load_mapping(folder)
    message = str(caught.value)
    assert str(folder) in message
    assert "sections/aliases.toml: file is missing" in message
    assert "codes/genders.toml: not valid TOML" in message
    assert "scope.toml [scope].categories" in message


def test_load_mapping_of_a_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(MappingSpecError, match="no such mapping folder"):
        load_mapping(tmp_path / "nowhere")
