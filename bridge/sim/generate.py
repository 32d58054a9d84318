"""Deterministic synthetic nDelius case documents (`visor-bridge fixtures generate`)."""

from __future__ import annotations

import json
import os
import random
from collections.abc import Iterator, Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Any, TypeVar

from bridge.sim.generate_pools import (
    CONTACT_TYPES,
    COUNTIES_BY_TOWN,
    FEMALE_NAMES,
    MALE_NAMES,
    NATIONALITIES,
    OTHER_REGISTER_TYPES,
    ROSH_TYPES,
    STAFF,
    STREETS,
    SURNAMES,
    TEAMS,
    TOWNS,
)

T = TypeVar("T")

__all__ = ["cro_number", "generate_cases", "iter_cases", "pnc_check_character", "pnc_number"]

CHECK_CHARACTERS = "ZABCDEFGHJKLMNPQRTUVWXY"
_EPOCH = date(1950, 1, 1)
_DOB_SPAN_DAYS = (date(2005, 12, 31) - _EPOCH).days
_DATES = [(date(2010, 1, 1) + timedelta(days=d)).isoformat() for d in range(5800)]
_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"
_PROBATION_AREA = {"code": "N07", "description": "NPS London"}
_PUBLIC_PROTECTION = {"code": "5", "description": "Public Protection"}
_STATUS = {
    "M": {"code": "M", "description": "Main"},
    "P": {"code": "P", "description": "Previous"},
    "O": {"code": "O", "description": "Other"},
}


def _pick(rng: random.Random, items: Sequence[T]) -> T:
    """`rng.choice` without its overhead (the generator makes ~60 draws per case)."""
    return items[int(rng.random() * len(items))]


def _below(rng: random.Random, stop: int) -> int:
    return int(rng.random() * stop)


def _between(rng: random.Random, start: int, stop: int) -> int:
    return start + int(rng.random() * (stop - start))


def pnc_check_character(year: int, serial: int) -> str:
    """The PNC check letter: (2-digit year + 7-digit serial) mod 23, as a letter."""
    return CHECK_CHARACTERS[int(f"{year % 100:02d}{serial:07d}") % 23]


def pnc_number(year: int, serial: int) -> str:
    """A PNC number `YYYY/NNNNNNNX` with a correct check letter."""
    return f"{year:04d}/{serial:07d}{pnc_check_character(year, serial)}"


def cro_number(serial: int, year: int) -> str:
    """A CRO number `NNNNNN/YYX`, check letter computed as for the PNC."""
    yy = year % 100
    return f"{serial:06d}/{yy:02d}{CHECK_CHARACTERS[int(f'{yy:02d}{serial:06d}') % 23]}"


def _crn(index: int) -> str:
    return f"{'GHJKLMNPRST'[index // 1_000_000 % 11]}{index % 1_000_000:06d}"


def _staff(index: int) -> dict[str, Any]:
    code, forenames, surname = STAFF[index % len(STAFF)]
    return {"code": code, "forenames": forenames, "surname": surname}


def _dob(rng: random.Random) -> str:
    return (_EPOCH + timedelta(days=_below(rng, _DOB_SPAN_DAYS))).isoformat()


def _person(rng: random.Random) -> dict[str, Any]:
    male = rng.random() < 0.85
    firsts = MALE_NAMES if male else FEMALE_NAMES
    dob = _dob(rng)
    middles = [_pick(rng, firsts) for _ in range(_pick(rng, (0, 1, 1, 2)))]
    return {
        "title": "Mr" if male else _pick(rng, ("Ms", "Mrs", "Miss")),
        "firstName": _pick(rng, firsts),
        "middleNames": middles,
        "surname": _pick(rng, SURNAMES),
        "dateOfBirth": dob,
        "gender": "Male" if male else "Female",
    }


def _aliases(rng: random.Random, index: int, person: dict[str, Any]) -> list[Any]:
    count = _pick(rng, (0, 0, 0, 1, 1, 2))
    return [
        {
            "id": str(2600000000 + index * 4 + n),
            "firstName": _pick(rng, MALE_NAMES if person["gender"] == "Male" else FEMALE_NAMES),
            "middleNames": [],
            "surname": _pick(rng, (person["surname"], _pick(rng, SURNAMES))),
            "dateOfBirth": _pick(rng, (person["dateOfBirth"], _dob(rng))),
            "gender": person["gender"],
        }
        for n in range(count)
    ]


