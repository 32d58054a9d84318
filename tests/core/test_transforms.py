"""Every named transform with good and bad values, the PNC check character, and code lookups."""

from __future__ import annotations

import tomllib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bridge.config import default_mappings_dir
from bridge.core.mapping.codes import CodeTable, Lookup, parse_code_table
from bridge.core.mapping.transforms import TRANSFORMS, Problem, pnc_is_valid

PNC_LETTERS = "ZABCDEFGHJKLMNPQRTUVWXY"  # 23 letters: no I, O or S

MAPPA_CATEGORIES = parse_code_table(
    "mappa-categories",
    {
        "table": {"description": "MAPPA category", "unknown": ["X9"]},
        "codes": {"M1": "1", "M2": "2", "M3": "3", "M4": "4"},
    },
    where="codes/mappa-categories.toml",
)[0]
GENDERS = parse_code_table(
    "genders",
    {
        "table": {"description": "gender", "case_insensitive": True, "unknown": ["ZZ"]},
        "codes": {"Male": "Male", "M": "Male", "F": "Female", "Not Known": "Not known"},
    },
    where="codes/genders.toml",
)[0]


def apply(name: str, value: str, table: CodeTable | None = None) -> str | Problem | None:
    return TRANSFORMS[name].apply(value, table)


def test_the_registry_holds_exactly_the_documented_transforms() -> None:
    assert set(TRANSFORMS) == {
        "text", "name", "upper", "date", "boolean", "lookup",
        "pnc", "cro", "noms", "crn", "staff-code", "postcode",
    }  # fmt: skip
    for name, transform in TRANSFORMS.items():
        assert transform.name == name
        assert transform.summary.strip(), name
        assert transform.needs_table is (name == "lookup")


def test_problem_is_a_code_and_a_hint() -> None:
    assert Problem("invalid-date") == Problem("invalid-date", "")
    assert Problem("invalid-format", "A1234BC").hint == "A1234BC"


# -- text, name, upper --------------------------------------------------------------------


def test_text_is_passed_through() -> None:
    assert apply("text", "O'Brien <b>&amp;") == "O'Brien <b>&amp;"
    assert apply("text", "two  spaces") == "two  spaces"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Anne  Marie", "Anne Marie"),
        ("Anne\tMarie", "Anne Marie"),
        ("Anne \n  Marie   Smith", "Anne Marie Smith"),
        ("Zoë", "Zoë"),
        ("Nguyễn Văn", "Nguyễn Văn"),
    ],
)
def test_name_makes_runs_of_spaces_one(value: str, expected: str) -> None:
    assert apply("name", value) == expected


def test_upper() -> None:
    assert apply("upper", "mfco") == "MFCO"
    assert apply("upper", "Émile") == "ÉMILE"


# -- date ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2023-01-05", "2023-01-05"),
        ("2024-02-29", "2024-02-29"),  # a leap day
        ("1900-01-01", "1900-01-01"),
        ("2023-01-05T10:20:30", "2023-01-05"),
        ("2023-01-05T10:20:30.123", "2023-01-05"),
        ("2023-01-05T23:59:59+01:00", "2023-01-05"),
        ("2023-01-05T00:00:00Z", "2023-01-05"),
    ],
)
def test_date_from_a_date_or_a_date_time(value: str, expected: str) -> None:
    assert apply("date", value) == expected


@pytest.mark.parametrize(
    "value",
    [
        "2023-02-30",
        "2023-02-29",  # not a leap year
        "2023-13-01",
        "2023-00-10",
        "2023-04-31",
        "2023-02-30T10:00:00",
        "05/01/2023",
        "2023/01/05",
        "2023-1-5",
        "2023",
        "2023-01",
        "2023-005",  # an ordinal date
        "yesterday",
        "",
        "\uff12\uff10\uff12\uff13-01-05",  # full-width digits
    ],
)
def test_impossible_or_malformed_dates_are_invalid_date(value: str) -> None:
    assert apply("date", value) == Problem("invalid-date")


@pytest.mark.parametrize(
    "value",
    [
        "2023-01-05xyz",  # a date followed by anything is not a date-time
        "2023-01-05T99:99:99",  # an impossible time
        "2023-W01-1",  # an ISO week date, not YYYY-MM-DD; read as 2023-01-02
    ],
)
def test_text_that_is_neither_a_date_nor_a_date_time_is_invalid_date(value: str) -> None:
    """TRANSFORMS['date'] says: from a date or date-time; anything else is `invalid-date`."""
    assert apply("date", value) == Problem("invalid-date")


