"""The nDelius client's retry, token and error behaviour, through httpx transport handlers."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import pytest

from bridge.clock import FixedClock
from bridge.core.scope import access_of
from bridge.errors import SourceDataError, SourceError, SourceNotFound, SourceUnavailable
from bridge.ndelius import NdeliusClient

Handler = Callable[[httpx.Request], httpx.Response]
TOKEN = {"access_token": "t1", "token_type": "bearer", "expires_in": 300}
CASE_PATHS = ("/all", "/registrations", "/contacts", "/access-limitations")


def _client(handler: Handler, clock: FixedClock, **kw: object) -> NdeliusClient:
    options: dict[str, object] = {"max_wait": 30, **kw}
    return NdeliusClient(
        "http://ndelius.test",
        client_id="id",
        client_secret="secret",
        clock=clock,
        transport=httpx.MockTransport(handler),
        **options,  # type: ignore[arg-type]
    )


def _ok_case(request: httpx.Request) -> httpx.Response:
    path = request.url.path
    if path.endswith("/all"):
        return httpx.Response(200, json={"surname": "A"})
    if path.endswith("/registrations"):
        return httpx.Response(200, json={"registrations": []})
    if path.endswith("/contacts"):
        return httpx.Response(200, json={"content": [], "totalPages": 1, "totalResults": 0})
    return httpx.Response(200, json={"excludedFrom": ["N07P004"], "restrictedTo": []})


def routed(script: list[httpx.Response] | None = None, *, calls: list[str]) -> Handler:
    """Token requests always succeed; the first case read follows `script`, then all is well."""
    pending = list(script or [])

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        if request.url.path == "/auth/oauth/token":
            return httpx.Response(200, json=TOKEN)
        if pending and request.url.path.endswith("/all"):
            return pending.pop(0)
        return _ok_case(request)

    return handler


def test_reads_a_case_in_four_requests_after_one_token(clock: FixedClock) -> None:
    calls: list[str] = []
    with _client(routed(calls=calls), clock) as client:
        snap = client.case("X320741")
    assert snap.offender == {"surname": "A"}
    assert access_of(snap).excluded_from == ("N07P004",)
    assert calls[0] == "/auth/oauth/token"
    assert len(calls) == 5
    assert client.requests == 5


def test_429_honours_retry_after_and_503_backs_off_without_real_sleep(clock: FixedClock) -> None:
    calls: list[str] = []
    script = [httpx.Response(429, headers={"Retry-After": "7"}), httpx.Response(503)]
    with _client(routed(script, calls=calls), clock) as client:
        client.case("X320741")
    assert clock.slept[0] == 7.0
    assert len(clock.slept) == 2
    assert 0 < clock.slept[1] <= 30


def test_retry_after_is_capped_by_max_wait(clock: FixedClock) -> None:
    calls: list[str] = []
    script = [httpx.Response(503, headers={"Retry-After": "3600"})]
    with _client(routed(script, calls=calls), clock, max_wait=2) as client:
        client.case("X320741")
    assert clock.slept == [2.0]


def test_404_is_not_retried(clock: FixedClock) -> None:
    calls: list[str] = []
    with (
        _client(routed([httpx.Response(404, json={"status": 404})], calls=calls), clock) as client,
        pytest.raises(SourceNotFound) as err,
    ):
        client.case("X320741")
    assert err.value.crn == "X320741"
    assert clock.slept == []
    assert calls.count("/secure/offenders/crn/X320741/all") == 1


def test_other_4xx_fails_fast_with_the_status(clock: FixedClock) -> None:
    calls: list[str] = []
    with (
        _client(routed([httpx.Response(400)], calls=calls), clock) as client,
        pytest.raises(SourceError) as err,
    ):
        client.case("X320741")
    assert err.value.status == 400
    assert clock.slept == []


def test_persistent_5xx_becomes_source_unavailable_after_all_attempts(clock: FixedClock) -> None:
    calls: list[str] = []
    script = [httpx.Response(502)] * 10
    with (
        _client(routed(script, calls=calls), clock, attempts=3) as client,
        pytest.raises(SourceUnavailable) as err,
    ):
        client.case("X320741")
    assert "after 3 attempts" in str(err.value)
    assert calls.count("/secure/offenders/crn/X320741/all") == 3
    assert len(clock.slept) == 2


def test_truncated_json_is_retried_then_reported_as_data_error(clock: FixedClock) -> None:
    calls: list[str] = []
    truncated = httpx.Response(
        200, content=b'{"surname": "A', headers={"content-type": "application/json"}
    )
    with (
        _client(routed([truncated] * 5, calls=calls), clock, attempts=2) as client,
        pytest.raises(SourceDataError),
    ):
        client.case("X320741")
    calls.clear()
    with _client(routed([truncated], calls=calls), clock) as client:
        assert client.case("X320741").offender == {"surname": "A"}


def test_timeouts_are_retried(clock: FixedClock) -> None:
    attempts = {"n": 0}

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/auth/oauth/token":
            return httpx.Response(200, json=TOKEN)
        if request.url.path.endswith("/all") and attempts["n"] < 2:
            attempts["n"] += 1
            raise httpx.ReadTimeout("slow", request=request)
        return _ok_case(request)

    with _client(handler, clock) as client:
        client.case("X320741")
    assert attempts["n"] == 2
    assert len(clock.slept) == 2


def test_401_refreshes_the_token_once(clock: FixedClock) -> None:
    tokens = iter(["old", "new"])
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/auth/oauth/token":
            return httpx.Response(200, json={**TOKEN, "access_token": next(tokens)})
        seen.append(request.headers["authorization"])
        if request.headers["authorization"] == "Bearer old":
            return httpx.Response(401)
        return _ok_case(request)

    with _client(handler, clock) as client:
        client.case("X320741")
    assert seen[:2] == ["Bearer old", "Bearer new"]
    assert all(h == "Bearer new" for h in seen[1:])


def test_token_is_cached_until_near_expiry(clock: FixedClock) -> None:
    calls: list[str] = []
    with _client(routed(calls=calls), clock) as client:
        client.case("A000001")
        client.case("A000002")
        assert calls.count("/auth/oauth/token") == 1
        clock.advance(290)
        client.case("A000003")
        assert calls.count("/auth/oauth/token") == 2


def test_wrong_credentials_are_a_clear_error(clock: FixedClock) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401, json={"error": "invalid_client"})

    with _client(handler, clock) as client, pytest.raises(SourceError, match="CLIENT_ID/SECRET"):
        client.case("X320741")


def test_events_and_listing_pages(clock: FixedClock) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/auth/oauth/token":
            return httpx.Response(200, json=TOKEN)
        if request.url.path == "/mappa/cases":
            page = int(request.url.params["page"])
            content = [{"crn": f"A00000{page}", "lastUpdated": "2026-01-01"}]
            return httpx.Response(
                200, json={"content": content, "totalPages": 3, "totalResults": 3}
            )
        body = {
            "events": [
                {
                    "sequence": 5,
                    "eventType": "probation-case.address.created",
                    "occurredAt": "2026-01-02T10:00:00Z",
                    "personReference": {"identifiers": [{"type": "CRN", "value": "X320741"}]},
                    "additionalInformation": {},
                }
            ],
            "lastSequence": 9,
        }
        return httpx.Response(200, content=json.dumps(body).encode())

    with _client(handler, clock) as client:
        assert list(client.mappa_cases(page_size=1)) == ["A000000", "A000001", "A000002"]
        page = client.events(after=4, limit=10)
        assert page.last_sequence == 9
        assert [(e.sequence, e.crn) for e in page.events] == [(5, "X320741")]
        assert client.head() == 9


def test_events_without_sequence_are_a_data_error(clock: FixedClock) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/auth/oauth/token":
            return httpx.Response(200, json=TOKEN)
        return httpx.Response(200, json={"events": [{"eventType": "x"}], "lastSequence": 1})

    with _client(handler, clock) as client, pytest.raises(SourceDataError):
        client.events(after=0, limit=10)


def test_a_get_carries_the_token_and_default_headers_and_runs_the_event_hooks(
    clock: FixedClock,
) -> None:
    seen: list[httpx.Request] = []
    answered: list[int] = []
    handled: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        handled.append(request)
        return routed(calls=[])(request)

    with _client(handler, clock) as client:
        client._http.event_hooks = {
            "request": [seen.append],
            "response": [lambda r: answered.append(r.status_code)],
        }
        client.case("X320741")
    gets = [r for r in handled if r.method == "GET"]
    assert [str(r.url) for r in gets] == [
        "http://ndelius.test/secure/offenders/crn/X320741/all",
        "http://ndelius.test/secure/offenders/crn/X320741/registrations",
        "http://ndelius.test/case/X320741/contacts?page=0&size=100",
        "http://ndelius.test/case/X320741/access-limitations",
    ]
    for request in gets:
        assert request.headers["Authorization"] == "Bearer t1"
        assert request.headers["Host"] == "ndelius.test"
        assert request.headers["User-Agent"].startswith("python-httpx/")
    # The client's hooks still see every request (the token's too) and every answer.
    assert [r for r in seen if r.method == "GET"] == gets
    assert answered == [200] * 5


def test_a_get_is_logged_as_httpx_logs_it(
    clock: FixedClock, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level("INFO", logger="httpx"), _client(routed(calls=[]), clock) as client:
        client.case("X320741")
    lines = [r.getMessage() for r in caplog.records if r.name == "httpx"]
    assert (
        'HTTP Request: GET http://ndelius.test/case/X320741/access-limitations "HTTP/1.1 200 OK"'
        in lines
    )
    assert len(lines) == 5  # the token's POST (logged by httpx itself) and four GETs
