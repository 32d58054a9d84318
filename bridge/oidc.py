"""The OpenID Connect relying party: authorization code with PKCE (S256), ID token checked.

Authlib builds the authorization request (PKCE challenge, state, nonce) and the token
request; joserfc (Authlib's JOSE library) verifies the ID token: its RS256 signature against
the provider's JWKS, and its issuer, audience, expiry and nonce. The provider's discovery
document (`{issuer}/.well-known/openid-configuration`) is read once and kept, and so is its
key set, read again when a token names a key it does not hold (the provider rotated keys).

Only the staff code leaves this module (from the configured claim, upper-cased and trimmed as
staff codes are), with the raw ID token for the end-session request's `id_token_hint`: no
other claim is kept, logged or recorded. Refusals carry a reason from a fixed vocabulary.
"""

from __future__ import annotations

import hmac
import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
from authlib.common.security import generate_token
from authlib.oauth2.rfc6749.parameters import prepare_grant_uri, prepare_token_request
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from joserfc import jws, jwt
from joserfc.errors import (
    BadSignatureError,
    ExpiredTokenError,
    InvalidClaimError,
    JoseError,
    MissingClaimError,
)
from joserfc.jwk import KeySet

from bridge.clock import Clock
from bridge.errors import BridgeError

__all__ = ["Identity", "OidcClient", "OidcRefused", "OidcUnavailable", "Pending"]

#: Seconds of clock skew allowed between the provider and the bridge.
LEEWAY_SECONDS = 60
#: A token naming a key the bridge does not hold re-reads the key set at most this often, so
#: forged tokens cannot make the bridge hammer the provider.
JWKS_REFRESH_SECONDS = 60


class OidcUnavailable(BridgeError):
    """The identity provider could not be reached or answered nonsense (a 503 page)."""


