"""How uvicorn serves the web app: proxy headers only from the addresses an operator names, and
idle connections kept open longer than a load balancer keeps its own.

uvicorn trusts `X-Forwarded-For` / `X-Forwarded-Proto` from 127.0.0.1 by default, so behind
no proxy at all anyone on the machine (and, through a local forwarder, anyone) could pick the
client address the sign-in throttle counts by. `visor-bridge serve` turns proxy headers off
unless `--forwarded-allow-ips` names the reverse proxy's addresses (docs/operations.md).
"""

from __future__ import annotations

from typing import Any

__all__ = ["KEEP_ALIVE_SECONDS", "proxy_options", "serve_options"]

#: How long an idle HTTP connection stays open (uvicorn's default is 5 s). Longer than the idle
#: timeout of the load balancers in front of such services (60 s on AWS's and Azure's, 75 s on
#: nginx's keep-alive), so the balancer, not the bridge, closes an idle connection: a request
#: is never sent down a connection the bridge has just closed (a 502), and a person's next page
#: after a pause does not wait for a new connection.
KEEP_ALIVE_SECONDS = 75


def proxy_options(forwarded_allow_ips: str | None) -> dict[str, Any]:
    """uvicorn's keyword arguments for `--forwarded-allow-ips` (None or blank: trust none)."""
    ips = ",".join(p.strip() for p in (forwarded_allow_ips or "").split(",") if p.strip())
    if not ips:
        return {"proxy_headers": False, "forwarded_allow_ips": ""}
    return {"proxy_headers": True, "forwarded_allow_ips": ips}


def serve_options(
    forwarded_allow_ips: str | None, keep_alive: int = KEEP_ALIVE_SECONDS
) -> dict[str, Any]:
    """uvicorn's keyword arguments for `visor-bridge serve` (and the demo)."""
    return {**proxy_options(forwarded_allow_ips), "timeout_keep_alive": keep_alive}
