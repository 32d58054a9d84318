"""Ids and CRNs that cannot exist (ARCHITECTURE §6): refused exactly as unknown ones.

An entry id is a positive integer below 2,147,483,648 (the id column's range on both
databases); a CRN is a letter and six digits. Anything else is looked up nowhere (a huge
id would overflow SQLite's integer and end in a 500) and refused with the unknown one's
message and audit row.
"""

from __future__ import annotations

import re

__all__ = ["ENTRY_ID_LIMIT", "possible_crn", "possible_entry_id", "storable_entry_id"]

#: Entry ids are below this (a 32-bit signed integer column).
ENTRY_ID_LIMIT = 2**31
_CRN = re.compile(r"[A-Z]\d{6}")


def possible_entry_id(value: int) -> bool:
    """True for an id an entry could have."""
    return 0 < value < ENTRY_ID_LIMIT


def storable_entry_id(value: int | None) -> int | None:
    """The id as an audit row may hold it: None when it cannot exist."""
    return value if value is not None and possible_entry_id(value) else None


def possible_crn(value: str) -> bool:
    """True for a CRN nDelius could have issued (`^[A-Z]\\d{6}$`)."""
    return _CRN.fullmatch(value) is not None
