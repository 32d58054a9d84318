"""A member of staff as typed into the registry: the staff file, the staff CSV and the
administrators' form, checked before anything is stored. Pure: no I/O, no clock, no store.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from bridge.core.lifecycle import Role, StaffFacts
from bridge.errors import BadInput

__all__ = [
    "CSV_COLUMNS",
    "EXPIRING_DAYS",
    "ROLES",
    "VETTING_LEVELS",
    "DateValue",
    "StaffCsvInvalid",
    "StaffInput",
    "StaffInvalid",
    "check_staff",
    "check_staff_document",
    "decode_staff_csv",
    "keeps_importer",
    "keeps_own_admin",
    "PRIVILEGED_ROLES",
    "parse_staff_csv",
    "privilege_grants",
    "vetting_state",
]

#: The roles, in the order forms list them.
ROLES: tuple[str, ...] = (Role.PROXY, Role.OFFENDER_MANAGER, Role.MANAGER, Role.ADMIN)
_ROLES = frozenset(ROLES)
#: Police vetting levels a registry entry may carry (ViSOR needs NPPV2 or above: bridge.core.lifecycle).
VETTING_LEVELS = ("NPPV1", "NPPV2", "NPPV3")
#: Vetting that lapses within this many days is "expiring soon" (renewal takes weeks).
EXPIRING_DAYS = 30
#: The staff CSV's header, in order (roles are `;`-separated; dates YYYY-MM-DD; active yes/no).
CSV_COLUMNS = (
    "code",
    "name",
    "roles",
    "team",
    "vetting_level",
    "vetting_expires",
    "needs_proxy_since",
    "needs_proxy_until",
    "active",
)
_CODE = re.compile(r"[A-Z0-9]{3,16}")
_TEAM = re.compile(r"[A-Za-z0-9]{1,16}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_DATE_LABELS = {
    "vetting_expires": "Vetting expiry date",
    "needs_proxy_since": "Needs a proxy since",
    "needs_proxy_until": "Needs a proxy until",
}
_YES = {"yes", "y", "true", "1", ""}
_NO = {"no", "n", "false", "0"}


def _text_or_none(item: dict[str, Any], key: str, where: str, problems: list[str]) -> str:
    value = item.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        problems.append(f"{where}.{key}: must be text")
        return ""
    return value


def check_staff_document(data: object, path: str) -> list[dict[str, Any]]:
    """Check a decoded staff file (ARCHITECTURE §6); raises BadInput listing every problem.

    Each record gets the form's checks (`check_staff`): codes trimmed and upper-cased, two
    records with one code after that refuse the file, as does any invalid record; keys the
    bridge does not know are ignored. `path` names the file in the messages.
    """
    staff = data.get("staff") if isinstance(data, dict) else None
    if not isinstance(staff, list):
        raise BadInput(f'{path}: expected {{"staff": [...]}}')
    problems: list[str] = []
    rows: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    for i, item in enumerate(staff):
        where = f"{path}: staff[{i}]"
        if not isinstance(item, dict):
            problems.append(f"{where}: not an object")
            continue
        code = item.get("code")
        if not isinstance(code, str) or not code.strip():
            problems.append(f"{where}.code: missing")
            continue
        found: list[str] = []
        roles = item.get("roles", [])
        if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
            found.append(f"{where}.roles: must be a list of {sorted(_ROLES)}")
            roles = []
        vetting = item.get("vetting") or {}
        needs = item.get("needsProxy") or {}
        if not isinstance(vetting, dict) or not isinstance(needs, dict):
            problems.append(f"{where}: vetting and needsProxy must be objects")
            continue
        name = _text_or_none(item, "name", where, found) or code
        manages = item.get("manages") or []
        if not isinstance(manages, list) or not all(isinstance(t, str) for t in manages):
            found.append(f"{where}.manages: must be a list of team codes")
            manages = []
        value = StaffInput(
            code=code,
            name=name,
            roles=tuple(roles),
            team=_text_or_none(item, "team", where, found),
            vetting_level=_text_or_none(vetting, "level", f"{where}.vetting", found),
            vetting_expires=_text_or_none(vetting, "expires", f"{where}.vetting", found) or None,
            needs_proxy_since=_text_or_none(needs, "since", f"{where}.needsProxy", found) or None,
            needs_proxy_until=_text_or_none(needs, "until", f"{where}.needsProxy", found) or None,
            manages=tuple(manages),
            email=_text_or_none(item, "email", where, found),
        )
        row, checked = check_staff(value)
        found += [f"{where} ({row['code']}): {message}" for _, message in checked]
        if row["code"] in seen:
            found.append(
                f"{where}.code: {row['code']} appears twice (also staff[{seen[row['code']]}];"
                " codes are compared trimmed and upper-cased)"
            )
        seen.setdefault(row["code"], i)
        problems += found
        if not found:
            del row["active"]  # the file says nothing about it: an import makes them active
            rows.append(row)
    if problems:
        raise BadInput("staff file has problems:\n" + "\n".join(f"  - {p}" for p in problems))
    return rows


# -- one person: the form's and the CSV's validation ---------------------------------------

#: A date as typed: ISO text (CSV), (day, month, year) text (form), a date, or nothing.
DateValue = date | str | tuple[str, str, str] | None


@dataclass(frozen=True)
class StaffInput:
    """One person as an administrator gave them, not yet checked."""

    code: str
    name: str
    roles: tuple[str, ...] = ()
    team: str = ""
    vetting_level: str = ""
    vetting_expires: DateValue = None
    needs_proxy_since: DateValue = None
    needs_proxy_until: DateValue = None
    active: bool = True
    manages: tuple[str, ...] | None = None  # None: not given (a CSV without the column)
    #: Where notifications go (issue 16); None: not given, so left as it is.
    email: str | None = None


class StaffInvalid(BadInput):
    """The person cannot be saved as given: `problems` is (field, message) per problem."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = problems
        super().__init__("; ".join(message for _, message in problems))


