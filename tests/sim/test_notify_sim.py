"""The GOV.UK Notify simulator checks what Notify checks, in Notify's order and shapes (§11):
no token → 401, a wrong key or a stale token → 403 (before the body is read), a missing
personalisation key → 400; a good send → 201 with Notify's response; lookup by reference."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import jwt
import pytest
from notifications_python_client.errors import HTTPError
from notifications_python_client.notifications import NotificationsAPIClient

from bridge.core.notify_kinds import NotifyKind, demo_template_id
from bridge.sim.notify import DEMO_API_KEY, create_app, parse_api_key
from bridge.sim.server import serve_in_thread
from tests.loopback import local

TEMPLATE = demo_template_id(NotifyKind.ENTRY_RETURNED)
GOOD = {"crn": "X123456", "link": "http://127.0.0.1:8000/cases/X123456"}


@pytest.fixture(scope="module")
def notify_sim() -> Iterator[str]:
    with serve_in_thread(create_app()) as url:
        yield url


@pytest.fixture
def sim(notify_sim: str) -> str:
    local.post(f"{notify_sim}/__admin/reset").raise_for_status()
    return notify_sim


def _token(secret: str, iss: str, iat: float) -> str:
    return jwt.encode({"iss": iss, "iat": int(iat)}, secret, algorithm="HS256")


def _post(sim: str, token: str | None, body: Any = None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return local.post(f"{sim}/v2/notifications/email", json=body, headers=headers)


def _error(response: httpx.Response) -> tuple[int, str, str]:
    body = response.json()
    assert body["status_code"] == response.status_code
    return response.status_code, body["errors"][0]["error"], body["errors"][0]["message"]


def test_a_send_through_notifys_own_client_gets_notifys_response(sim: str) -> None:
    client = NotificationsAPIClient(DEMO_API_KEY, base_url=sim)
    answer = client.send_email_notification(
        email_address="officer@justice.example",
        template_id=TEMPLATE,
        personalisation=GOOD,
        reference="vb-abc-1",
    )
    assert set(answer) >= {"id", "reference", "content", "uri", "template"}
    assert answer["reference"] == "vb-abc-1"
    assert "X123456" in answer["content"]["subject"]
    assert answer["template"]["id"] == TEMPLATE
    assert answer["uri"].endswith(f"/v2/notifications/{answer['id']}")
    found = client.get_all_notifications(reference="vb-abc-1", template_type="email")
    assert [n["id"] for n in found["notifications"]] == [answer["id"]]
    assert client.get_notification_by_id(answer["id"])["status"] == "delivered"
    assert client.get_all_notifications(reference="vb-none")["notifications"] == []
    sent = local.get(f"{sim}/__admin/sent").json()["notifications"]
    assert [(s["template_id"], s["personalisation"]) for s in sent] == [(TEMPLATE, GOOD)]


def test_no_token_is_401_and_authentication_comes_before_the_body(sim: str) -> None:
    assert _error(_post(sim, None, {"nonsense": True})) == (
        401,
        "AuthError",
        "Unauthorized: authentication token must be provided",
    )
    response = local.post(
        f"{sim}/v2/notifications/email", headers={"Authorization": "Basic abc"}, json={}
    )
    assert _error(response)[:2] == (401, "AuthError")


def test_a_wrong_key_or_a_stale_token_is_403(sim: str) -> None:
    _, service, secret = parse_api_key(DEMO_API_KEY)
    now = time.time()
    wrong_secret = _token(str(uuid.uuid4()), service, now)
    wrong_service = _token(secret, str(uuid.uuid4()), now)
    stale = _token(secret, service, now - 45)
    future = _token(secret, service, now + 45)
    for token in (wrong_secret, wrong_service, stale, future, "not-a-jwt"):
        status, error, _ = _error(_post(sim, token, {"nonsense": True}))
        assert (status, error) == (403, "AuthError"), token
    assert "30 seconds" in _error(_post(sim, stale))[2]
    # Inside the window is fine (Notify allows 30 s either way).
    ok = _post(
        sim,
        _token(secret, service, now - 20),
        {"template_id": TEMPLATE, "email_address": "a@b.example", "personalisation": GOOD},
    )
    assert ok.status_code == 201
    # The client with another service's key is refused the same way.
    other = f"other-{uuid.uuid4()}-{uuid.uuid4()}"
    with pytest.raises(HTTPError) as refused:
        NotificationsAPIClient(other, base_url=sim).send_email_notification(
            email_address="a@b.example", template_id=TEMPLATE, personalisation=GOOD
        )
    assert refused.value.status_code == 403


def test_missing_personalisation_and_bad_requests_are_400(sim: str) -> None:
    _, service, secret = parse_api_key(DEMO_API_KEY)
    token = _token(secret, service, time.time())
    missing = _post(
        sim,
        token,
        {
            "template_id": TEMPLATE,
            "email_address": "a@b.example",
            "personalisation": {"crn": "X123456"},
        },
    )
    assert _error(missing) == (400, "BadRequestError", "Missing personalisation: link")
    unknown = _post(sim, token, {"template_id": str(uuid.uuid4()), "email_address": "a@b.example"})
    assert _error(unknown) == (400, "BadRequestError", "Template not found")
    not_uuid = _post(sim, token, {"template_id": "x", "email_address": "a@b.example"})
    assert _error(not_uuid)[:2] == (400, "ValidationError")
    bad_address = _post(
        sim, token, {"template_id": TEMPLATE, "email_address": "nobody", "personalisation": GOOD}
    )
    assert _error(bad_address)[:2] == (400, "ValidationError")
    assert local.get(f"{sim}/__admin/sent").json()["notifications"] == []


def test_templates_can_be_added_and_a_malformed_key_is_refused(sim: str) -> None:
    template = str(uuid.uuid4())
    local.post(
        f"{sim}/__admin/templates", json={"id": template, "personalisation": ["count"]}
    ).raise_for_status()
    client = NotificationsAPIClient(DEMO_API_KEY, base_url=sim)
    with pytest.raises(HTTPError) as refused:
        client.send_email_notification(email_address="a@b.example", template_id=template)
    assert refused.value.status_code == 400
    client.send_email_notification(
        email_address="a@b.example", template_id=template, personalisation={"count": "3"}
    )
    with pytest.raises(ValueError):
        create_app(api_key="not-a-notify-key")
