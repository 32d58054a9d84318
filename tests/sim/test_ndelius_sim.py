"""The nDelius simulator over real loopback sockets: auth, reads, feed, admin."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest

from tests.loopback import http_client

from .kit import CLIENT_ID, CLIENT_SECRET, NdeliusSim, case_doc

StartNdelius = Callable[..., NdeliusSim]


# -- OAuth2 client credentials ------------------------------------------------------------


def test_token_response_has_the_contract_keys(sim: NdeliusSim) -> None:
    response = sim.http.post(
        "/auth/oauth/token",
        params={"grant_type": "client_credentials"},
        auth=(CLIENT_ID, CLIENT_SECRET),
    )
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in"}
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 300


def test_grant_type_may_come_in_the_form_body(sim: NdeliusSim) -> None:
    response = sim.http.post(
        "/auth/oauth/token",
        content="grant_type=client_credentials",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        auth=(CLIENT_ID, CLIENT_SECRET),
    )
    assert response.status_code == 200


@pytest.mark.parametrize(
    "auth",
    [(CLIENT_ID, "wrong"), ("someone-else", CLIENT_SECRET), ("", ""), ("no-colon", None)],
    ids=["bad-secret", "bad-id", "empty", "no-credentials"],
)
def test_wrong_client_credentials_are_refused(
    sim: NdeliusSim, auth: tuple[str, str | None]
) -> None:
    client_id, secret = auth
    if secret is None:
        headers = {"Authorization": "Basic bm8tY29sb24="}  # "no-colon"
        response = sim.http.post("/auth/oauth/token?grant_type=client_credentials", headers=headers)
    else:
        response = sim.http.post(
            "/auth/oauth/token",
            params={"grant_type": "client_credentials"},
            auth=(client_id, secret),
        )
    assert response.status_code == 401
    assert response.json()["status"] == 401


def test_other_grant_types_are_refused(sim: NdeliusSim) -> None:
    response = sim.http.post(
        "/auth/oauth/token", params={"grant_type": "password"}, auth=(CLIENT_ID, CLIENT_SECRET)
    )
    assert response.status_code == 400


@pytest.mark.parametrize(
    "header", [None, "Bearer not-a-token", "Basic c2ltLXRlc3Q6c2ltLXRlc3Qtc2VjcmV0"]
)
def test_reads_need_a_known_bearer_token(sim: NdeliusSim, header: str | None) -> None:
    headers = {} if header is None else {"Authorization": header}
    with http_client(base_url=sim.url) as anonymous:
        for path in ("/events", "/mappa/cases", "/secure/offenders/crn/X000001/all"):
            response = anonymous.get(path, headers=headers)
            assert response.status_code == 401, path
            assert response.json()["status"] == 401
            assert response.headers["content-type"] == "application/json"


def test_token_expires_by_the_injected_clock(start_ndelius: StartNdelius) -> None:
    sim = start_ndelius({}, token_ttl_seconds=60)
    assert sim.get("/events").status_code == 200
    sim.clock.advance(59)
    assert sim.get("/events").status_code == 200
    sim.clock.advance(1)
    assert sim.get("/events").status_code == 401
    sim.token()
    assert sim.get("/events").status_code == 200


def test_admin_paths_need_no_token(sim: NdeliusSim) -> None:
    with http_client(base_url=sim.url) as anonymous:
        assert anonymous.post("/__admin/reset").status_code == 200


# -- case reads ----------------------------------------------------------------------------


def test_offender_detail_is_served_verbatim(sim: NdeliusSim) -> None:
    response = sim.get("/secure/offenders/crn/X000001/all")
    assert response.status_code == 200
    assert response.json() == case_doc("X000001")["offender"]


def test_registrations_are_wrapped(sim: NdeliusSim) -> None:
    response = sim.get("/secure/offenders/crn/X000001/registrations")
    assert response.json() == {"registrations": case_doc("X000001")["registrations"]}


def test_access_limitations_default_and_verbatim(start_ndelius: StartNdelius) -> None:
    limits = {
        "excludedFrom": ["N07A002"],
        "restrictedTo": [],
        "exclusionMessage": "Excluded",
        "restrictionMessage": None,
    }
    sim = start_ndelius(
        {"X000001": case_doc("X000001"), "X000002": case_doc("X000002", accessLimitations=limits)}
    )
    assert sim.get("/case/X000001/access-limitations").json() == {
        "excludedFrom": [],
        "restrictedTo": [],
        "exclusionMessage": None,
        "restrictionMessage": None,
    }
    assert sim.get("/case/X000002/access-limitations").json() == limits


def test_contacts_are_only_the_visor_flagged_ones_and_are_paged(
    start_ndelius: StartNdelius,
) -> None:
    contacts = [{"id": n, "visorContact": n % 2 == 0} for n in range(7)]
    sim = start_ndelius({"X000001": case_doc("X000001", contacts=contacts)})
    first = sim.get("/case/X000001/contacts", mappaCategories="1,2,3,4", page=0, size=3).json()
    assert [c["id"] for c in first["content"]] == [0, 2, 4]
    assert (first["totalPages"], first["totalResults"]) == (2, 4)
    second = sim.get("/case/X000001/contacts", mappaCategories="1,2,3,4", page=1, size=3).json()
    assert [c["id"] for c in second["content"]] == [6]
    assert sim.get("/case/X000001/contacts", page=2, size=3).json()["content"] == []


def test_contacts_follow_the_mappa_category_filter(sim: NdeliusSim) -> None:
    # X000001's MAPP registration is category M2
    assert sim.get("/case/X000001/contacts", mappaCategories="2").json()["totalResults"] == 1
    assert sim.get("/case/X000001/contacts", mappaCategories="1,3").json()["content"] == []
    assert sim.get("/case/X000001/contacts", mappaCategories="x").status_code == 400


@pytest.mark.parametrize(
    "path",
    [
        "/secure/offenders/crn/Z999999/all",
        "/secure/offenders/crn/Z999999/registrations",
        "/case/Z999999/contacts",
        "/case/Z999999/access-limitations",
    ],
)
def test_unknown_crn_is_a_json_404(sim: NdeliusSim, path: str) -> None:
    response = sim.get(path)
    assert response.status_code == 404
    assert response.json()["status"] == 404
    assert "Z999999" in response.json()["error"]


def test_crn_comes_from_other_ids_when_the_file_is_not_named_by_crn(
    start_ndelius: StartNdelius,
) -> None:
    sim = start_ndelius({"some-case": case_doc("X000009")})
    assert sim.get("/secure/offenders/crn/X000009/all").status_code == 200


def test_a_file_that_is_not_json_is_served_raw(start_ndelius: StartNdelius) -> None:
    raw = '{"offender": {"otherIds": {"crn": "X000003"'  # truncated
    sim = start_ndelius({"X000003": raw})
    for path in (
        "/secure/offenders/crn/X000003/all",
        "/secure/offenders/crn/X000003/registrations",
        "/case/X000003/contacts",
        "/case/X000003/access-limitations",
    ):
        response = sim.get(path)
        assert response.status_code == 200
        assert response.text == raw
        assert response.headers["content-type"] == "application/json"


def test_malformed_json_documents_are_not_repaired(start_ndelius: StartNdelius) -> None:
    broken = case_doc("X000004")
    broken["offender"]["dateOfBirth"] = "31/02/1980"
    broken["registrations"] = "not a list"
    sim = start_ndelius({"X000004": broken, "X000005": [1, 2], "X000006": "NaN"})
    assert sim.get("/secure/offenders/crn/X000004/all").json()["dateOfBirth"] == "31/02/1980"
    assert sim.get("/secure/offenders/crn/X000004/registrations").json() == {
        "registrations": "not a list"
    }
    assert sim.get("/secure/offenders/crn/X000005/all").json() == [1, 2]
    assert sim.get("/secure/offenders/crn/X000006/all").text == "NaN"


# -- MAPPA listing -------------------------------------------------------------------------


def _reg(reg_id: int, code: str = "MAPP", *, active: object = True) -> dict[str, Any]:
    return {"registrationId": reg_id, "type": {"code": code}, "active": active}


def test_mappa_cases_lists_active_mapp_registrations_sorted(
    start_ndelius: StartNdelius,
) -> None:
    cases: dict[str, Any] = {
        "X000009": case_doc("X000009"),
        "X000001": case_doc("X000001", registrations=[_reg(1, "AVIS"), _reg(2)]),
        "X000002": case_doc("X000002", registrations=[_reg(3, active=False)]),
        "X000003": case_doc("X000003", registrations=[_reg(4, "RVHR")]),
        "X000004": case_doc("X000004", registrations=[_reg(5, active="true")]),
        "X000005": case_doc("X000005", registrations={"MAPP": True}),
        "X000006": case_doc("X000006", registrations=[None, 7, {"type": "MAPP"}]),
        "X000007": "{not json",
        "X000008": [case_doc("X000008")],
    }
    sim = start_ndelius(cases)
    body = sim.get("/mappa/cases").json()
    assert [c["crn"] for c in body["content"]] == ["X000001", "X000009"]
    assert body["content"][0]["lastUpdated"] == "2026-01-05T09:00:00Z"
    assert (body["totalPages"], body["totalResults"]) == (1, 2)


def test_mappa_cases_pages_and_updates_last_updated(start_ndelius: StartNdelius) -> None:
    sim = start_ndelius({f"X00000{n}": case_doc(f"X00000{n}") for n in range(1, 6)})
    sim.clock.advance(90)
    sim.put_case("X000003", case_doc("X000003", contacts=[]))
    page = sim.get("/mappa/cases", page=1, size=2).json()
    assert page["content"] == [
        {"crn": "X000003", "lastUpdated": "2026-01-05T09:01:30Z"},
        {"crn": "X000004", "lastUpdated": "2026-01-05T09:00:00Z"},
    ]
    assert (page["totalPages"], page["totalResults"]) == (3, 5)


# -- the change feed -----------------------------------------------------------------------


def test_seed_appends_no_events_and_the_empty_feed_has_a_head(sim: NdeliusSim) -> None:
    assert sim.events() == {"events": [], "lastSequence": 0}


def test_new_case_yields_personal_details_and_registration_added(sim: NdeliusSim) -> None:
    sim.clock.advance(30)
    doc = case_doc("X000007")
    doc["registrations"].append(_reg(11, "AVIS"))
    assert sim.put_case("X000007", doc).status_code == 200
    feed = sim.events()
    assert feed["lastSequence"] == 3
    assert feed["events"][0] == {
        "sequence": 1,
        "eventType": "probation-case.personal-details.updated",
        "occurredAt": "2026-01-05T09:00:30Z",
        "personReference": {"identifiers": [{"type": "CRN", "value": "X000007"}]},
        "additionalInformation": {},
    }
    assert [(e["eventType"], e["additionalInformation"]) for e in feed["events"][1:]] == [
        ("probation-case.registration.added", {"registrationId": 10, "registerTypeCode": "MAPP"}),
        ("probation-case.registration.added", {"registrationId": 11, "registerTypeCode": "AVIS"}),
    ]
    assert sim.get("/secure/offenders/crn/X000007/all").json() == doc["offender"]


def test_after_and_limit_page_the_feed_while_last_sequence_stays_the_head(
    sim: NdeliusSim,
) -> None:
    for n in range(5):
        sim.put_case("X000001", case_doc("X000001", contacts=[{"id": n}]))
    assert sim.events()["lastSequence"] == 5
    page = sim.events(after=1, limit=2)
    assert [e["sequence"] for e in page["events"]] == [2, 3]
    assert page["lastSequence"] == 5
    assert sim.events(after=5) == {"events": [], "lastSequence": 5}
    assert sim.events(after=99)["lastSequence"] == 5


def _changed(doc: dict[str, Any], edit: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    new = copy.deepcopy(doc)
    edit(new)
    return new


def _set_addresses(addresses: list[dict[str, Any]]) -> Callable[[dict[str, Any]], None]:
    def edit(doc: dict[str, Any]) -> None:
        doc["offender"]["contactDetails"]["addresses"] = addresses

    return edit


def _set(*path_and_value: Any) -> Callable[[dict[str, Any]], None]:
    *path, value = path_and_value

    def edit(doc: dict[str, Any]) -> None:
        target = doc
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return edit


CHANGES: dict[str, tuple[Callable[[dict[str, Any]], None], list[tuple[str, dict[str, Any]]]]] = {
    "registration-added": (
        lambda d: d["registrations"].append(_reg(11, "AVIS")),
        [("probation-case.registration.added", {"registrationId": 11, "registerTypeCode": "AVIS"})],
    ),
    "registration-updated": (
        _set("registrations", 0, "registerLevel", {"code": "M2"}),
        [
            (
                "probation-case.registration.updated",
                {"registrationId": 10, "registerTypeCode": "MAPP"},
            )
        ],
    ),
    "registration-deregistered": (
        _set("registrations", 0, "active", False),
        [
            (
                "probation-case.registration.deregistered",
                {"registrationId": 10, "registerTypeCode": "MAPP"},
            )
        ],
    ),
    "registration-deleted": (
        _set("registrations", []),
        [
            (
                "probation-case.registration.deleted",
                {"registrationId": 10, "registerTypeCode": "MAPP"},
            )
        ],
    ),
    "address-created": (
        _set_addresses([{"id": 1, "postcode": "AB1 2CD", "status": {"code": "M"}}, {"id": 2}]),
        [("probation-case.address.created", {"addressId": 2})],
    ),
    "address-updated": (
        _set_addresses([{"id": 1, "postcode": "ZZ9 9ZZ", "status": {"code": "M"}}]),
        [("probation-case.address.updated", {"addressId": 1})],
    ),
    "address-deleted": (
        _set_addresses([]),
        [("probation-case.address.deleted", {"addressId": 1})],
    ),
    "manager-transferred": (
        _set("offender", "offenderManagers", 0, "staff", "code", "N07A002"),
        [("person.community.manager.transferred", {})],
    ),
    "personal-details": (
        _set("offender", "surname", "Renamed"),
        [("probation-case.personal-details.updated", {})],
    ),
    "aliases": (
        _set("offender", "offenderAliases", [{"id": "1", "surname": "Alias"}]),
        [("probation-case.personal-details.updated", {})],
    ),
    "mappa-information-created": (
        lambda d: d["contacts"].append({"id": 102, "visorContact": True}),
        [("probation-case.mappa-information.created", {"contactId": 102})],
    ),
    "mappa-information-updated": (
        _set("contacts", 0, "description", "MAPPA meeting (revised)"),
        [("probation-case.mappa-information.updated", {"contactId": 100})],
    ),
    "mappa-information-deleted": (
        _set("contacts", 0, "visorContact", False),
        [("probation-case.mappa-information.deleted", {"contactId": 100})],
    ),
    "nothing-classifiable": (
        _set("contacts", 1, "description", "a non-ViSOR contact"),
        [("probation-case.personal-details.updated", {})],
    ),
}


@pytest.mark.parametrize("change", list(CHANGES))
def test_each_kind_of_change_appends_its_event(sim: NdeliusSim, change: str) -> None:
    edit, expected = CHANGES[change]
    assert sim.put_case("X000001", _changed(case_doc("X000001"), edit)).status_code == 200
    feed = sim.events()["events"]
    assert [(e["eventType"], e["additionalInformation"]) for e in feed] == expected
    assert {e["personReference"]["identifiers"][0]["value"] for e in feed} == {"X000001"}


def test_manager_allocated_when_there_was_none(start_ndelius: StartNdelius) -> None:
    unallocated = case_doc("X000001")
    unallocated["offender"]["offenderManagers"] = []
    sim = start_ndelius({"X000001": unallocated})
    sim.put_case("X000001", case_doc("X000001"))
    assert sim.event_types() == ["person.community.manager.allocated"]


@pytest.mark.parametrize(
    "body",
    [
        "this is not JSON",
        json.dumps([1, 2, 3]),
        json.dumps({"offender": "nope", "registrations": {"x": 1}, "contacts": 7}),
        json.dumps(case_doc("X000001", registrations=[{"no": "id"}])),
        json.dumps(case_doc("X000001", contacts=[{"id": [1]}, {"id": [1]}])),
    ],
    ids=["not-json", "a-list", "wrong-types", "registration-without-id", "unhashable-ids"],
)
def test_malformed_upserts_never_fail_and_yield_personal_details(
    sim: NdeliusSim, body: str
) -> None:
    response = sim.put_case("X000001", body)
    assert response.status_code == 200
    assert "probation-case.personal-details.updated" in sim.event_types()
    # ... and the malformed document is what the case now serves
    served = sim.get("/secure/offenders/crn/X000001/all")
    assert served.status_code == 200
    if body == "this is not JSON":
        assert served.text == body
    # a malformed case is never listed and never breaks the listing
    assert sim.get("/mappa/cases").status_code == 200


def test_a_malformed_case_can_be_repaired_by_another_upsert(sim: NdeliusSim) -> None:
    sim.put_case("X000001", "garbage")
    sim.put_case("X000001", case_doc("X000001"))
    assert sim.event_types(after=1)[0] == "probation-case.personal-details.updated"
    assert [c["crn"] for c in sim.get("/mappa/cases").json()["content"]] == ["X000001"]


# -- delete, merge, reset -------------------------------------------------------------------


def test_delete_removes_the_case_and_appends_gdpr_deletion(sim: NdeliusSim) -> None:
    response = sim.http.delete("/__admin/cases/X000001")
    assert response.status_code == 200
    assert sim.get("/secure/offenders/crn/X000001/all").status_code == 404
    assert sim.event_types() == ["probation-case.deleted.gdpr"]
    assert sim.get("/mappa/cases").json()["content"] == []
    assert sim.http.delete("/__admin/cases/X000001").status_code == 404


def test_merge_moves_the_source_into_the_target(start_ndelius: StartNdelius) -> None:
    source = case_doc(
        "X000002",
        registrations=[_reg(20, "ARSO")],
        contacts=[{"id": 100, "visorContact": True}, {"id": 200, "visorContact": True}],
    )
    sim = start_ndelius({"X000001": case_doc("X000001"), "X000002": source})
    response = sim.http.post("/__admin/merge", json={"from": "X000002", "into": "X000001"})
    assert response.status_code == 200
    assert sim.get("/secure/offenders/crn/X000002/all").status_code == 404
    registrations = sim.get("/secure/offenders/crn/X000001/registrations").json()
    assert [r["registrationId"] for r in registrations["registrations"]] == [10, 20]
    contacts = sim.get("/case/X000001/contacts").json()["content"]
    assert [c["id"] for c in contacts] == [100, 200]
    [event] = sim.events()["events"]
    assert event["eventType"] == "probation-case.merge.completed"
    assert event["additionalInformation"] == {"sourceCRN": "X000002", "targetCRN": "X000001"}
    assert event["personReference"]["identifiers"] == [{"type": "CRN", "value": "X000001"}]


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"from": "X000002", "into": "Z999999"}, 404),
        ({"from": "Z999999", "into": "X000001"}, 404),
        ({"from": "X000001", "into": "X000001"}, 400),
        ({"from": "X000001"}, 400),
        ([1], 400),
    ],
)
def test_merge_refuses_bad_requests(sim: NdeliusSim, body: object, status: int) -> None:
    assert sim.http.post("/__admin/merge", json=body).status_code == status
    assert sim.events()["lastSequence"] == 0


def test_reset_goes_back_to_the_seed(sim: NdeliusSim) -> None:
    sim.put_case("X000007", case_doc("X000007"))
    sim.put_case("X000001", "garbage")
    sim.http.delete("/__admin/cases/X000002")
    sim.http.post("/__admin/faults", json={"path": "/events", "status": 500})
    assert sim.http.post("/__admin/reset").status_code == 200
    assert sim.events() == {"events": [], "lastSequence": 0}
    assert sim.get("/secure/offenders/crn/X000007/all").status_code == 404
    assert sim.get("/secure/offenders/crn/X000001/all").json() == case_doc("X000001")["offender"]
    assert sim.get("/secure/offenders/crn/X000002/all").status_code == 200
    sim.put_case("X000007", case_doc("X000007"))
    assert sim.events()["events"][0]["sequence"] == 1
