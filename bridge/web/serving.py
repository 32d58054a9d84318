"""How uvicorn serves the web app: proxy headers only from the addresses an operator names.

uvicorn trusts `X-Forwarded-For` / `X-Forwarded-Proto` from 127.0.0.1 by default, so behind
no proxy at all anyone on the machine (and, through a local forwarder, anyone) could pick the
client address the sign-in throttle counts by. `visor-bridge serve` turns proxy headers off
unless `--forwarded-allow-ips` names the reverse proxy's addresses (docs/operations.md).
"""

from __future__ import annotations

from typing import Any

__all__ = ["proxy_options"]


def proxy_options(forwarded_allow_ips: str | None) -> dict[str, Any]:
    """uvicorn's keyword arguments for `--forwarded-allow-ips` (None or blank: trust none)."""
    ips = ",".join(p.strip() for p in (forwarded_allow_ips or "").split(",") if p.strip())
    if not ips:
        return {"proxy_headers": False, "forwarded_allow_ips": ""}
    return {"proxy_headers": True, "forwarded_allow_ips": ips}
