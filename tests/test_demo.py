"""`visor-bridge demo` (what `make run` starts) prints demo accounts that sign in to the queue."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.loopback import http_client, local

ROOT = Path(__file__).resolve().parent.parent


def _when_listening(client: httpx.Client, proc: subprocess.Popen[str]) -> httpx.Response:
    """GET /login once the demo's web server listens.

    The demo prints its banner, then starts uvicorn, which binds the port it chose: on a busy
    machine the first request can come before it listens (connection refused).
    """
    deadline = time.monotonic() + 30
    while True:
        try:
            return client.get("/login")
        except httpx.ConnectError:
            if time.monotonic() > deadline:
                raise
            try:
                proc.wait(timeout=0.05)
            except subprocess.TimeoutExpired:
                continue
            raise AssertionError(f"the demo exited {proc.returncode} before it listened") from None


@pytest.mark.slow
@pytest.mark.subprocess
def test_demo_prints_accounts_that_sign_in_to_the_queue(tmp_path: Path) -> None:
    bridge = Path(sys.executable).with_name("visor-bridge")
    env = {k: v for k, v in os.environ.items() if not k.startswith("BRIDGE_")}
    proc = subprocess.Popen(
        [str(bridge), "demo", "--dir", str(tmp_path / "demo"), "--port", "0", "--interval", "3600"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    try:
        url = password = None
        banner: list[str] = []
        assert proc.stdout is not None
        for line in proc.stdout:
            banner.append(line)
            if match := re.search(r"Web UI:\s+(\S+)", line):
                url = match.group(1)
            if match := re.search(r"password (\S+)\)", line):
                password = match.group(1)
            if "Ctrl-C stops everything" in line:
                break
        assert url, proc.stderr.read() if proc.stderr else "no output"
        assert password
        # The banner's commands name the venv's script by its full path (a bare `bridge` is
        # iproute2's network tool on Debian and Ubuntu).
        assert f"    {bridge} queue list" in "".join(banner)
        with http_client(base_url=url, timeout=5) as client:
            form = _when_listening(client, proc)
            token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
            assert token
            signed_in = client.post(
                "/login",
                data={"username": "N07P004", "password": password, "csrf_token": token.group(1)},
            )
            assert signed_in.status_code == 303
            page = client.get("/queue")
            assert page.status_code == 200
            assert "Queue" in page.text
            # The demo syncs before it serves: the queue has entries to open.
            assert re.search(r'href="/entries/\d+">[A-Z]\d{6}</a>', page.text), page.text[-2000:]
            assert page.headers["cache-control"] == "no-store"
        # ...and single sign-on through the demo's OIDC provider simulator.
        with http_client(base_url=url, timeout=5) as client:
            at_provider = client.get("/login/oidc", follow_redirects=True)
            assert "Test users" in at_provider.text
            fields = dict(re.findall(r"name='(\w+)' value='([^']*)'", at_provider.text))
            fields |= {"user": "N07P004", "action": "sign-in"}
            back = local.post(str(at_provider.url).split("?")[0], data=fields)
            assert back.status_code == 302
            landed = client.get(back.headers["location"])
            assert 'http-equiv="refresh" content="0; url=/"' in landed.text
            signed_in = client.get("/", follow_redirects=True)
            assert signed_in.status_code == 200
            assert "Sign out" in signed_in.text
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()
    assert proc.returncode in (0, -signal.SIGINT, 130)


def test_the_only_console_script_is_visor_bridge() -> None:
    from importlib.metadata import distribution

    scripts = {
        ep.name for ep in distribution("visor-bridge").entry_points if ep.group == "console_scripts"
    }
    assert scripts == {"visor-bridge"}
