"""Single sign-on in a real Chromium, end to end through the OIDC provider simulator.

The bridge and the simulator each run under uvicorn on a loopback port; the browser follows
every redirect itself (bridge → provider's sign-in form → bridge), so the cookies' SameSite
and path, the CSP's form-action on sign-out's redirect and the pages are all the real thing.
axe scans the bridge's pages (the simulator's are a stand-in for the organisation's).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import expect
from pydantic import SecretStr

from bridge.clock import FixedClock
from bridge.sim import oidc as oidc_sim
from bridge.sim.server import serve_in_thread
from tests.browser.conftest import LiveService, OpenTab
from tests.builders import ADMIN, PROXY, MakeWiring
from tests.loopback import local
from tests.web.conftest import set_passwords
from tests.web_app import create_app

pytestmark = pytest.mark.browser

CLIENT = ("bridge-browser", "bridge-browser-secret")
LAPSED = "N02P006"


@pytest.fixture
def provider(clock: FixedClock) -> Iterator[str]:
    app = oidc_sim.create_app(
        clock=clock,
        client_id=CLIENT[0],
        client_secret=CLIENT[1],
        users=(PROXY, LAPSED, ADMIN),
    )
    with serve_in_thread(app) as url:
        yield url


@pytest.fixture
def sso_service(make_wiring: MakeWiring, sqlite_url: str, provider: str) -> Iterator[LiveService]:
    wiring = make_wiring(
        sqlite_url,
        oidc_issuer=provider,
        oidc_client_id=CLIENT[0],
        oidc_client_secret=SecretStr(CLIENT[1]),
    )
    set_passwords(wiring)
    with serve_in_thread(create_app(wiring)) as url:
        yield LiveService(url, wiring)


def test_a_proxy_signs_in_and_out_through_the_organisation(
    sso_service: LiveService, provider: str, open_tab: OpenTab
) -> None:
    tab = open_tab(sso_service)
    tab.open("/login")
    tab.scan()  # the sign-in page offering both ways
    tab.page.get_by_role("button", name="Sign in with your organisation account").click()
    expect(tab.page).to_have_url(re.compile(re.escape(provider) + r"/authorize\?"))
    tab.page.get_by_label(PROXY).check()
    tab.page.get_by_role("button", name="Sign in").click()
    expect(tab.page).to_have_url(sso_service.url + "/tasks")
    expect(tab.page.get_by_role("button", name="Sign out")).to_be_visible()
    tab.scan()
    # Sign-out ends the bridge's session and the provider's, and comes back to sign-in.
    tab.page.get_by_role("button", name="Sign out").click()
    expect(tab.page).to_have_url(sso_service.url + "/login?signed_out=1")
    expect(tab.page.get_by_text("You have signed out.")).to_be_visible()
    tab.scan()
    assert [e["event"] for e in local.get(f"{provider}/__admin/log").json()] == ["end_session"]
    tab.open("/tasks")
    expect(tab.page).to_have_url(re.compile(re.escape(sso_service.url) + r"/login\?next="))


def test_an_unknown_staff_code_and_a_lapsed_proxy_get_the_right_pages(
    sso_service: LiveService, open_tab: OpenTab
) -> None:
    stranger = open_tab(sso_service)
    stranger.open("/login/oidc")
    stranger.page.get_by_label("Or another username").fill("Z99Z999")
    stranger.page.get_by_role("button", name="Sign in").click()
    expect(stranger.page.get_by_role("heading", level=1)).to_have_text(
        "Your account is not set up in visor-bridge"
    )
    stranger.scan()

    lapsed = open_tab(sso_service)
    lapsed.open("/login/oidc")
    lapsed.page.get_by_label(LAPSED).check()
    lapsed.page.get_by_role("button", name="Sign in").click()
    expect(lapsed.page.get_by_role("heading", level=1)).to_have_text("Your vetting has lapsed")
    lapsed.scan()


def test_a_tampered_token_is_refused(
    sso_service: LiveService, provider: str, open_tab: OpenTab
) -> None:
    local.post(f"{provider}/__admin/next-token", json={"tamper": "signature"}).raise_for_status()
    tab = open_tab(sso_service)
    tab.open("/login/oidc")
    tab.page.get_by_label(PROXY).check()
    tab.page.get_by_role("button", name="Sign in").click()
    expect(tab.page.get_by_role("heading", level=1)).to_have_text("You could not be signed in")
    tab.scan()
    tab.open("/tasks")
    expect(tab.page).to_have_url(re.compile(re.escape(sso_service.url) + r"/login\?next="))