# -- boolean -------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["true", "TRUE", "True", "y", "Y", "yes", "YES", "1"])
def test_boolean_true(value: str) -> None:
    assert apply("boolean", value) == "true"


@pytest.mark.parametrize("value", ["false", "FALSE", "n", "N", "no", "No", "0"])
def test_boolean_false(value: str) -> None:
    assert apply("boolean", value) == "false"


@pytest.mark.parametrize("value", ["maybe", "2", "t", "f", "yes please", "-1"])
def test_boolean_rejects_anything_else(value: str) -> None:
    assert apply("boolean", value) == Problem("invalid-format", "true or false")


# -- lookup --------------------------------------------------------------------------------


def test_lookup_a_known_code() -> None:
    assert apply("lookup", "M2", MAPPA_CATEGORIES) == "2"
    assert apply("lookup", "M4", MAPPA_CATEGORIES) == "4"


def test_lookup_a_declared_unknown_code_is_unknown_value() -> None:
    assert apply("lookup", "X9", MAPPA_CATEGORIES) == Problem("unknown-value", "mappa-categories")


def test_lookup_a_code_not_in_the_table_is_unknown_code() -> None:
    assert apply("lookup", "M9", MAPPA_CATEGORIES) == Problem("unknown-code", "mappa-categories")
    assert apply("lookup", "1", MAPPA_CATEGORIES) == Problem("unknown-code", "mappa-categories")


def test_lookup_is_case_sensitive_unless_the_table_says_otherwise() -> None:
    assert apply("lookup", "m2", MAPPA_CATEGORIES) == Problem("unknown-code", "mappa-categories")
    assert apply("lookup", "x9", MAPPA_CATEGORIES) == Problem("unknown-code", "mappa-categories")
    assert apply("lookup", "male", GENDERS) == "Male"
    assert apply("lookup", "MALE", GENDERS) == "Male"
    assert apply("lookup", "m", GENDERS) == "Male"
    assert apply("lookup", "NOT KNOWN", GENDERS) == "Not known"
    assert apply("lookup", "zz", GENDERS) == Problem("unknown-value", "genders")
    assert apply("lookup", "Mail", GENDERS) == Problem("unknown-code", "genders")


def test_code_table_lookup_trims_and_covers() -> None:
    assert MAPPA_CATEGORIES.lookup(" M1 ") == Lookup("1")
    assert MAPPA_CATEGORIES.lookup("X9") == Lookup(None, known_unknown=True)
    assert MAPPA_CATEGORIES.lookup("Q") == Lookup(None, known_unknown=False)
    assert MAPPA_CATEGORIES.covers("M3")
    assert MAPPA_CATEGORIES.covers("X9")
    assert not MAPPA_CATEGORIES.covers("Q")


def test_the_packaged_genders_table_is_case_insensitive() -> None:
    path = default_mappings_dir() / "codes" / "genders.toml"
    table, problems = parse_code_table(
        "genders", tomllib.loads(path.read_text(encoding="utf-8")), where="codes/genders.toml"
    )
    assert problems == []
    assert table.case_insensitive
    assert apply("lookup", "f", table) == "Female"
    assert apply("lookup", "FEMALE", table) == "Female"
    assert apply("lookup", "not known", table) == "Not known"


# -- PNC -----------------------------------------------------------------------------------


def test_pnc_check_character_worked_by_hand() -> None:
    # 2011/0483921: 110483921 mod 23 = 17 -> the 18th letter of ZABCDEFGHJKLMNPQRTUVWXY = T
    assert 110483921 % 23 == 17
    assert PNC_LETTERS[17] == "T"
    assert pnc_is_valid("2011/0483921T")
    # 1976/0011873: 760011873 mod 23 = 11 -> L
    assert 760011873 % 23 == 11
    assert pnc_is_valid("1976/0011873L")
    # a remainder of 0 is Z: 230000000 = 23 * 10000000
    assert pnc_is_valid("1923/0000000Z")
    assert not pnc_is_valid("1923/0000000A")


