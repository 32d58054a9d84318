"""Question pages' fields: the input each ViSOR field gets, and the answers they accept. Pure."""

from __future__ import annotations

import pytest

from bridge.config import default_mappings_dir
from bridge.core.mapping.spec import SectionSpec
from bridge.mapping_files import load_mapping
from bridge.web.questions import answer, question_for, readable

SPEC = load_mapping(default_mappings_dir()).spec
TABLES = SPEC.tables


def _section(name: str) -> SectionSpec:
    return next(s for s in SPEC.sections if s.name == name)


def test_each_kind_of_field_gets_its_input_and_its_help_line() -> None:
    identity, addresses, mappa = _section("identity"), _section("addresses"), _section("mappa")
    gender = question_for(identity, "Gender", "Male", TABLES)
    assert gender is not None
    assert gender.input_type == "radios"
    assert [o.value for o in gender.options] == ["Male", "Female", "Other", "Not known"]
    assert gender.hint
    born = question_for(identity, "DateOfBirth", "1990-03-07", TABLES)
    assert born is not None
    assert (born.input_type, born.day, born.month, born.year) == ("date", "7", "3", "1990")
    abode = question_for(addresses, "Address[2]/NoFixedAbode", "false", TABLES)
    assert abode is not None
    assert abode.input_type == "boolean"
    assert abode.label == "Address 2: No fixed abode"
    status = question_for(addresses, "Address[1]/Status", "Main", TABLES)
    assert status is not None
    assert status.input_type in ("radios", "select")
    assert question_for(mappa, "LeadAgency", "Probation", TABLES) is None  # fixed by the mapping
    assert question_for(mappa, "Team", None, TABLES) is None  # a group, not a value
    assert question_for(identity, "Nonsense", None, TABLES) is None
    notes = question_for(_section("activity"), "Notes", "Seen at the office.", TABLES)
    assert notes is not None
    assert notes.input_type == "textarea"


@pytest.mark.parametrize(
    ("form", "value", "error"),
    [
        ({"day": "7", "month": "3", "year": "1990"}, "1990-03-07", None),
        ({"day": "31", "month": "2", "year": "1990"}, None, "Date of birth must be a real date"),
        ({"day": "7", "month": "", "year": "1990"}, None, "Date of birth must include a month"),
        ({"day": "", "month": "", "year": ""}, None, "Enter the date of birth"),
        ({"day": "x", "month": "3", "year": "1990"}, None, "Date of birth must be a real date"),
    ],
)
def test_a_date_answer(form: dict[str, str], value: str | None, error: str | None) -> None:
    question = question_for(_section("identity"), "DateOfBirth", "1990-01-01", TABLES)
    assert question is not None
    typed, got, message = answer(question, form)
    assert (got, message) == (value, error)
    assert (typed.day, typed.month, typed.year) == (form["day"], form["month"], form["year"])


def test_a_coded_answer_must_be_one_of_the_tables_values() -> None:
    question = question_for(_section("identity"), "Gender", "Male", TABLES)
    assert question is not None
    assert answer(question, {"value": "Female"})[1:] == ("Female", None)
    typed, value, error = answer(question, {"value": "F"})
    assert value is None
    assert error == "Select a gender that ViSOR takes"
    assert typed.value == "F"  # kept as typed
    assert answer(question, {})[2] == "Select the gender"


def test_text_answers_keep_the_limits_and_an_optional_field_may_be_emptied() -> None:
    identity = _section("identity")
    surname = question_for(identity, "Surname", "Docherty", TABLES)
    assert surname is not None
    assert answer(surname, {"value": ""})[2] == "Enter the surname"
    assert answer(surname, {"value": "x" * 36})[2] == "Surname must be 35 characters or fewer"
    cro = question_for(identity, "CRO", "123456/01A", TABLES)
    assert cro is not None
    assert answer(cro, {"value": "  "})[1:] == ("", None)


def test_stored_values_read_as_words() -> None:
    addresses = _section("addresses")
    abode = question_for(addresses, "Address[1]/NoFixedAbode", "true", TABLES)
    assert abode is not None
    from bridge.web.questions import leaf_spec

    assert readable("true", leaf_spec(addresses, "Address[1]/NoFixedAbode")) == "Yes"
    assert readable("2023-11-01", leaf_spec(addresses, "Address[1]/From")) == "1 November 2023"
    assert readable(None, None) == ""
