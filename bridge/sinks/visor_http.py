"""The visor-http sink: POST each record to the ViSOR-like API (ARCHITECTURE.md §5).

Every send of one entry version carries the same `Idempotency-Key`, so a retry after a
timeout, or a re-send after a crash, is answered 200 with the first reference instead of
creating a second record. Retries happen inside the request (429, 408, 5xx, timeouts,
connection errors; `Retry-After` honoured; every wait capped and slept on the injected
clock). Logs carry entry ids, CRNs and status codes — never the record.
"""

from __future__ import annotations

from typing import Any

import httpx
import structlog
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt

from bridge.clock import Clock
from bridge.core.failure_text import allowlisted
from bridge.errors import SubmitRejected, SubmitUnavailable
from bridge.http_retry import Retryable, RetryWait, retry_after
from bridge.sinks import Delivery, idempotency_key
from bridge.store.models import Entry

__all__ = ["VisorHttpSink"]

log = structlog.get_logger(__name__)

#: Worth another attempt inside the request: the record was not (knowingly) processed.
RETRY_STATUS = frozenset({408, 429, 500, 502, 503, 504})
#: The record itself was refused: it fails until someone changes something and requeues it.
#: Other 4xx (401, 403, 404, 405…) say the sink is misconfigured, not that the record is bad:
#: those leave the entry for a later run and count towards the circuit breaker.
REJECT_STATUS = frozenset({400, 409, 413, 415, 422})


def _errors_of(response: httpx.Response) -> list[str]:
    """The server's error messages (`{"errors": [...]}` or `{"error": ...}`), as sent: they
    are never stored or shown but through `core.failure_text.allowlisted`."""
    try:
        body = response.json()
    except ValueError:
        return []
    found: list[Any] = []
    if isinstance(body, dict):
        errors = body.get("errors")
        found = errors if isinstance(errors, list) else [body.get("error")]
    return [str(e) for e in found if isinstance(e, str | int | float) and str(e)]


class VisorHttpSink:
    """Delivers records to ViSOR over HTTP; one instance per submit run."""

    name = "visor-http"
    acknowledges = True

    def __init__(
        self,
        base_url: str,
        *,
        clock: Clock,
        timeout: float = 10.0,
        attempts: int = 5,
        backoff_base: float = 0.5,
        max_wait: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._http = httpx.Client(
            base_url=base_url,
            timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
            transport=transport,
        )
        self._clock = clock
        self._attempts = attempts
        self._wait = RetryWait(base=backoff_base, max_wait=max_wait)
        self.requests = 0  # every POST made, for tests

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> VisorHttpSink:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # -- plumbing -----------------------------------------------------------------

    def _post(self, body: bytes, key: str) -> httpx.Response:
        self.requests += 1
        try:
            response = self._http.post(
                "/records",
                content=body,
                headers={"Idempotency-Key": key, "Content-Type": "application/xml"},
            )
        except httpx.TransportError as exc:  # timeouts included: the key makes a re-send safe
            raise Retryable(type(exc).__name__) from exc
        if response.status_code in RETRY_STATUS:
            raise Retryable(
                f"HTTP {response.status_code}",
                retry_after(response.headers.get("Retry-After"), self._clock.now()),
            )
        return response

    # -- the sink -------------------------------------------------------------------

    def deliver(self, entry: Entry) -> Delivery:
        """POST the entry's record; ViSOR's reference, or SubmitUnavailable / SubmitRejected."""
        assert entry.xml is not None
        key = idempotency_key(entry)

        def before_sleep(state: RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            log.warning(
                "submit.retry",
                entry_id=entry.id,
                crn=entry.crn,
                attempt=state.attempt_number,
                reason=str(exc),
                wait=state.upcoming_sleep,
            )

        try:
            for attempt in Retrying(
                sleep=self._clock.sleep,
                stop=stop_after_attempt(self._attempts),
                wait=self._wait,
                retry=retry_if_exception_type(Retryable),
                before_sleep=before_sleep,
                reraise=True,
            ):
                with attempt:
                    response = self._post(entry.xml.encode("utf-8"), key)
        except Retryable as exc:
            raise SubmitUnavailable(
                f"ViSOR did not take entry {entry.id} (CRN {entry.crn}) after "
                f"{self._attempts} attempt(s): {exc}. It is sent again, with the same key, "
                "on the next run.",
                entry_id=entry.id,
            ) from exc
        return self._outcome(entry, response)

    def _outcome(self, entry: Entry, response: httpx.Response) -> Delivery:
        status = response.status_code
        if status in (200, 201):
            try:
                body = response.json()
            except ValueError:
                body = None
            reference = body.get("reference") if isinstance(body, dict) else None
            if not isinstance(reference, str) or not reference.strip():
                # ViSOR has it but did not say under what reference: asking again with the
                # same key is answered with the reference, so this is only "not yet".
                raise SubmitUnavailable(
                    f"ViSOR answered HTTP {status} for entry {entry.id} without a reference; "
                    "it is asked again on the next run.",
                    entry_id=entry.id,
                )
            return Delivery(reference=reference.strip(), detail={"replayed": status == 200})
        if status in REJECT_STATUS:
            listing = allowlisted(_errors_of(response))
            raise SubmitRejected(
                f"ViSOR rejected the record (HTTP {status}): {listing}"[:500],
                entry_id=entry.id,
            )
        raise SubmitUnavailable(
            f"ViSOR answered HTTP {status} for entry {entry.id}: check BRIDGE_VISOR_URL and "
            "the sink's access; the entry is sent again on the next run.",
            entry_id=entry.id,
        )
