"""`bridge demo` (what `make run` starts) shows a non-empty queue within seconds."""

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

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_demo_serves_a_non_empty_queue_within_15_seconds(tmp_path: Path) -> None:
    bridge = Path(sys.executable).with_name("bridge")
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
        started = time.monotonic()
        url = None
        assert proc.stdout is not None
        for line in proc.stdout:
            match = re.search(r"Web UI \(review queue\):\s+(\S+)", line)
            if match:
                url = match.group(1)
                break
        assert url, proc.stderr.read() if proc.stderr else "no output"
        rows: list[dict[str, object]] = []
        while time.monotonic() - started < 15 and not rows:
            try:
                rows = httpx.get(f"{url}api/queue", timeout=2).json()
            except httpx.TransportError:
                time.sleep(0.2)
        assert rows, "the demo queue stayed empty for 15 s"
        page = httpx.get(url, timeout=2)
        assert page.status_code == 200
        assert "Review queue" in page.text
        assert page.headers["cache-control"] == "no-store"
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