class OidcRefused(Exception):
    """A sign-in through the provider refused; `reason` is one of a fixed vocabulary:
    provider_error, state_mismatch, token_exchange, signature, expired, issuer, audience,
    nonce, token_invalid, claim_missing."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


@dataclass(frozen=True)
class Pending:
    """What the browser is sent away with, and what must come back (kept in a signed cookie)."""

    url: str
    state: str
    nonce: str
    verifier: str


@dataclass(frozen=True)
class Identity:
    """Who the provider says signed in: the staff code, and the ID token (for sign-out only)."""

    staff_code: str
    id_token: str


class OidcClient:
    """One provider and this service's registration with it."""

    def __init__(
        self,
        *,
        issuer: str,
        client_id: str,
        client_secret: str,
        staff_claim: str,
        clock: Clock,
        timeout: float = 10.0,
        http: httpx.Client | None = None,
    ) -> None:
        self.issuer = issuer.rstrip("/")
        self.client_id = client_id
        self._secret = client_secret
        self.staff_claim = staff_claim
        self._clock = clock
        self._http = http or httpx.Client(timeout=timeout, follow_redirects=False)
        self._lock = threading.Lock()
        self._metadata: dict[str, Any] | None = None
        self._keys: KeySet | None = None
        self._keys_read_at: float | None = None

    def close(self) -> None:
        self._http.close()

    # -- the provider's documents ----------------------------------------------------------

    def _get_json(self, url: str) -> dict[str, Any]:
        try:
            response = self._http.get(url, headers={"accept": "application/json"})
            response.raise_for_status()
            body = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise OidcUnavailable(
                f"The identity provider did not answer ({type(exc).__name__})."
            ) from exc
        if not isinstance(body, dict):
            raise OidcUnavailable("The identity provider's answer was not a JSON object.")
        return body

    def metadata(self) -> dict[str, Any]:
        """The discovery document (read once); its issuer must be the configured one."""
        with self._lock:
            if self._metadata is None:
                doc = self._get_json(f"{self.issuer}/.well-known/openid-configuration")
                if str(doc.get("issuer", "")).rstrip("/") != self.issuer:
                    raise OidcUnavailable(
                        "The identity provider's discovery document names another issuer."
                    )
                for needed in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
                    if not isinstance(doc.get(needed), str):
                        raise OidcUnavailable(f"The discovery document has no {needed}.")
                self._metadata = doc
            return self._metadata

    def origins(self) -> list[str]:
        """The provider's web origins a sign-out form may be redirected to (the CSP's
        form-action): the issuer's, and the end-session endpoint's once it is known."""
        found = {_origin(self.issuer)}
        if self._metadata is not None and isinstance(
            self._metadata.get("end_session_endpoint"), str
        ):
            found.add(_origin(self._metadata["end_session_endpoint"]))
        return sorted(found)

    def _key_set(self, kid: str | None) -> KeySet:
        """The provider's keys; read again when a token names one not held (rotation)."""
        now = self._clock.now().timestamp()
        jwks_uri = str(self.metadata()["jwks_uri"])
        with self._lock:
            keys = self._keys
            unknown = keys is not None and kid is not None and all(k.kid != kid for k in keys)
            stale = self._keys_read_at is None or now - self._keys_read_at >= JWKS_REFRESH_SECONDS
            if keys is None or (unknown and stale):
                body = self._get_json(jwks_uri)
                try:
                    keys = KeySet.import_key_set(body)  # type: ignore[arg-type]
                except (JoseError, ValueError, TypeError, KeyError) as exc:
                    raise OidcUnavailable(
                        "The identity provider's key set could not be read."
                    ) from exc
                self._keys, self._keys_read_at = keys, now
            return keys

    # -- the flow ---------------------------------------------------------------------------

    def begin(self, redirect_uri: str) -> Pending:
        """The authorization request: a fresh state, nonce and PKCE verifier (S256)."""
        state, nonce, verifier = generate_token(32), generate_token(32), generate_token(64)
        url = prepare_grant_uri(
            str(self.metadata()["authorization_endpoint"]),
            client_id=self.client_id,
            response_type="code",
            redirect_uri=redirect_uri,
            scope="openid profile",
            state=state,
            nonce=nonce,
            code_challenge=create_s256_code_challenge(verifier),
            code_challenge_method="S256",
        )
        return Pending(url=url, state=state, nonce=nonce, verifier=verifier)

    def finish(self, params: dict[str, str], *, pending: Pending, redirect_uri: str) -> Identity:
        """The callback: state checked, the code exchanged (with the verifier), the ID token
        verified; OidcRefused with a reason otherwise."""
        if not hmac.compare_digest(params.get("state", ""), pending.state):
            raise OidcRefused("state_mismatch")
        if "error" in params or not params.get("code"):
            raise OidcRefused("provider_error")
        body = prepare_token_request(
            "authorization_code",
            redirect_uri=redirect_uri,
            code=params["code"],
            code_verifier=pending.verifier,
        )
        try:
            response = self._http.post(
                str(self.metadata()["token_endpoint"]),
                content=body,
                auth=(self.client_id, self._secret),
                headers={
                    "content-type": "application/x-www-form-urlencoded",
                    "accept": "application/json",
                },
            )
        except httpx.HTTPError as exc:
            raise OidcUnavailable("The identity provider did not answer.") from exc
        if response.status_code != 200:
            raise OidcRefused("token_exchange")
        try:
            id_token = response.json().get("id_token")
        except (ValueError, AttributeError):
            id_token = None
        if not isinstance(id_token, str):
            raise OidcRefused("token_exchange")
        claims = self.verify(id_token, nonce=pending.nonce)
        code = claims.get(self.staff_claim)
        if not isinstance(code, str) or not code.strip():
            raise OidcRefused("claim_missing")
        # Never cut to length: a longer claim whose start is someone's code is not that code.
        return Identity(staff_code=code.strip().upper(), id_token=id_token)

    def verify(self, id_token: str, *, nonce: str) -> dict[str, Any]:
        """The ID token's claims once its signature, issuer, audience, expiry and nonce hold."""
        try:
            kid = jws.extract_compact(id_token.encode()).headers().get("kid")
        except (JoseError, ValueError, AttributeError):
            raise OidcRefused("token_invalid") from None
        try:
            token = jwt.decode(id_token, self._key_set(kid), algorithms=["RS256"])
        except BadSignatureError:
            raise OidcRefused("signature") from None
        except (JoseError, ValueError):
            raise OidcRefused("token_invalid") from None
        claims = dict(token.claims)
        registry = jwt.JWTClaimsRegistry(
            now=int(self._clock.now().timestamp()),
            leeway=LEEWAY_SECONDS,
            iss={"essential": True, "value": self.issuer},
            aud={"essential": True, "value": self.client_id},
            sub={"essential": True},
            exp={"essential": True},
            iat={"essential": True},
            nonce={"essential": True, "value": nonce},
        )
        try:
            registry.validate(claims)
        except ExpiredTokenError:
            raise OidcRefused("expired") from None
        except (InvalidClaimError, MissingClaimError) as exc:
            claim = getattr(exc, "claim", "")
            reason = {"iss": "issuer", "aud": "audience", "nonce": "nonce", "exp": "expired"}
            raise OidcRefused(reason.get(claim, "token_invalid")) from None
        except JoseError:
            raise OidcRefused("token_invalid") from None
        # Several audiences: this client must be the authorized party (OIDC Core 3.1.3.7).
        azp = claims.get("azp")
        if isinstance(claims.get("aud"), list) and len(claims["aud"]) > 1 and azp != self.client_id:
            raise OidcRefused("audience")
        return claims

    def end_session_url(self, *, id_token: str | None, post_logout_redirect_uri: str) -> str | None:
        """Where to send the browser to end the provider's session too (None: it offers no
        end-session endpoint, or it cannot be reached)."""
        try:
            endpoint = self.metadata().get("end_session_endpoint")
        except OidcUnavailable:
            return None
        if not isinstance(endpoint, str):
            return None
        query: dict[str, str] = {
            "client_id": self.client_id,
            "post_logout_redirect_uri": post_logout_redirect_uri,
        }
        if id_token:
            query["id_token_hint"] = id_token
        sep = "&" if "?" in endpoint else "?"
        return f"{endpoint}{sep}{urlencode(query)}"


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"
