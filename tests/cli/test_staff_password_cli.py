"""`visor-bridge staff set-password CODE`: a hidden prompt asked twice, or one line on stdin."""

from __future__ import annotations

import io
import os
import select
import subprocess
import sys
import time

import pytest
from argon2 import PasswordHasher
from argon2.exceptions import VerificationError
from sqlmodel import Session, col, create_engine
from sqlmodel import select as sql_select

from bridge.store.models import AuditEvent, Staff
from tests.builders import PROXY_2, Cli

NEW = "a-long-new-passphrase"


def _stored(code: str) -> tuple[str | None, list[AuditEvent]]:
    """(password hash, password audit events) from the database the CLI used."""
    engine = create_engine(os.environ["BRIDGE_DATABASE_URL"])
    try:
        with Session(engine) as s:
            staff = s.get(Staff, code)
            events = list(
                s.exec(
                    sql_select(AuditEvent)
                    .where(AuditEvent.action == "account.password_set")
                    .order_by(col(AuditEvent.id))
                )
            )
            return (staff.password_hash if staff else None), events
    finally:
        engine.dispose()


def _verifies(stored: str | None, password: str) -> bool:
    assert stored is not None
    try:
        return PasswordHasher().verify(stored, password)
    except VerificationError:
        return False


def test_password_from_stdin(db_cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    assert _stored(PROXY_2)[0] is None
    monkeypatch.setattr(sys, "stdin", io.StringIO(NEW + "\n"))
    code, out, err = db_cli("staff", "set-password", PROXY_2.lower(), "--password-stdin")
    assert code == 0, err
    assert out == ""
    assert f"Password set for {PROXY_2}" in err
    assert NEW not in err
    stored, events = _stored(PROXY_2)
    assert _verifies(stored, NEW)
    assert not _verifies(stored, NEW + "x")
    assert [(e.actor, e.detail) for e in events] == [("system:cli", {"staff": PROXY_2})]


@pytest.mark.parametrize(
    ("code", "password", "message"),
    [
        (PROXY_2, "too-short", "at least 12 characters"),
        (PROXY_2, "", "at least 12 characters"),
        ("NOBODY9", NEW, "No staff member with code NOBODY9"),
    ],
)
def test_bad_input_exits_2_and_changes_nothing(
    cli: Cli, monkeypatch: pytest.MonkeyPatch, code: str, password: str, message: str
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(password + "\n"))
    exit_code, _, err = cli("staff", "set-password", code, "--password-stdin")
    assert exit_code == 2
    assert message in err
    assert "Traceback" not in err
    assert _stored(PROXY_2) == (None, [])


def _read_until(fd: int, wanted: str, seen: list[str], timeout: float = 30.0) -> None:
    """Read the terminal's output until `wanted` appears (select() waits; nothing sleeps)."""
    deadline = time.monotonic() + timeout
    while wanted not in "".join(seen):
        left = deadline - time.monotonic()
        assert left > 0, f"timed out waiting for {wanted!r}; got {''.join(seen)!r}"
        ready, _, _ = select.select([fd], [], [], left)
        if ready:
            try:
                chunk = os.read(fd, 1024)
            except OSError:  # the child closed the terminal
                break
            seen.append(chunk.decode("utf-8", "replace"))


@pytest.mark.subprocess
def test_the_hidden_prompt_asks_twice_and_does_not_echo(cli: Cli) -> None:
    """Run on a real pseudo-terminal, as a person would."""
    main, child = os.openpty()
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from bridge.cli import main; main()",
            "staff",
            "set-password",
            PROXY_2,
        ],
        stdin=child,
        stdout=child,
        stderr=child,
        start_new_session=True,  # no other controlling terminal: the prompt uses this one
        env=os.environ.copy(),
    )
    os.close(child)
    seen: list[str] = []
    try:
        # Click writes the prompt, then getpass turns echo off (flushing input) and writes
        # " ": only after that space may the password be typed.
        _read_until(main, "New password: ", seen)
        os.write(main, (NEW + "\n").encode())
        _read_until(main, "Repeat for confirmation: ", seen)
        os.write(main, (NEW + "\n").encode())
        _read_until(main, "Password set for", seen)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        os.close(main)
    assert NEW not in "".join(seen)  # never echoed
    assert _verifies(_stored(PROXY_2)[0], NEW)
