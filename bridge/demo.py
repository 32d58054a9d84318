"""`visor-bridge demo`: the simulators (nDelius, ViSOR, an OIDC provider), a seeded SQLite store,
the scheduler and the web UI, on loopback."""

from __future__ import annotations

import json
import secrets
import signal
import socket
import sys
import threading
from contextlib import ExitStack
from pathlib import Path

import uvicorn
from pydantic import SecretStr

from bridge.clock import SystemClock
from bridge.config import Settings, default_mappings_dir
from bridge.core.audit_events import DEMO as DEMO_ACTOR
from bridge.core.lifecycle import State
from bridge.core.notify_kinds import NotifyKind, demo_template_id
from bridge.scheduler import build_scheduler, sync_job
from bridge.sim import ndelius as ndelius_sim
from bridge.sim import notify as notify_sim
from bridge.sim import oidc as oidc_sim
from bridge.sim import visor as visor_sim
from bridge.sim.server import serve_in_thread
from bridge.web.app import create_app
from bridge.web.serving import serve_options
from bridge.wiring import Wiring

__all__ = ["DEMO_ACCOUNTS", "fixtures_dir", "run_demo"]

#: The fixture staff the demo signs people in as, one per kind of user.
DEMO_ACCOUNTS = (
    ("N07P004", "a vetted proxy (works the queue)"),
    ("N07P005", "another vetted proxy"),
    ("N07A001", "an offender manager who needs a proxy (sees status only)"),
    ("ADM0001", "an administrator (staff, sync, submissions, configuration)"),
    ("N07M001", "a manager of team N07CHT (workload and backlog, never record content)"),
    ("N02P006", "a proxy whose vetting has expired (refused)"),
)


def fixtures_dir() -> Path:
    return Path(__file__).resolve().parent.parent / "fixtures"


def _free_port(preferred: int) -> int:
    """`preferred` if it is free, else (or when 0) any free loopback port."""
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", preferred))
        except OSError:
            s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def command_path() -> str:
    """The full path of the venv's `visor-bridge` script, so the banner's commands work from any
    shell (on Debian and Ubuntu a bare `bridge` is iproute2's network tool)."""
    script = Path(sys.executable).with_name("visor-bridge")
    return str(script) if script.exists() else "visor-bridge"


def _say(text: str) -> None:
    print(text, flush=True)  # noqa: T201 - the demo's own console output


def _staff_with_addresses(fixtures: Path, folder: Path) -> Path:
    """The fixture staff file with a made-up address for everyone, so messages flow."""
    data = json.loads((fixtures / "staff.json").read_text(encoding="utf-8"))
    for person in data["staff"]:
        person.setdefault("email", f"{person['code'].lower()}@demo.example")
    path = folder / "staff.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def run_demo(*, folder: Path, web_port: int, interval: int) -> None:
    clock = SystemClock()
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    fixtures = fixtures_dir()
    client_id, client_secret = "bridge-demo", secrets.token_urlsafe(16)
    with ExitStack() as stack:
        nd_url = stack.enter_context(
            serve_in_thread(
                ndelius_sim.create_app(
                    cases_dir=fixtures / "ndelius",
                    client_id=client_id,
                    client_secret=client_secret,
                    clock=clock,
                )
            )
        )
        vi_url = stack.enter_context(
            serve_in_thread(
                visor_sim.create_app(
                    schema_path=default_mappings_dir() / "visor-record.xsd", clock=clock
                )
            )
        )
        no_url = stack.enter_context(serve_in_thread(notify_sim.create_app()))
        # The organisation's sign-in, simulated: the web port is chosen first, so the
        # simulator knows the one redirect URI it accepts.
        port = _free_port(web_port)
        sso_id, sso_secret = "bridge-demo-sso", secrets.token_urlsafe(16)
        sso_url = stack.enter_context(
            serve_in_thread(
                oidc_sim.create_app(
                    clock=clock,
                    client_id=sso_id,
                    client_secret=sso_secret,
                    redirect_uris=(f"http://127.0.0.1:{port}/login/oidc/callback",),
                    users=tuple(code for code, _ in DEMO_ACCOUNTS),
                )
            )
        )
        settings = Settings(
            environment="development",
            database_url=f"sqlite:///{(folder / 'bridge.db').resolve()}",
            ndelius_url=nd_url,
            ndelius_client_id=client_id,
            ndelius_client_secret=SecretStr(client_secret),
            visor_url=vi_url,
            secret_key=SecretStr(secrets.token_urlsafe(32)),
            sync_interval_seconds=interval,
            retry_base_seconds=5,
            http_max_wait_seconds=2,
            oidc_issuer=sso_url,
            oidc_client_id=sso_id,
            oidc_client_secret=SecretStr(sso_secret),
            local_passwords=True,  # the demo offers both ways to sign in
            notify_api_key=SecretStr(notify_sim.DEMO_API_KEY),
            notify_url=no_url,
            notify_service_url=f"http://127.0.0.1:{port}",
            notify_send_interval_seconds=10,
        )
        settings = settings.model_copy(
            update={f"notify_template_{kind.value}": demo_template_id(kind) for kind in NotifyKind}
        )
        wiring = Wiring(settings, clock=clock)
        stack.callback(wiring.close)
        wiring.migrate()
        wiring.staff.import_file(_staff_with_addresses(fixtures, folder), actor=DEMO_ACTOR)
        # Demo accounts, one per role, all with one password made up for this run.
        demo_password = "demo-" + secrets.token_urlsafe(9)
        for code in (code for code, _ in DEMO_ACCOUNTS):
            wiring.accounts.set_password(code, demo_password, actor=DEMO_ACTOR)
        sync_job(wiring)
        sched = build_scheduler(wiring, interval_seconds=interval)
        sched.start()
        stack.callback(sched.shutdown, wait=False)
        server = uvicorn.Server(
            uvicorn.Config(
                create_app(wiring),
                host="127.0.0.1",
                port=port,
                log_level="warning",
                **serve_options(None),
            )
        )
        queued = len(wiring.queue.listing(State.PENDING))
        cmd = command_path()
        accounts = "\n".join(f"    {code:<9} {who}" for code, who in DEMO_ACCOUNTS)
        _say(
            f"\nvisor-bridge demo\n"
            f"  Web UI:                 http://127.0.0.1:{port}/\n"
            f"  Sign in as (password {demo_password}):\n{accounts}\n"
            f"  or choose one of them at 'Sign in with your organisation account'\n"
            f"  OIDC provider simulator: {sso_url}\n"
            f"  nDelius simulator:      {nd_url}\n"
            f"  ViSOR simulator:        {vi_url}\n"
            f"  GOV.UK Notify simulator: {no_url} (messages sent: {no_url}/__admin/sent)\n"
            f"  Database:               {folder / 'bridge.db'}\n"
            f"  Entries waiting:        {queued} (a sync runs every {interval} s)\n\n"
            f"  Try, in another terminal (same folder):\n"
            f"    export BRIDGE_ENVIRONMENT=development\n"
            f"    export BRIDGE_DATABASE_URL=sqlite:///{(folder / 'bridge.db').resolve()}\n"
            f"    {cmd} queue list\n"
            f"    {cmd} queue claim-next --as N07P004      # a vetted proxy\n"
            f"    {cmd} entry show ID --as N07P004\n"
            f"    {cmd} status CRN --as N07A001            # an offender manager who needs a proxy\n"
            f"    {cmd} entry show ID --as N02P006         # vetting expired: refused\n\n"
            f"  Ctrl-C stops everything.\n"
        )
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        server.run()  # returns on Ctrl-C (uvicorn handles SIGINT)
