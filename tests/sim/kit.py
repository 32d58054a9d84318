"""Builders and clients the simulator tests share (imported relatively, never via conftest)."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from starlette.types import ASGIApp, Receive, Scope, Send

from bridge.clock import FixedClock
from tests.loopback import http_client

CLIENT_ID, CLIENT_SECRET = "sim-test", "sim-test-secret"
START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)

BASE_CASE: dict[str, Any] = {
    "offender": {
        "offenderId": 1,
        "otherIds": {"crn": "X000001", "pncNumber": "2008/0545166T"},
        "firstName": "Test",
        "middleNames": [],
        "surname": "Person",
        "dateOfBirth": "1980-01-01",
        "gender": "Male",
        "offenderAliases": [],
        "contactDetails": {
            "addresses": [{"id": 1, "postcode": "AB1 2CD", "status": {"code": "M"}}]
        },
        "offenderManagers": [{"active": True, "staff": {"code": "N07A001"}}],
        "softDeleted": False,
    },
    "registrations": [
        {
            "registrationId": 10,
            "type": {"code": "MAPP", "description": "MAPPA"},
            "registerCategory": {"code": "M2", "description": "MAPPA Cat 2"},
            "registerLevel": {"code": "M1", "description": "MAPPA Level 1"},
            "active": True,
        }
    ],
    "contacts": [
        {"id": 100, "visorContact": True, "description": "MAPPA meeting"},
        {"id": 101, "visorContact": False, "description": "Office visit"},
    ],
}


def case_doc(crn: str, **parts: Any) -> dict[str, Any]:
    """A well-formed case document for `crn`; keyword arguments replace top-level parts."""
    doc = copy.deepcopy(BASE_CASE)
    doc["offender"]["otherIds"]["crn"] = crn
    doc.update(copy.deepcopy(parts))
    return doc


def write_cases(folder: Path, cases: dict[str, Any]) -> Path:
    """Write `{file stem: document or raw text}` under `folder/cases`; return `folder`."""
    (folder / "cases").mkdir(parents=True, exist_ok=True)
    for stem, doc in cases.items():
        text = doc if isinstance(doc, str) else json.dumps(doc)
        (folder / "cases" / f"{stem}.json").write_text(text, encoding="utf-8")
    return folder


class NdeliusSim:
    """A running nDelius simulator plus a client that holds a bearer token."""

    def __init__(self, url: str, clock: FixedClock) -> None:
        self.url = url
        self.clock = clock
        self.http = http_client(base_url=url, timeout=5.0)

    def token(self) -> str:
        response = self.http.post(
            "/auth/oauth/token",
            params={"grant_type": "client_credentials"},
            auth=(CLIENT_ID, CLIENT_SECRET),
        )
        assert response.status_code == 200, response.text
        token: str = response.json()["access_token"]
        self.http.headers["Authorization"] = f"Bearer {token}"
        return token

    def get(self, path: str, **params: Any) -> httpx.Response:
        return self.http.get(path, params=params)

    def put_case(self, crn: str, doc: object) -> httpx.Response:
        content = doc if isinstance(doc, str) else json.dumps(doc)
        return self.http.put(f"/__admin/cases/{crn}", content=content)

    def events(self, after: int = 0, limit: int = 100) -> dict[str, Any]:
        response = self.get("/events", after=after, limit=limit)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def event_types(self, after: int = 0) -> list[str]:
        return [e["eventType"] for e in self.events(after)["events"]]


class SwitchableApp:
    """An ASGI app that forwards to whichever simulator the current test installed.

    One uvicorn server serves the whole session (starting and stopping one per test
    costs ~0.2 s); each test still gets a fresh simulator with its own seed and clock.
    """

    def __init__(self) -> None:
        self.target: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":  # the simulators have no startup work
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        assert self.target is not None, "no simulator installed for this test"
        await self.target(scope, receive, send)


STAND_IN_XSD = """<?xml version="1.0" encoding="UTF-8"?>
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:test:visor"
           xmlns="urn:test:visor" elementFormDefault="qualified">
  <xs:element name="Record">
    <xs:complexType><xs:sequence>
      <xs:element name="Envelope"><xs:complexType><xs:sequence>
        <xs:element name="CRN"><xs:simpleType><xs:restriction base="xs:string">
          <xs:pattern value="[A-Z][0-9]{6}"/></xs:restriction></xs:simpleType></xs:element>
        <xs:element name="Kind" type="xs:string"/>
      </xs:sequence></xs:complexType></xs:element>
      <xs:element name="Surname" type="xs:string"/>
    </xs:sequence></xs:complexType>
  </xs:element>
</xs:schema>
"""


def record_xml(
    crn: str = "X000001", kind: str = "nominal-create", surname: str = "Ó Néill"
) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<v:Record xmlns:v="urn:test:visor"><v:Envelope><v:CRN>{crn}</v:CRN>'
        f"<v:Kind>{kind}</v:Kind></v:Envelope><v:Surname>{surname}</v:Surname></v:Record>"
    ).encode()