def _address(rng: random.Random, address_id: int, status: str) -> dict[str, Any]:
    town = _pick(rng, TOWNS)
    outward, inward = COUNTIES_BY_TOWN[town][1], _between(rng, 1, 10)
    start = _between(rng, 3000, 5700)
    address: dict[str, Any] = {
        "id": address_id,
        "from": _DATES[start],
        "noFixedAbode": False,
        "addressNumber": str(_between(rng, 1, 240)),
        "streetName": _pick(rng, STREETS),
        "town": town,
        "county": COUNTIES_BY_TOWN[town][0],
        "postcode": f"{outward}{_between(rng, 1, 30)} {inward}{_pick(rng, _LETTERS)}"
        f"{_pick(rng, _LETTERS)}",
        "status": _STATUS[status],
        "createdDatetime": f"{_DATES[start]}T10:{_below(rng, 60):02d}:00",
        "lastUpdatedDatetime": f"{_DATES[start]}T10:{_below(rng, 60):02d}:00",
    }
    if status == "P":
        address["to"] = _DATES[start + _between(rng, 30, 90)]
    return address


def _addresses(rng: random.Random, index: int) -> list[dict[str, Any]]:
    statuses = ["M", *_pick(rng, ((), ("P",), ("P",), ("P", "P"), ("O",)))]
    return [_address(rng, 2700000000 + index * 4 + n, status) for n, status in enumerate(statuses)]


def _manager(rng: random.Random, index: int, active: bool) -> dict[str, Any]:
    team_code, team_name = TEAMS[index % len(TEAMS)]
    manager: dict[str, Any] = {
        "fromDate": _pick(rng, _DATES[3000:5700]),
        "active": active,
        "allocationReason": {"code": "CAI", "description": "Caseload Allocation"},
        "staff": _staff(index),
        "team": {"code": team_code, "description": team_name},
        "probationArea": _PROBATION_AREA,
    }
    return manager


def _registration(
    rng: random.Random, reg_id: int, reg_type: tuple[str, str], start: int
) -> dict[str, Any]:
    return {
        "registrationId": reg_id,
        "register": _PUBLIC_PROTECTION,
        "type": {"code": reg_type[0], "description": reg_type[1]},
        "riskColour": _pick(rng, ("Red", "Amber", "Green")),
        "startDate": _DATES[start],
        "nextReviewDate": _DATES[start + 91],
        "reviewPeriodMonths": 3,
        "notes": f"Registered following {reg_type[1]} review",
        "registeringTeam": {"code": TEAMS[0][0], "description": TEAMS[0][1]},
        "registeringOfficer": _staff(reg_id),
        "registeringProbationArea": _PROBATION_AREA,
        "warnUser": False,
        "active": True,
        "numberOfPreviousDeregistrations": 0,
    }


def _registrations(rng: random.Random, index: int, has_visor: bool) -> list[Any]:
    base = 2500100000 + index * 8
    start = _between(rng, 3000, 5600)
    mappa = _registration(rng, base, ("MAPP", "MAPPA"), start)
    category, level = _between(rng, 1, 5), _pick(rng, (1, 1, 1, 2, 2, 3))
    mappa["registerCategory"] = {
        "code": f"M{category}",
        "description": f"MAPPA Cat {category}",
    }
    mappa["registerLevel"] = {
        "code": f"M{level}",
        "description": f"MAPPA Level {level}",
    }
    mappa["notes"] = f"MAPPA category {category} level {level}"
    regs = [mappa]
    if rng.random() < 0.15:
        old = _registration(rng, base + 1, ("MAPP", "MAPPA"), start - 400)
        old.update(
            active=False,
            endDate=_DATES[start - 30],
            deregisteringNotes="Category changed",
            registerCategory={"code": "M2", "description": "MAPPA Cat 2"},
            registerLevel={"code": "M1", "description": "MAPPA Level 1"},
        )
        regs.append(old)
    if rng.random() < 0.5:
        regs.append(_registration(rng, base + 2, _pick(rng, ROSH_TYPES), start + 5))
    if has_visor:
        regs.append(_registration(rng, base + 3, ("AVIS", "Subject has a ViSOR record"), start))
    for n in range(_pick(rng, (0, 0, 1, 2))):
        regs.append(_registration(rng, base + 4 + n, _pick(rng, OTHER_REGISTER_TYPES), start))
    return regs


