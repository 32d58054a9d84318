"""Client for the nDelius-like API: OAuth2 token cache, retries with backoff, paging.

Only CRNs and ids appear in logs and errors; bodies never do.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import httpx
import structlog
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt

from bridge.clock import Clock
from bridge.core.snapshot import CaseSnapshot, as_dict, as_list, as_str
from bridge.errors import (
    SourceDataError,
    SourceError,
    SourceNotFound,
    SourceUnavailable,
)
from bridge.http_retry import RETRY_STATUS, Retryable, RetryWait, retry_after

__all__ = ["ChangeEvent", "EventPage", "NdeliusClient", "TokenCache"]

log = structlog.get_logger(__name__)
_httpx_log = logging.getLogger("httpx")  # the line httpx.Client logs for each request


@dataclass(frozen=True, slots=True)
class ChangeEvent:
    """A thin change event: the sync always re-reads the case it names."""

    sequence: int
    event_type: str
    occurred_at: str | None
    crn: str | None
    info: dict[str, Any]


@dataclass(frozen=True, slots=True)
class EventPage:
    events: list[ChangeEvent]
    last_sequence: int


@dataclass(slots=True)
class TokenCache:
    """The client-credentials token, shared by every client a process makes (each scheduled
    sync makes one): a run that finds no events costs one event page, not a token too."""

    token: str | None = None
    expires: datetime | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)


class NdeliusClient:
    """Reads cases, registrations, contacts, access limits, the MAPPA listing and events."""

    def __init__(
        self,
        base_url: str,
        *,
        client_id: str,
        client_secret: str,
        clock: Clock,
        timeout: float = 10.0,
        attempts: int = 5,
        backoff_base: float = 0.5,
        max_wait: float = 30.0,
        max_connections: int = 10,
        transport: httpx.BaseTransport | None = None,
        tokens: TokenCache | None = None,
    ) -> None:
        # One client shared by the sync's reader threads (httpx.Client is thread-safe).
        self._http = httpx.Client(
            base_url=base_url,
            timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
            transport=transport,
            limits=httpx.Limits(
                max_connections=max_connections, max_keepalive_connections=max_connections
            ),
        )
        self._auth = (client_id, client_secret)
        self._clock = clock
        self._attempts = attempts
        self._wait = RetryWait(base=backoff_base, max_wait=max_wait)
        self._tokens = tokens if tokens is not None else TokenCache()
        self._token_lock = self._tokens.lock
        self._count_lock = threading.Lock()
        self.requests = 0  # every HTTP request made, for benchmarks and tests
        self.token_requests = 0  # ... of which token requests
        # A GET is built here once, not merged by the client each time (see `_send`).
        self._base = str(self._http.base_url).rstrip("/") + "/"
        self._headers = list(self._http.headers.raw)
        self._extensions = {"timeout": self._http.timeout.as_dict()}
        self.listed: int | None = None  # totalResults of the last MAPPA listing read

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> NdeliusClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # -- plumbing ---------------------------------------------------------------

    def _count(self) -> None:
        with self._count_lock:
            self.requests += 1

    def _send(self, path: str, params: dict[str, Any] | None, token: str) -> tuple[int, Any, bytes]:
        """One GET: (status, headers, body), the body read whole.

        What `httpx.Client.get` does, done directly: the request goes to the client's
        transport for its URL (proxy mounts included) with the client's default headers and
        timeouts, the client's event hooks run and its log line is written; what is left out
        is merging the base URL, parameters and headers anew and the cookie jar we never use,
        on every request (over a quarter of the reading process's HTTP CPU, see
        docs/BENCHMARKS.md).
        """
        url = self._base + path.lstrip("/")
        if params:
            url += "?" + urlencode(params)
        request = httpx.Request(
            "GET",
            url,
            headers=[*self._headers, (b"Authorization", f"Bearer {token}".encode())],
            extensions=self._extensions,
        )
        hooks = self._http.event_hooks
        for hook in hooks["request"]:
            hook(request)
        response = self._http._transport_for_url(request.url).handle_request(request)
        try:
            response.request = request
            if _httpx_log.isEnabledFor(logging.INFO):
                _httpx_log.info(
                    'HTTP Request: %s %s "%s %d %s"',
                    request.method,
                    request.url,
                    response.http_version,
                    response.status_code,
                    response.reason_phrase,
                )
            for hook in hooks["response"]:
                hook(response)
            content = response.read()
        finally:
            response.close()
        return response.status_code, response.headers, content

    def _fetch_token(self) -> str:
        self._count()
        self.token_requests += 1  # under the token lock
        try:
            r = self._http.post(
                "/auth/oauth/token", params={"grant_type": "client_credentials"}, auth=self._auth
            )
        except httpx.TransportError as exc:
            raise Retryable(f"token request failed: {type(exc).__name__}") from exc
        if r.status_code in RETRY_STATUS:
            raise Retryable(f"token request HTTP {r.status_code}")
        if r.status_code != 200:
            raise SourceError(
                f"nDelius refused the client credentials (HTTP {r.status_code}); check BRIDGE_NDELIUS_CLIENT_ID/SECRET.",
                status=r.status_code,
            )
        try:
            body = as_dict(r.json())
        except ValueError as exc:
            raise Retryable("token response was not JSON") from exc
        token = as_str(body.get("access_token"))
        if token is None:
            raise Retryable("token response had no access_token")
        expires_in = body.get("expires_in")
        ttl = float(expires_in) if isinstance(expires_in, int | float) else 60.0
        self._tokens.expires = self._clock.now() + timedelta(seconds=max(ttl - 30, ttl / 2))
        self._tokens.token = token
        return token

    def _token_now(self) -> str:
        with self._token_lock:  # reader threads share one token; only one fetches it
            token, expires = self._tokens.token, self._tokens.expires
            if token is None or expires is None or self._clock.now() >= expires:
                return self._fetch_token()
            return token

    def _once(self, path: str, params: dict[str, Any] | None, crn: str | None) -> Any:
        token = self._token_now()
        for refreshed in (False, True):
            self._count()
            try:
                status, headers, content = self._send(path, params, token)
            except httpx.TransportError as exc:
                raise Retryable(f"{type(exc).__name__}") from exc
            if status == 401 and not refreshed:
                with self._token_lock:  # expired or revoked: one refresh, then give up
                    token = self._fetch_token()
                continue
            break
        if status in RETRY_STATUS:
            raise Retryable(
                f"HTTP {status}",
                retry_after(headers.get("Retry-After"), self._clock.now()),
            )
        if status == 404:
            raise SourceNotFound(
                f"nDelius has no case {crn} (HTTP 404)"
                if crn
                else f"nDelius answered 404 for {path}",
                crn=crn,
                status=404,
            )
        if status >= 400:
            raise SourceError(
                f"nDelius answered HTTP {status} for {'case ' + crn if crn else path}",
                crn=crn,
                status=status,
            )
        try:
            return json.loads(content)
        except (ValueError, UnicodeDecodeError) as exc:
            # A truncated body is usually a transport fault: worth another attempt.
            raise Retryable("body was not valid JSON") from exc

    def _get(
        self, path: str, params: dict[str, Any] | None = None, *, crn: str | None = None
    ) -> Any:
        try:  # most reads succeed at once: no retry machinery for them
            return self._once(path, params, crn)
        except Retryable as exc:
            first = exc
        replay = [first]

        def attempt_once() -> Any:
            if replay:  # the retries start from the failure just seen, as its first attempt
                raise replay.pop()
            return self._once(path, params, crn)

        try:
            for attempt in Retrying(
                retry=retry_if_exception_type(Retryable),
                stop=stop_after_attempt(self._attempts),
                wait=self._wait,
                sleep=self._clock.sleep,
                reraise=True,
            ):
                with attempt:
                    return attempt_once()
        except Retryable as exc:
            what = f"case {crn}" if crn else path
            if str(exc) == "body was not valid JSON":
                raise SourceDataError(
                    f"nDelius sent malformed JSON for {what} after {self._attempts} attempts",
                    crn=crn,
                ) from exc
            raise SourceUnavailable(
                f"nDelius unavailable for {what} after {self._attempts} attempts: {exc}", crn=crn
            ) from exc
        raise AssertionError("unreachable")  # pragma: no cover

    # -- API --------------------------------------------------------------------

    def case(self, crn: str) -> CaseSnapshot:
        """Read everything the mapping needs for one CRN (four requests, more if contacts page)."""
        offender = self._get(f"/secure/offenders/crn/{crn}/all", crn=crn)
        registrations = self._get(f"/secure/offenders/crn/{crn}/registrations", crn=crn)
        contacts: list[Any] = []
        page = 0
        # No mappaCategories filter: a case whose MAPPA category is unknown (X9) is still in
        # scope, and its ViSOR-flagged contacts must not vanish because of that.
        while True:
            body = as_dict(
                self._get(
                    f"/case/{crn}/contacts",
                    {"page": page, "size": 100},
                    crn=crn,
                )
            )
            contacts.extend(as_list(body.get("content")))
            total = body.get("totalPages")
            page += 1
            if not isinstance(total, int) or page >= total:
                break
        access = self._get(f"/case/{crn}/access-limitations", crn=crn)
        if not isinstance(offender, dict):
            raise SourceDataError(
                f"nDelius sent an offender for case {crn} that is not a JSON object", crn=crn
            )
        return CaseSnapshot.from_parts(
            crn, offender=offender, registrations=registrations, contacts=contacts, access=access
        )

    def events(self, after: int, limit: int) -> EventPage:
        body = as_dict(self._get("/events", {"after": after, "limit": limit}))
        events = []
        for raw in as_list(body.get("events")):
            ev = as_dict(raw)
            seq = ev.get("sequence")
            if not isinstance(seq, int):
                raise SourceDataError("nDelius sent an event without an integer sequence")
            crn = None
            for ident in as_list(as_dict(ev.get("personReference")).get("identifiers")):
                if as_dict(ident).get("type") == "CRN":
                    crn = as_str(as_dict(ident).get("value"))
            events.append(
                ChangeEvent(
                    seq,
                    as_str(ev.get("eventType")) or "",
                    as_str(ev.get("occurredAt")),
                    crn,
                    as_dict(ev.get("additionalInformation")),
                )
            )
        last = body.get("lastSequence")
        if not isinstance(last, int):
            raise SourceDataError("nDelius sent an events page without an integer lastSequence")
        return EventPage(events, last)

    def head(self) -> int:
        """The newest sequence in the feed."""
        return self.events(after=2**62, limit=1).last_sequence

    def mappa_cases(self, page_size: int = 500) -> Iterator[str]:
        """Every CRN with an active MAPPA registration, page by page."""
        page = 0
        while True:
            body = as_dict(self._get("/mappa/cases", {"page": page, "size": page_size}))
            total_results = body.get("totalResults")
            if isinstance(total_results, int):
                self.listed = total_results
            for item in as_list(body.get("content")):
                crn = as_str(as_dict(item).get("crn"))
                if crn:
                    yield crn
            page += 1
            total = body.get("totalPages")
            if not isinstance(total, int) or page >= total:
                return
