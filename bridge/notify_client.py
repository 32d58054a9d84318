"""GOV.UK Notify through its own client, `notifications-python-client` (maintained by Notify).

The client signs each request with a fresh JWT (HS256, `iss` = the key's service id, `iat`
now) and raises `HTTPError` with Notify's status and `errors`. This adapter adds what the
bridge needs around it: throttling (429) and server trouble (5xx, no connection) are retried
with tenacity — honouring Notify's rate limit ("… of N requests per S seconds": one request's
worth of the window, then doubling, capped) — sleeping through the injected `sleep`; a
permanent refusal of the message (any other 4xx) is `NotifyRefused` at once; a refused key
(401/403), the daily send limit, or trouble that outlasts the retries, is `NotifyUnavailable`
(the sender stops and tries later; no message is failed for it).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from notifications_python_client.errors import HTTPError
from notifications_python_client.notifications import NotificationsAPIClient
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt

from bridge.errors import ConfigError

__all__ = ["NotifyClient", "NotifyRefused", "NotifyUnavailable", "check_api_key"]

_UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
_KEY = re.compile(rf"^.+-{_UUID}-{_UUID}$")
_RATE = re.compile(r"of (\d+) requests per (\d+) seconds")


def check_api_key(key: str) -> None:
    """ConfigError unless `key` has Notify's format `{name}-{service id}-{secret}`."""
    if not _KEY.fullmatch(key.strip()):
        raise ConfigError(
            "BRIDGE_NOTIFY_API_KEY is not a GOV.UK Notify API key "
            "({name}-{service id}-{secret}, the last two UUIDs)."
        )


class NotifyRefused(Exception):
    """Notify refused the message for good (a 4xx other than 429): `reason` says why."""

    def __init__(self, status: int, error: str, message: str) -> None:
        self.status, self.error, self.message = status, error, message
        super().__init__(self.reason)

    @property
    def reason(self) -> str:
        return f"{self.status} {self.error}: {self.message}"[:200]


class NotifyUnavailable(Exception):
    """Notify could not be reached or kept throttling: try the message again later."""


class _Transient(Exception):
    def __init__(self, wait: float | None) -> None:
        super().__init__("transient")
        self.wait = wait


def _first_error(exc: HTTPError) -> tuple[str, str]:
    message = exc.message
    if isinstance(message, list) and message and isinstance(message[0], dict):
        return str(message[0].get("error", "")), str(message[0].get("message", ""))
    return "", str(message)


def _rate_wait(message: str) -> float | None:
    """Seconds per request of Notify's rate limit, from its 429 message."""
    found = _RATE.search(message)
    if found is None or int(found[1]) == 0:
        return None
    return int(found[2]) / int(found[1])


class NotifyClient:
    """Sends email through Notify and finds a notification by its reference."""

    def __init__(
        self,
        api_key: str,
        base_url: str,
        *,
        sleep: Callable[[float], None],
        timeout: float = 10.0,
        attempts: int = 8,
        max_wait: float = 60.0,
    ) -> None:
        check_api_key(api_key)
        self._api = NotificationsAPIClient(  # type: ignore[no-untyped-call]
            api_key.strip(), base_url=base_url, timeout=timeout
        )
        self._sleep = sleep
        self._attempts = attempts
        self._max_wait = max_wait
        self.waits: list[float] = []

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        base = exc.wait if isinstance(exc, _Transient) and exc.wait else 0.5
        return float(min(self._max_wait, base * 2 ** (state.attempt_number - 1)))

    def _pause(self, seconds: float) -> None:
        self.waits.append(seconds)
        self._sleep(seconds)

    def _call(self, fn: Callable[[], Any]) -> Any:
        def once() -> Any:
            try:
                return fn()
            except HTTPError as exc:
                status = exc.status_code
                error, message = _first_error(exc)
                if (status == 429 and error == "TooManyRequestsError") or status in (401, 403):
                    # The day's limit, or the key (revoked, wrong, the clock off by more than
                    # 30 s): no message is at fault, so none is failed; the run stops.
                    raise NotifyUnavailable(f"{status} {error}: {message}"[:200]) from exc
                if status == 429:
                    raise _Transient(_rate_wait(message)) from exc
                if status >= 500:
                    raise _Transient(None) from exc
                raise NotifyRefused(status, error, message) from exc

        retrying = Retrying(
            retry=retry_if_exception_type(_Transient),
            stop=stop_after_attempt(self._attempts),
            wait=self._wait,
            sleep=self._pause,
            reraise=True,
        )
        try:
            return retrying(once)
        except _Transient as exc:
            raise NotifyUnavailable("GOV.UK Notify kept refusing or could not be reached") from exc

    def send_email(
        self, address: str, template_id: str, personalisation: Mapping[str, str], reference: str
    ) -> str:
        """Send one email; Notify's notification id."""
        response = self._call(
            lambda: self._api.send_email_notification(  # type: ignore[no-untyped-call]
                email_address=address,
                template_id=template_id,
                personalisation=dict(personalisation),
                reference=reference,
            )
        )
        return str(response["id"])

    def find(self, reference: str) -> str | None:
        """The id of the email Notify holds under `reference`, or None (Notify does not
        deduplicate, so an unsure sender asks before sending again)."""
        response = self._call(
            lambda: self._api.get_all_notifications(  # type: ignore[no-untyped-call]
                reference=reference, template_type="email"
            )
        )
        found = response.get("notifications") or []
        return str(found[0]["id"]) if found else None

    def close(self) -> None:
        self._api.request_session.close()
