"""Purposes and failure text: the pure rules that keep free text out of the audit log."""

from __future__ import annotations

import pytest

from bridge.core.failure_text import FAILED_PHRASE, reason_for, text_digest
from bridge.core.purposes import CHOSEN, PURPOSES, check_purpose, purpose_code
from bridge.errors import BadInput


def test_a_purpose_is_a_code_a_default_or_a_hash_never_text() -> None:
    assert purpose_code("Review ", "web:entry.view") == "review"
    assert purpose_code(None, "web:entry.view") == "web:entry.view"
    assert purpose_code("  ", "cli:entry.show") == "cli:entry.show"
    hashed = purpose_code("checking Mr Smith's address", "x")
    assert hashed.startswith("other:")
    assert len(hashed) == len("other:") + 16
    assert "Smith" not in hashed
    assert {code for code, _ in CHOSEN} < set(PURPOSES)


def test_the_cli_takes_only_codes() -> None:
    assert check_purpose(None) is None
    assert check_purpose("quality-check") == "quality-check"
    with pytest.raises(BadInput, match="--purpose must be one of"):
        check_purpose("because Smith asked")


def test_only_a_current_proxy_sees_a_failures_text() -> None:
    stored = "ViSOR rejected the record (HTTP 422): Surname: pattern"
    assert reason_for("failed", stored, proxy=True, shown=frozenset()) == stored
    assert reason_for("failed", stored, proxy=False, shown=frozenset({"failed"})) == FAILED_PHRASE
    assert reason_for("failed", None, proxy=True, shown=frozenset()) == FAILED_PHRASE
    assert reason_for("rejected", "fix it", proxy=False, shown=frozenset({"rejected"})) == "fix it"
    assert reason_for("accepted", "x", proxy=False, shown=frozenset({"rejected"})) is None
    assert text_digest(stored) == text_digest(stored)
    assert text_digest(None) is None
    assert "Surname" not in (text_digest(stored) or "")
