"""The registry of named field transforms a mapping spec may use (documented in docs/mapping.md).

A transform receives one field's source value as clean, trimmed text (characters XML cannot hold
already removed) and returns the text to write, `None` to write nothing, or a `Problem` that the
engine turns into an issue. Transforms never raise and never see more than their one value.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

from bridge.core.mapping.codes import CodeTable

__all__ = ["TRANSFORMS", "Problem", "Transform", "pnc_is_valid"]


@dataclass(frozen=True, slots=True)
class Problem:
    """Why a value cannot be written: an issue code and a hint that holds no record values."""

    code: str
    hint: str = ""


Result = str | Problem | None


@dataclass(frozen=True, slots=True)
class Transform:
    """A named transform: what it does (for docs/mapping.md), and whether it needs `table`."""

    name: str
    summary: str
    apply: Callable[[str, CodeTable | None], Result]
    needs_table: bool = False


# re.ASCII: `\d` must mean 0-9 as in the XSD, not any Unicode digit.
_PNC = re.compile(r"(\d{2})(\d{2})/(\d{7})([A-Z])", re.ASCII)
_PNC_LETTERS = "ZABCDEFGHJKLMNPQRTUVWXY"
_CRO = re.compile(r"\d{1,6}/\d{2}[A-Z]|SF\d{2}/\d{1,6}[A-Z]", re.ASCII)
_NOMS = re.compile(r"[A-Z]\d{4}[A-Z]{2}", re.ASCII)
_CRN = re.compile(r"[A-Z]\d{6}", re.ASCII)
_STAFF = re.compile(r"[A-Z0-9]{7}", re.ASCII)
_POSTCODE = re.compile(r"[A-Z]{1,2}\d[A-Z\d]? \d[A-Z]{2}", re.ASCII)
_SPACES = re.compile(r"\s+")
#: Dummy postcodes nDelius holds for people of no fixed abode: not an address, so not written.
NFA_POSTCODES = frozenset({"NF1 1NF", "NFA", "NF11NF"})


def pnc_is_valid(pnc: str) -> bool:
    """Format `YYYY/NNNNNNNX` and its check character (two-digit year + serial, mod 23)."""
    match = _PNC.fullmatch(pnc)
    if not match:
        return False
    _century, year, serial, check = match.groups()
    return _PNC_LETTERS[int(year + serial) % 23] == check


def _text(value: str, _table: CodeTable | None) -> Result:
    return value


def _name(value: str, _table: CodeTable | None) -> Result:
    if "  " not in value and value.isprintable():  # no whitespace but single spaces: as it is
        return value
    return _SPACES.sub(" ", value)


def _upper(value: str, _table: CodeTable | None) -> Result:
    return value.upper()


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}([T ].+)?", re.ASCII)


def _date(value: str, _table: CodeTable | None) -> Result:
    if not _ISO_DATE.fullmatch(value):  # not week dates, ordinal dates or compact forms
        return Problem("invalid-date")
    try:
        if len(value) == 10:
            return date.fromisoformat(value).isoformat()
        # A date-time (nDelius writes contact dates as zoned ISO date-times): its date part.
        return datetime.fromisoformat(value).date().isoformat()
    except ValueError:
        return Problem("invalid-date")


def _boolean(value: str, _table: CodeTable | None) -> Result:
    folded = value.casefold()
    if folded in {"true", "y", "yes", "1"}:
        return "true"
    if folded in {"false", "n", "no", "0"}:
        return "false"
    return Problem("invalid-format", "true or false")


def _lookup(value: str, table: CodeTable | None) -> Result:
    assert table is not None  # the spec checker guarantees it
    # The common case, without building a `Lookup`: the code is in the table.
    direct = table.codes.get(value.strip().casefold() if table.case_insensitive else value.strip())
    if direct is not None:
        return direct
    found = table.lookup(value)
    if found.value is not None:
        return found.value
    return Problem("unknown-value" if found.known_unknown else "unknown-code", table.name)


def _pattern(
    regex: re.Pattern[str], hint: str, *, upper: bool = True
) -> Callable[[str, CodeTable | None], Result]:
    def check(value: str, _table: CodeTable | None) -> Result:
        text = _SPACES.sub("", value).upper() if upper else value
        return text if regex.fullmatch(text) else Problem("invalid-format", hint)

    return check


def _pnc(value: str, _table: CodeTable | None) -> Result:
    text = _SPACES.sub("", value).upper()
    if pnc_is_valid(text):
        return text
    return Problem("invalid-format", "YYYY/NNNNNNNX with the right check character")


def _postcode(value: str, _table: CodeTable | None) -> Result:
    compact = _SPACES.sub("", value).upper()
    if compact in NFA_POSTCODES:
        return None
    text = f"{compact[:-3]} {compact[-3:]}" if len(compact) >= 5 else compact
    return text if _POSTCODE.fullmatch(text) else Problem("invalid-format", "a UK postcode")


TRANSFORMS: dict[str, Transform] = {
    t.name: t
    for t in (
        Transform("text", "The text as it is, trimmed.", _text),
        Transform("name", "A name: trimmed, runs of spaces made one.", _name),
        Transform("upper", "Upper case, trimmed.", _upper),
        Transform(
            "date",
            "A date `YYYY-MM-DD` from a date or date-time; anything else is `invalid-date`.",
            _date,
        ),
        Transform(
            "boolean", "`true` or `false` (also from `Y`/`N`, `yes`/`no`, `1`/`0`).", _boolean
        ),
        Transform(
            "lookup",
            "The ViSOR value for an nDelius code, from the code table named by `table`. A code not in "
            "the table is `unknown-code`; one of the table's declared `unknown` codes is `unknown-value`.",
            _lookup,
            needs_table=True,
        ),
        Transform(
            "pnc", "A PNC number `YYYY/NNNNNNNX`, spaces removed, check character verified.", _pnc
        ),
        Transform(
            "cro",
            "A CRO number `NNNNNN/YYX` or `SFYY/NNNNNNX`.",
            _pattern(_CRO, "NNNNNN/YYX or SFYY/NNNNNNX"),
        ),
        Transform("noms", "A NOMS number `A1234BC`.", _pattern(_NOMS, "A1234BC")),
        Transform(
            "crn", "A CRN: one letter and six digits.", _pattern(_CRN, "one letter and six digits")
        ),
        Transform(
            "staff-code",
            "An nDelius staff code: seven letters or digits.",
            _pattern(_STAFF, "seven letters or digits"),
        ),
        Transform(
            "postcode",
            "A UK postcode, upper case with one space before the last three characters; the dummy "
            "no-fixed-abode postcodes (`NF1 1NF`, `NFA`) are not written.",
            _postcode,
        ),
    )
}