class StaffCsvInvalid(BadInput):
    """A staff CSV with problems: `problems` holds one message per problem, with its line."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("staff CSV has problems:\n" + "\n".join(f"  - {p}" for p in problems))


def _parse_date(field: str, value: DateValue, problems: list[tuple[str, str]]) -> date | None:
    label = _DATE_LABELS[field]
    if value is None or isinstance(value, date):
        return value
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            try:
                return date.fromisoformat(text)
            except ValueError:
                pass
        problems.append((field, f"{label} must be a real date in the form YYYY-MM-DD"))
        return None
    parts = [p.strip() for p in value]
    if not any(parts):
        return None
    missing = [name for name, part in zip(("day", "month", "year"), parts, strict=True) if not part]
    if missing:
        problems.append((field, f"{label} must include a {' and '.join(missing)}"))
        return None
    day, month, year = parts
    if not (day.isdigit() and month.isdigit() and year.isdigit() and len(year) == 4):
        problems.append((field, f"{label} must be a real date"))
        return None
    try:
        return date(int(year), int(month), int(day))
    except ValueError:
        problems.append((field, f"{label} must be a real date"))
        return None


def check_staff(value: StaffInput) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """(row as `import_staff` takes it, with `active`; problems as (field, message))."""
    problems: list[tuple[str, str]] = []
    code = value.code.strip().upper()
    if not code:
        problems.append(("code", "Enter a staff code"))
    elif not _CODE.fullmatch(code):
        problems.append(("code", "Staff code must be 3 to 16 letters or numbers, like N07A001"))
    name = " ".join(value.name.split())
    if not name:
        problems.append(("name", "Enter the name"))
    elif len(name) > 200:
        problems.append(("name", "Name must be 200 characters or fewer"))
    roles = sorted({r.strip() for r in value.roles if r.strip()})
    if not roles:
        problems.append(("roles", "Select at least one role"))
    elif not set(roles) <= _ROLES:
        problems.append(("roles", f"Roles must be from: {', '.join(ROLES)}"))
        roles = [r for r in roles if r in _ROLES]
    team = value.team.strip().upper()
    if team and not _TEAM.fullmatch(team):
        problems.append(("team", "Team must be up to 16 letters or numbers"))
    level = value.vetting_level.strip().upper()
    if level and level not in VETTING_LEVELS:
        problems.append(
            ("vetting_level", f"Vetting level must be one of {', '.join(VETTING_LEVELS)}")
        )
    expires = _parse_date("vetting_expires", value.vetting_expires, problems)
    since = _parse_date("needs_proxy_since", value.needs_proxy_since, problems)
    until = _parse_date("needs_proxy_until", value.needs_proxy_until, problems)
    said = {field for field, _ in problems}
    if Role.PROXY in roles and not level and "vetting_level" not in said:
        problems.append(("vetting_level", "Select the vetting level: a proxy must be vetted"))
    elif expires is not None and not level and "vetting_level" not in said:
        problems.append(("vetting_level", "Select the vetting level for this expiry date"))
    if level and expires is None and "vetting_expires" not in said:
        problems.append(("vetting_expires", "Enter the date the vetting expires"))
    if until is not None and since is None and "needs_proxy_since" not in said:
        problems.append(("needs_proxy_since", "Enter the date they first needed a proxy"))
    if since is not None and until is not None and until < since:
        problems.append(
            ("needs_proxy_until", "Needs a proxy until must be the same as or after the since date")
        )
    email = (value.email or "").strip()
    if email and (len(email) > 320 or not _EMAIL.fullmatch(email)):
        problems.append(
            ("email", "Enter an email address in the correct format, like name@example.com")
        )
    if since is not None and Role.OFFENDER_MANAGER not in roles and "roles" not in said:
        problems.append(("needs_proxy_since", "Only an offender manager can need a proxy"))
    manages = _check_manages(value.manages, roles, problems)
    row = {
        "code": code,
        "name": name,
        "roles": roles,
        "team": team or None,
        "vetting_level": level or None,
        "vetting_expires": expires,
        "needs_proxy_since": since,
        "needs_proxy_until": until,
        "active": value.active,
    }
    if manages is not None:
        row["manages"] = manages
    if value.email is not None:
        row["email"] = email or None
    return row, problems


def _check_manages(
    given: tuple[str, ...] | None, roles: list[str], problems: list[tuple[str, str]]
) -> list[str] | None:
    """The teams a manager manages, upper-cased and sorted (None: not given; [] for anyone
    who is not a manager, whatever the file says)."""
    if given is None:
        return None
    if Role.MANAGER not in roles:
        return []
    teams = sorted({t.strip().upper() for t in given if t.strip()})
    if any(not _TEAM.fullmatch(t) for t in teams):
        problems.append(("manages", "Teams managed must each be up to 16 letters or numbers"))
    if not teams:
        problems.append(("manages", "Enter the teams this manager manages"))
    return teams


#: Roles whose grant needs a second administrator (issue 18): each opens case content or
#: the power to grant it.
PRIVILEGED_ROLES = frozenset({Role.PROXY, Role.ADMIN})


def privilege_grants(old: StaffFacts | None, row: dict[str, Any]) -> list[str]:
    """What a checked change (`check_staff`'s row) grants beyond what `old` holds: the proxy
    or administrator role (newly held, or held again by someone made active) and `vetting`
    (a level recorded or changed, or an expiry made later). Taking privilege away grants
    nothing."""
    if not row.get("active", True):
        return []  # an inactive person can do nothing; making them active again grants
    held = set(old.roles) if old is not None and old.active else set()
    grants = sorted(str(r) for r in (set(row["roles"]) & PRIVILEGED_ROLES) - held)
    level, expires = row.get("vetting_level"), row.get("vetting_expires")
    if level and (
        old is None
        or old.vetting_level != level
        or old.vetting_expires is None
        or (expires is not None and expires > old.vetting_expires)
    ):
        grants.append("vetting")
    return grants


def vetting_state(staff: StaffFacts, today: date) -> str | None:
    """ "expired", "expiring_soon" (within EXPIRING_DAYS), "current", or None (no vetting)."""
    if staff.vetting_expires is None:
        return None
    if staff.vetting_expires < today:
        return "expired"
    if staff.vetting_expires <= today + timedelta(days=EXPIRING_DAYS):
        return "expiring_soon"
    return "current"


def keeps_own_admin(row: dict[str, Any], actor: str) -> list[tuple[str, str]]:
    """An administrator may not lock themselves out (someone else must do that)."""
    if row["code"] != actor:
        return []
    if not row["active"]:
        return [("active", "You cannot make your own account inactive")]
    if Role.ADMIN not in row["roles"]:
        return [("roles", "You cannot remove your own administrator role")]
    return []


# -- the staff CSV -------------------------------------------------------------------------


def decode_staff_csv(data: bytes) -> str:
    """The file's text: UTF-8 (a spreadsheet's byte-order mark is allowed)."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise StaffCsvInvalid(["The file must be a CSV file saved as UTF-8"]) from exc


