"""The ViSOR simulator over loopback: idempotent intake, XSD checks, hardened parsing."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from lxml import etree

from bridge.clock import FixedClock
from bridge.sim import visor

from .kit import record_xml


def _post(http: httpx.Client, body: bytes, key: str | None = "key-1") -> httpx.Response:
    headers = {"Content-Type": "application/xml"}
    if key is not None:
        headers["Idempotency-Key"] = key
    return http.post("/records", content=body, headers=headers)


def _count(http: httpx.Client) -> int:
    count: int = http.get("/__admin/records/count").json()["count"]
    return count


def test_a_valid_record_is_accepted_with_a_reference(visor_http: httpx.Client) -> None:
    response = _post(visor_http, record_xml())
    assert response.status_code == 201
    assert response.json() == {"reference": "VIS-00000001"}


def test_the_same_idempotency_key_returns_the_same_reference(
    visor_http: httpx.Client,
) -> None:
    first = _post(visor_http, record_xml(), key="abc")
    again = _post(visor_http, record_xml(), key="abc")
    assert again.status_code == 200
    assert again.json() == first.json()
    assert _count(visor_http) == 1
    other = _post(visor_http, record_xml(), key="def")
    assert other.status_code == 201
    assert other.json() == {"reference": "VIS-00000002"}
    assert _count(visor_http) == 2


def test_the_idempotency_key_is_required(visor_http: httpx.Client) -> None:
    for key in (None, ""):
        response = _post(visor_http, record_xml(), key=key)
        assert response.status_code == 400
        assert response.json()["errors"]
    assert _count(visor_http) == 0


def test_stored_xml_is_returned_byte_for_byte(visor_http: httpx.Client) -> None:
    body = record_xml(surname="Ní Bhriain &amp; Søn")
    reference = _post(visor_http, body).json()["reference"]
    response = visor_http.get(f"/records/{reference}")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/xml")
    assert response.content == body
    missing = visor_http.get("/records/VIS-99999999")
    assert missing.status_code == 404
    assert missing.json()["status"] == 404


def test_records_are_listed_by_crn_with_kind_and_time(
    visor_http: httpx.Client, clock: FixedClock
) -> None:
    _post(visor_http, record_xml("X000001", "nominal-create"), key="a")
    clock.advance(60)
    _post(visor_http, record_xml("X000002", "nominal-create"), key="b")
    _post(visor_http, record_xml("X000001", "activity"), key="c")
    listed = visor_http.get("/records", params={"crn": "X000001"}).json()
    assert listed == {
        "records": [
            {
                "reference": "VIS-00000001",
                "kind": "nominal-create",
                "receivedAt": "2026-01-05T09:00:00Z",
            },
            {"reference": "VIS-00000003", "kind": "activity", "receivedAt": "2026-01-05T09:01:00Z"},
        ]
    }
    assert visor_http.get("/records", params={"crn": "Z999999"}).json() == {"records": []}


@pytest.mark.parametrize(
    "body",
    [
        record_xml(crn="not-a-crn"),
        b"<v:Record xmlns:v='urn:test:visor'><v:Envelope/></v:Record>",
        b"<Record><Envelope><CRN>X000001</CRN><Kind>k</Kind></Envelope>"
        b"<Surname>x</Surname></Record>",  # right names, wrong (no) namespace
    ],
    ids=["bad-crn", "missing-elements", "no-namespace"],
)
def test_xsd_invalid_records_are_refused_with_errors(visor_http: httpx.Client, body: bytes) -> None:
    response = _post(visor_http, body)
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert errors
    assert all(isinstance(e, str) for e in errors)
    assert _count(visor_http) == 0


@pytest.mark.parametrize(
    "body",
    [b"", b"<v:Record xmlns:v='urn:test:visor'>", b"not xml at all", b"<a>&undefined;</a>"],
    ids=["empty", "unclosed", "text", "undefined-entity"],
)
def test_not_well_formed_records_are_refused(visor_http: httpx.Client, body: bytes) -> None:
    response = _post(visor_http, body)
    assert response.status_code == 422
    assert response.json()["errors"]


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<v:Record xmlns:v="urn:test:visor"><v:Envelope><v:CRN>X000001</v:CRN>
<v:Kind>&lol3;</v:Kind></v:Envelope><v:Surname>x</v:Surname></v:Record>"""


def _external_entity(secret: Path) -> bytes:
    return (
        f'<?xml version="1.0"?>\n<!DOCTYPE r [<!ENTITY xxe SYSTEM "file://{secret}">]>\n'
        '<v:Record xmlns:v="urn:test:visor"><v:Envelope><v:CRN>X000001</v:CRN>'
        "<v:Kind>&xxe;</v:Kind></v:Envelope><v:Surname>x</v:Surname></v:Record>"
    ).encode()


def test_doctype_and_entities_are_refused(visor_http: httpx.Client, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET", encoding="utf-8")
    plain_doctype = b"<!DOCTYPE Record>" + record_xml().split(b"\n", 1)[1]
    for body in (BILLION_LAUGHS, _external_entity(secret), plain_doctype):
        response = _post(visor_http, body)
        assert response.status_code == 422
        assert "TOP-SECRET" not in response.text
        assert "lollol" not in response.text
    assert _count(visor_http) == 0


def test_hardened_parser_expands_no_entity_and_reads_no_file(tmp_path: Path) -> None:
    # defence in depth: even before the DOCTYPE check, parsing expands nothing
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET", encoding="utf-8")
    for body in (BILLION_LAUGHS, _external_entity(secret)):
        root = etree.fromstring(body, visor.hardened_parser())
        text = etree.tostring(root, encoding="unicode")
        assert "lollol" not in text
        assert "TOP-SECRET" not in text


def test_reset_clears_records_and_keys(visor_http: httpx.Client) -> None:
    _post(visor_http, record_xml(), key="k")
    assert visor_http.post("/__admin/reset").status_code == 200
    assert _count(visor_http) == 0
    again = _post(visor_http, record_xml(), key="k")
    assert (again.status_code, again.json()) == (201, {"reference": "VIS-00000001"})