@given(
    year=st.integers(min_value=1900, max_value=2099),
    serial=st.integers(min_value=0, max_value=9_999_999),
)
def test_exactly_one_letter_completes_a_pnc(year: int, serial: int) -> None:
    stem = f"{year}/{serial:07d}"
    valid = [c for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ" if pnc_is_valid(stem + c)]
    assert len(valid) == 1
    assert valid[0] not in "IOS"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2011/0483921T", "2011/0483921T"),
        ("2011/0483921t", "2011/0483921T"),  # upper-cased
        ("2011/ 0483921 T", "2011/0483921T"),  # spaces removed
        ("2003/0551872F", "2003/0551872F"),
    ],
)
def test_pnc_transform_normalises_valid_numbers(value: str, expected: str) -> None:
    assert apply("pnc", value) == expected


@pytest.mark.parametrize(
    "value",
    ["2011/0483921U", "2011/483921T", "11/0483921T", "2011-0483921T", "2011/0483921", "pnc"],
)
def test_pnc_transform_rejects_bad_numbers(value: str) -> None:
    result = apply("pnc", value)
    assert isinstance(result, Problem)
    assert result.code == "invalid-format"
    assert "check character" in result.hint


# -- CRO, NOMS, CRN, staff code ------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("402117/24D", "402117/24D"),
        ("78213/03H", "78213/03H"),
        ("1/99A", "1/99A"),
        ("SF93/123456A", "SF93/123456A"),
        ("SF05/1B", "SF05/1B"),
        (" sf93 / 123456a", "SF93/123456A"),
        ("78213/03h", "78213/03H"),
    ],
)
def test_cro_both_formats(value: str, expected: str) -> None:
    assert apply("cro", value) == expected


@pytest.mark.parametrize(
    "value",
    [
        "1234567/24D",  # seven digits
        "402117/2D",
        "402117/245D",
        "402117/24",
        "402117-24D",
        "SF9/123456A",
        "SF93/1234567A",
        "SF93/123456",
        "XF93/123456A",
        "SF93/123456A/402117/24D",
    ],
)
def test_cro_rejects_other_shapes(value: str) -> None:
    assert apply("cro", value) == Problem("invalid-format", "NNNNNN/YYX or SFYY/NNNNNNX")


@pytest.mark.parametrize(
    ("name", "good", "normalised", "bad", "hint"),
    [
        ("noms", "a1234bc", "A1234BC", ["A1234B", "11234BC", "A12345BC", "AB234BC"], "A1234BC"),
        (
            "crn",
            "b203456",
            "B203456",
            ["B20345", "BB03456", "B2034567", "2203456"],
            "one letter and six digits",
        ),
        (
            "staff-code",
            "n07p004",
            "N07P004",
            ["N07P00", "N07P0045", "N07-P04", "N07_P04"],
            "seven letters or digits",
        ),
    ],
)
def test_identifier_patterns(
    name: str, good: str, normalised: str, bad: list[str], hint: str
) -> None:
    assert apply(name, good) == normalised
    assert apply(name, f" {good[:3]} {good[3:]} ") == normalised
    for value in bad:
        assert apply(name, value) == Problem("invalid-format", hint), value


# -- postcode ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("ne14xf", "NE1 4XF"),
        ("NE1 4XF", "NE1 4XF"),
        (" ne1   4xf ", "NE1 4XF"),
        ("B100RX", "B10 0RX"),
        ("M1 1AE", "M1 1AE"),
        ("EC1A1BB", "EC1A 1BB"),
        ("W1A 0AX", "W1A 0AX"),
        ("SW1A 2AA", "SW1A 2AA"),
    ],
)
def test_postcode_is_normalised(value: str, expected: str) -> None:
    assert apply("postcode", value) == expected


@pytest.mark.parametrize("value", ["NF1 1NF", "nf1 1nf", "NF11NF", "NFA", "nfa", " N F A "])
def test_no_fixed_abode_dummy_postcodes_are_not_written(value: str) -> None:
    assert apply("postcode", value) is None


@pytest.mark.parametrize(
    "value", ["N1", "NE1 4X", "12345", "NEE1 4XF", "NE1 44F", "NE1-4XF", "ZZZZZZZ", "E"]
)
def test_postcode_rejects_what_is_not_a_uk_postcode(value: str) -> None:
    assert apply("postcode", value) == Problem("invalid-format", "a UK postcode")
