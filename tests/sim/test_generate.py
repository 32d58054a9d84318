"""The synthetic case generator: deterministic, realistic in shape, loadable by the sim."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bridge.sim.generate import (
    CHECK_CHARACTERS,
    cro_number,
    generate_cases,
    pnc_check_character,
    pnc_number,
)

from .kit import NdeliusSim

CASES = 200


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("generated")
    assert generate_cases(cases=CASES, seed=42, out_dir=out) == CASES
    return out


def _docs(out: Path) -> dict[str, dict[str, Any]]:
    return {p.stem: json.loads(p.read_bytes()) for p in sorted((out / "cases").glob("*.json"))}


def _files(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in (out / "cases").glob("*.json")}


def test_same_seed_gives_byte_identical_files(generated: Path, tmp_path: Path) -> None:
    generate_cases(cases=CASES, seed=42, out_dir=tmp_path)
    assert _files(tmp_path) == _files(generated)


def test_another_seed_gives_other_people(generated: Path, tmp_path: Path) -> None:
    generate_cases(cases=CASES, seed=43, out_dir=tmp_path)
    assert _files(tmp_path).keys() == _files(generated).keys()
    assert _files(tmp_path) != _files(generated)


def test_crns_and_file_names(generated: Path) -> None:
    docs = _docs(generated)
    assert len(docs) == CASES
    assert sorted(docs)[:2] == ["G000001", "G000002"]
    for stem, doc in docs.items():
        assert re.fullmatch(r"[A-Z][0-9]{6}", stem)
        assert doc["offender"]["otherIds"]["crn"] == stem


def test_identifiers_have_valid_formats_and_check_letters(generated: Path) -> None:
    for doc in _docs(generated).values():
        ids = doc["offender"]["otherIds"]
        match = re.fullmatch(r"(\d{4})/(\d{7})([A-Z])", ids["pncNumber"])
        assert match, ids["pncNumber"]
        year, serial, check = match.groups()
        assert CHECK_CHARACTERS[int(year[2:] + serial) % 23] == check
        assert re.fullmatch(r"\d{6}/\d{2}[A-Z]", ids["croNumber"])
        assert re.fullmatch(r"[A-Z]\d{4}[A-Z]{2}", ids["nomsNumber"])


def test_pnc_check_character_known_values() -> None:
    assert pnc_number(2008, 545166) == "2008/0545166T"
    assert pnc_check_character(2000, 0) == "Z"
    assert pnc_check_character(2000, 1) == "A"
    assert re.fullmatch(r"000123/99[A-Z]", cro_number(123, 1999))


def test_every_case_has_exactly_one_active_mappa_registration(generated: Path) -> None:
    levels, categories, types = Counter[str](), Counter[str](), Counter[str]()
    for doc in _docs(generated).values():
        registrations = doc["registrations"]
        types.update(r["type"]["code"] for r in registrations)
        active = [r for r in registrations if r["type"]["code"] == "MAPP" and r["active"]]
        assert len(active) == 1
        categories[active[0]["registerCategory"]["code"]] += 1
        levels[active[0]["registerLevel"]["code"]] += 1
        assert len({r["registrationId"] for r in registrations}) == len(registrations)
    assert set(categories) == {"M1", "M2", "M3", "M4"}
    assert set(levels) == {"M1", "M2", "M3"}
    assert types["RVHR"] + types["RVRH"] > 0
    assert types["AVIS"] > 0


def test_offender_shape(generated: Path) -> None:
    staff: Counter[str] = Counter()
    for doc in _docs(generated).values():
        offender = doc["offender"]
        assert offender["softDeleted"] is False
        assert {"firstName", "middleNames", "surname", "dateOfBirth", "gender"} <= set(offender)
        assert isinstance(offender["offenderAliases"], list)
        addresses = offender["contactDetails"]["addresses"]
        assert [a["status"]["code"] for a in addresses].count("M") == 1
        assert {a["status"]["code"] for a in addresses} <= {"M", "P", "O"}
        active = [m for m in offender["offenderManagers"] if m["active"]]
        assert len(active) == 1
        assert set(active[0]["staff"]) == {"code", "forenames", "surname"}
        assert {"team", "probationArea"} <= set(active[0])
        staff[active[0]["staff"]["code"]] += 1
        for identifier in offender["additionalIdentifiers"]:
            assert identifier["type"] == {"code": "VISO", "description": "ViSOR Number"}
        assert set(doc["accessLimitations"]) == {
            "excludedFrom",
            "restrictedTo",
            "exclusionMessage",
            "restrictionMessage",
        }
    assert {"N07A001", "N07A002"} <= set(staff)
    assert len(staff) >= 4


def test_some_contacts_are_visor_flagged(generated: Path) -> None:
    contacts = [c for doc in _docs(generated).values() for c in doc["contacts"]]
    assert any(c["visorContact"] for c in contacts)
    assert len({c["id"] for c in contacts}) == len(contacts)


def test_the_simulator_serves_generated_cases(
    generated: Path, start_ndelius: Callable[..., NdeliusSim]
) -> None:
    docs = dict(list(_docs(generated).items())[:20])
    sim = start_ndelius(docs)
    listing = sim.get("/mappa/cases", size=500).json()
    assert listing["totalResults"] == 20
    crn = listing["content"][0]["crn"]
    assert sim.get(f"/secure/offenders/crn/{crn}/all").json() == docs[crn]["offender"]
