"""The case documents and the simulator's answers hold to community-api's published shapes.

tests/contracts/community_api_schema.json is derived from community-api's Swagger 2.0 document;
its `extensions` are the one list of deliberate departures. Checked here: every fixture case
document, every synthetic document `bridge.sim.generate` writes, and every answer the real
simulator gives over loopback for `/secure/offenders/crn/{crn}/all` and `/registrations`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bridge.clock import SystemClock
from bridge.sim import ndelius as ndelius_sim
from bridge.sim.generate import generate_cases, iter_cases
from bridge.sim.server import serve_in_thread
from tests.builders import CASES, SIM_CLIENT
from tests.contracts.shapes import Shapes
from tests.loopback import http_client

SHAPES = Shapes.load()
FIXTURE_CRNS = sorted(p.stem for p in CASES.glob("*.json"))
ALL = "/secure/offenders/crn/{crn}/all"
REGISTRATIONS = "/secure/offenders/crn/{crn}/registrations"


def _token(http: httpx.Client) -> None:
    r = http.post("/auth/oauth/token", params={"grant_type": "client_credentials"}, auth=SIM_CLIENT)
    r.raise_for_status()
    http.headers["Authorization"] = f"Bearer {r.json()['access_token']}"


def _served(base_url: str, crns: list[str]) -> Iterator[tuple[str, Any, Any]]:
    """(crn, /all body, /registrations body) as the simulator answers them."""
    with http_client(base_url=base_url, timeout=10.0) as http:
        _token(http)
        for crn in crns:
            offender = http.get(ALL.format(crn=crn))
            registrations = http.get(REGISTRATIONS.format(crn=crn))
            assert offender.status_code == registrations.status_code == 200, crn
            yield crn, offender.json(), registrations.json()


def _check_served(crn: str, offender: Any, registrations: Any) -> list[str]:
    return SHAPES.check(offender, SHAPES.endpoints[ALL], f"{crn} /all") + SHAPES.check(
        registrations, SHAPES.endpoints[REGISTRATIONS], f"{crn} /registrations"
    )


# -- the checker itself -------------------------------------------------------------------------


def test_the_checker_names_unknown_properties_wrong_types_and_treats_null_as_absent() -> None:
    offender = {
        "offenderId": 1,
        "surname": None,  # null: absent
        "nickname": "Bob",  # not in OffenderDetail
        "dateOfBirth": "12/04/1979",  # not a date
        "middleNames": "Roy",  # not an array
        "contactDetails": {"addresses": [{"createdDateTime": "2024-05-10T10:00:00"}]},
        "offenderManagers": [{"active": "yes", "team": {"email": "a@b"}}],
        "additionalIdentifiers": [{"type": {"code": "VISO"}, "value": "V1"}],  # an extension
    }
    problems = SHAPES.check(offender, "#OffenderDetail", "o")
    assert problems == [
        "o.nickname: OffenderDetail has no such property",
        "o.dateOfBirth: expected date, got str",
        "o.middleNames: expected an array",
        "o.contactDetails.addresses[0].createdDateTime: Address has no such property",
        "o.offenderManagers[0].active: expected boolean, got str",
        "o.offenderManagers[0].team.email: Team has no such property",
    ]


def test_the_extensions_are_one_list_and_name_why() -> None:
    extensions = SHAPES.schema["extensions"]
    listed = {f"{d}.{p}" for d, props in extensions["properties"].items() for p in props}
    assert listed == set(extensions["why"])
    assert set(extensions["documents"]) == {"contacts", "accessLimitations"}


def test_the_real_spellings_are_the_published_ones() -> None:
    """The names the bridge and the simulator use, as community-api spells them."""
    address = SHAPES.schema["definitions"]["Address"]
    assert {"createdDatetime", "lastUpdatedDatetime"} <= set(address)
    assert "createdDateTime" not in SHAPES.schema["definitions"]["Registration"]
    assert {"emailAddress", "telephone"} <= set(SHAPES.schema["definitions"]["Team"])
    assert {"previousSurname", "preferredName"} <= set(
        SHAPES.schema["definitions"]["OffenderDetail"]
    )


# -- the documents ------------------------------------------------------------------------------


@pytest.mark.parametrize("crn", FIXTURE_CRNS)
def test_fixture_documents_conform(crn: str) -> None:
    document = json.loads((CASES / f"{crn}.json").read_text(encoding="utf-8"))
    assert SHAPES.check_document(document, crn) == []


def test_generated_documents_conform() -> None:
    problems = [
        p for crn, doc in iter_cases(cases=300, seed=7) for p in SHAPES.check_document(doc, crn)
    ]
    assert problems == []


def test_the_simulator_serves_every_fixture_case_in_the_published_shapes(
    ndelius_url: str,
) -> None:
    problems = [p for served in _served(ndelius_url, FIXTURE_CRNS) for p in _check_served(*served)]
    assert problems == []


def test_the_simulator_serves_generated_cases_in_the_published_shapes(tmp_path: Path) -> None:
    generate_cases(cases=40, seed=11, out_dir=tmp_path)
    crns = sorted(p.stem for p in (tmp_path / "cases").glob("*.json"))
    app = ndelius_sim.create_app(
        cases_dir=tmp_path,
        client_id=SIM_CLIENT[0],
        client_secret=SIM_CLIENT[1],
        clock=SystemClock(),
    )
    with serve_in_thread(app) as url:
        problems = [p for served in _served(url, crns) for p in _check_served(*served)]
    assert problems == []
