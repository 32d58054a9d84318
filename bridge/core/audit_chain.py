"""The audit chain's arithmetic, pure: keys, key ids and the value that links each event.

Every event carries an HMAC-SHA-256 over all its other columns and the previous event's
value, keyed with a secret kept outside the database (`BRIDGE_AUDIT_KEY` or
`BRIDGE_AUDIT_KEY_FILE`). Whoever can write rows but does not hold the key cannot recompute
the chain after changing one. Each event names the key that signed it (`key_id`, a
fingerprint that reveals nothing of the key), so keys can rotate: the key file holds the
current key on its first line and earlier keys below it; all of them verify, the first signs.

Events written before the keyed chain existed (`key_id` NULL, plain SHA-256 over public
fields) are verified as they were written, up to the boundary the migration recorded; the
first keyed event's value covers the last of them, so they cannot be rewritten either.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

__all__ = [
    "DEV_AUDIT_KEY",
    "GENESIS",
    "MIN_KEY_BYTES",
    "AuditKey",
    "Keyring",
    "key_id",
    "keyed_value",
    "legacy_value",
]

GENESIS = "0" * 64
MIN_KEY_BYTES = 32
#: The development audit key (tests, the demo, `make run`); production refuses to start with it.
DEV_AUDIT_KEY = "dev-only-audit-key-not-for-production-use"


def key_id(secret: bytes) -> str:
    """A key's public name: a fingerprint from which the key cannot be recovered."""
    return hmac.new(secret, b"visor-bridge audit key id", hashlib.sha256).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class AuditKey:
    id: str
    secret: bytes = b""

    @staticmethod
    def of(secret: str | bytes) -> AuditKey:
        raw = secret.encode() if isinstance(secret, str) else secret
        return AuditKey(key_id(raw), raw)

    def __repr__(self) -> str:  # never print the secret
        return f"AuditKey({self.id!r})"


@dataclass(frozen=True, slots=True)
class Keyring:
    """The key that signs new events and every key that may verify old ones."""

    current: AuditKey
    previous: tuple[AuditKey, ...] = ()

    @staticmethod
    def of(secrets: Sequence[str | bytes]) -> Keyring:
        keys = [AuditKey.of(s) for s in secrets]
        return Keyring(keys[0], tuple(keys[1:]))

    @property
    def by_id(self) -> Mapping[str, AuditKey]:
        return {k.id: k for k in (self.current, *self.previous)}

    @property
    def is_development(self) -> bool:
        return self.current.id == key_id(DEV_AUDIT_KEY.encode())


def _payload(fields: Sequence[Any]) -> bytes:
    return json.dumps(list(fields), sort_keys=True, separators=(",", ":"), default=str).encode()


def keyed_value(
    key: AuditKey,
    prev: str,
    at: datetime,
    category: str,
    action: str,
    actor: str,
    crn: str | None,
    entry_id: int | None,
    detail: Mapping[str, Any],
) -> str:
    """The chain value of one event: HMAC-SHA-256 over every column, the key id and `prev`."""
    fields = [prev, key.id, at.isoformat(), category, action, actor, crn, entry_id, detail]
    return hmac.new(key.secret, _payload(fields), hashlib.sha256).hexdigest()


def legacy_value(
    prev: str,
    at: datetime,
    category: str,
    action: str,
    actor: str,
    crn: str | None,
    entry_id: int | None,
    detail: Mapping[str, Any],
) -> str:
    """The unkeyed SHA-256 of events written before migration 0003 (verification only)."""
    fields = [prev, at.isoformat(), category, action, actor, crn, entry_id, detail]
    return hashlib.sha256(_payload(fields)).hexdigest()