def parse_staff_csv(text: str) -> list[dict[str, Any]]:
    """Read and check a staff CSV (columns: CSV_COLUMNS); StaffCsvInvalid lists every problem.

    Returns rows as `import_staff` takes them, each with `active`. Line numbers count the
    header as line 1, as a spreadsheet shows them.
    """
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise StaffCsvInvalid([f"Line 1: not readable as CSV ({exc})"]) from exc
    if header is None or not any(h.strip() for h in header):
        raise StaffCsvInvalid(["The file is empty: the first line must be the header"])
    names = [h.strip().lower() for h in header]
    missing = [c for c in CSV_COLUMNS if c not in names]
    unknown = [n for n in names if n not in CSV_COLUMNS]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    header_problems = []
    if missing:
        header_problems.append(f"Line 1: missing columns: {', '.join(missing)}")
    if unknown:
        header_problems.append(f"Line 1: unknown columns: {', '.join(unknown)}")
    if duplicated:
        header_problems.append(f"Line 1: columns named twice: {', '.join(duplicated)}")
    if header_problems:
        raise StaffCsvInvalid([*header_problems, f"The columns are: {','.join(CSV_COLUMNS)}"])
    problems: list[str] = []
    rows: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    try:
        for cells in reader:
            line = reader.line_num
            if not any(c.strip() for c in cells):
                continue  # blank lines are allowed (spreadsheets add them)
            if len(cells) != len(names):
                problems.append(f"Line {line}: {len(cells)} values, expected {len(names)}")
                continue
            raw = dict(zip(names, (c.strip() for c in cells), strict=True))
            active = raw["active"].lower()
            line_problems: list[tuple[str, str]] = []
            if active not in _YES | _NO:
                line_problems.append(("active", "active must be yes or no"))
            row, found = check_staff(
                StaffInput(
                    code=raw["code"],
                    name=raw["name"],
                    roles=tuple(raw["roles"].split(";")),
                    team=raw["team"],
                    vetting_level=raw["vetting_level"],
                    vetting_expires=raw["vetting_expires"],
                    needs_proxy_since=raw["needs_proxy_since"],
                    needs_proxy_until=raw["needs_proxy_until"],
                    active=active not in _NO,
                )
            )
            line_problems += found
            code = row["code"]
            if code and code in seen:
                line_problems.append(("code", f"staff code {code} is also on line {seen[code]}"))
            seen.setdefault(code, line)
            problems += [f"Line {line} ({field}): {message}" for field, message in line_problems]
            rows.append(row)
    except csv.Error as exc:
        problems.append(f"Line {reader.line_num}: not readable as CSV ({exc})")
    if problems:
        raise StaffCsvInvalid(problems)
    if not rows:
        raise StaffCsvInvalid(["The file has a header but no staff"])
    return rows


def keeps_importer(rows: list[dict[str, Any]], *, actor: str, replace: bool) -> list[str]:
    """Problems if the import would remove the importing administrator's own access."""
    mine = [r for r in rows if r["code"] == actor]
    if not mine:
        return (
            [
                f"The file must include you ({actor}) as an active administrator to replace the registry"
            ]
            if replace
            else []
        )
    return [message for _, message in keeps_own_admin(mine[0], actor)]