def _contacts(rng: random.Random, index: int, crn: str) -> list[dict[str, Any]]:
    contacts = []
    for n in range(_pick(rng, (0, 1, 2, 2, 3))):
        code, description = _pick(rng, CONTACT_TYPES)
        day = _DATES[_between(rng, 5000, 5790)]
        staff = _staff(index)
        team_code, team_name = TEAMS[index % len(TEAMS)]
        contacts.append(
            {
                "id": 3000000000 + index * 8 + n,
                "crn": crn,
                "contactDate": day,
                "createdAt": f"{day}T14:{_below(rng, 60):02d}:00Z",
                "updatedAt": f"{day}T15:{_below(rng, 60):02d}:00Z",
                "type": {"code": code, "description": description},
                "description": description,
                "notes": f"{description} held; actions agreed and recorded.",
                "officer": {
                    "code": staff["code"],
                    "name": {
                        "forename": staff["forenames"],
                        "surname": staff["surname"],
                    },
                    "team": {"code": team_code, "description": team_name},
                },
                "visorContact": n < 2 or rng.random() < 0.5,
                "visorExported": False,
            }
        )
    return contacts


def _case(rng: random.Random, index: int) -> dict[str, Any]:
    crn = _crn(index)
    person = _person(rng)
    year = int(person["dateOfBirth"][:4]) + _between(rng, 16, 20)
    has_visor = rng.random() < 0.4
    excluded = rng.random() < 0.03
    offender: dict[str, Any] = {
        "offenderId": 2500000000 + index,
        "otherIds": {
            "crn": crn,
            "pncNumber": pnc_number(year, _between(rng, 1, 10_000_000)),
            "croNumber": cro_number(_between(rng, 1, 1_000_000), year),
            "nomsNumber": f"{_pick(rng, _LETTERS)}{_below(rng, 10_000):04d}"
            f"{_pick(rng, _LETTERS)}{_pick(rng, _LETTERS)}",
        },
        **person,
        "offenderAliases": _aliases(rng, index, person),
        "contactDetails": {"addresses": _addresses(rng, index)},
        "offenderManagers": [_manager(rng, index, active=True)],
        "offenderProfile": {"nationality": _pick(rng, NATIONALITIES)},
        "additionalIdentifiers": [],
        "currentExclusion": excluded,
        "currentRestriction": False,
        "softDeleted": False,
    }
    if has_visor:
        offender["additionalIdentifiers"].append(
            {
                "additionalIdentifierId": 2800000000 + index,
                "type": {"code": "VISO", "description": "ViSOR Number"},
                "value": f"VIS-{50_000_000 + index:08d}",
            }
        )
    if rng.random() < 0.2:
        offender["offenderManagers"].append(_manager(rng, index + 1, active=False))
    limitations: dict[str, Any] = {
        "excludedFrom": [STAFF[(index + 3) % len(STAFF)][0]] if excluded else [],
        "restrictedTo": [],
        "exclusionMessage": "You are excluded from viewing this case" if excluded else None,
        "restrictionMessage": None,
    }
    return {
        "offender": offender,
        "registrations": _registrations(rng, index, has_visor),
        "contacts": _contacts(rng, index, crn),
        "accessLimitations": limitations,
    }


def _write(path: Path, data: bytes) -> None:
    """os.open/os.write: cheaper than Path.write_bytes when writing 100,000 files."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)


def iter_cases(*, cases: int, seed: int) -> Iterator[tuple[str, dict[str, Any]]]:
    """The same documents `generate_cases` writes, as (CRN, document) pairs in memory."""
    rng = random.Random(seed)
    for index in range(1, cases + 1):
        doc = _case(rng, index)
        yield doc["offender"]["otherIds"]["crn"], doc


def generate_cases(*, cases: int, seed: int, out_dir: Path) -> int:
    """Write `cases` synthetic case documents to `out_dir/cases/{CRN}.json`.

    The same seed always gives byte-identical files. Returns the number written.
    """
    folder = out_dir / "cases"
    folder.mkdir(parents=True, exist_ok=True)
    encode = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode
    for crn, doc in iter_cases(cases=cases, seed=seed):
        _write(folder / f"{crn}.json", encode(doc).encode("utf-8") + b"\n")
    return cases
