"""FastAPI dependencies: the wiring, the signed-in person, role checks and the CSRF check.

Pages hold no rules: these only say who is asking. What they may do with an entry is decided
by the services (vetting, exclusions, claims), whose refusals the error translator renders.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request

from bridge.core.lifecycle import Role, has_current_vetting, local_date
from bridge.services.views import Person
from bridge.web.session import BrowserTokens
from bridge.web.templating import Pages
from bridge.wiring import Wiring

__all__ = [
    "CrossSiteView",
    "CsrfFailed",
    "Forbidden",
    "SignInRequired",
    "VettingLapsed",
    "vetted_proxy",
    "csrf_protect",
    "current_staff",
    "get_pages",
    "get_wiring",
    "local_path",
    "require_role",
    "same_site_view",
]


class SignInRequired(Exception):
    """Nobody is signed in (pages redirect to /login; the API answers 401)."""


class Forbidden(Exception):
    """Signed in, but without the role this area needs (403; says nothing about any case)."""


class VettingLapsed(Forbidden):
    """A proxy whose vetting has lapsed: a page that says so and whom to contact (403)."""


class CsrfFailed(Exception):
    """A form post without a valid CSRF token (403)."""


class CrossSiteView(Forbidden):
    """A request for an audited view that another site started (403, nothing recorded)."""


#: `Sec-Fetch-Site` values of a request this service's own pages (or the person) started.
_OWN_SITE = frozenset({"same-origin", "none"})


async def same_site_view(request: Request) -> None:
    """Refuse an audited view of content that another site's page started.

    A link or image on another site would otherwise record a consultation in the signed-in
    person's name. Browsers send `Sec-Fetch-Site`; when present it must be `same-origin`
    (our own pages) or `none` (typed, bookmarked). Clients that send no such header (the
    API's scripts, older browsers) are not refused: the header is what a forged view has.
    """
    site = request.headers.get("sec-fetch-site")
    if site is not None and site.strip().lower() not in _OWN_SITE:
        raise CrossSiteView()


def local_path(target: str | None) -> str:
    """`target` if it is a path on this service, else "/": no open redirect after sign-in."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


def get_wiring(request: Request) -> Wiring:
    wiring: Wiring = request.app.state.wiring
    return wiring


def get_pages(request: Request) -> Pages:
    pages: Pages = request.app.state.pages
    return pages


def current_staff(request: Request) -> Person | None:
    """The signed-in staff member, resolved once per request."""
    if not hasattr(request.state, "staff"):
        token = getattr(request.state, "browser_token", None)
        if getattr(request.state, "browser_token_new", False):
            token = None  # minted for this request: no session can hold it
        lapsed: list[str] = []
        request.state.staff = (
            get_wiring(request).accounts.session_staff(token, lapsed=lapsed)
            if token is not None
            else None
        )
        request.state.lapsed_staff = lapsed[0] if lapsed else None
    staff: Person | None = request.state.staff
    return staff


def signed_in(request: Request) -> Person:
    staff = current_staff(request)
    if staff is None:
        raise SignInRequired()
    return staff


def require_role(role: str) -> Callable[[Request], Person]:
    """A dependency: the signed-in staff member, who must hold `role`."""

    def dependency(request: Request) -> Person:
        staff = signed_in(request)
        if role not in staff.roles:
            raise Forbidden()
        return staff

    return dependency


async def csrf_protect(request: Request) -> None:
    """Every form post carries `csrf_token` matching this browser's token, or gets 403."""
    if request.method != "POST":
        return
    form = await request.form()  # Starlette caches the parsed form for the endpoint
    tokens: BrowserTokens = request.app.state.tokens
    token = getattr(request.state, "browser_token", None)
    submitted = form.get("csrf_token")
    # What the form carried, for a form held when the session has just ended (routes/held.py).
    request.state.posted = {k: v for k, v in form.items() if isinstance(v, str)}
    if token is None or not tokens.csrf_ok(
        token, submitted if isinstance(submitted, str) else None
    ):
        await form.close()  # a refused upload's temporary file is not left open
        raise CsrfFailed()


def vetted_proxy(request: Request) -> Person:
    """A proxy with current vetting (the task pages); VettingLapsed for one whose has lapsed."""
    staff = require_role(Role.PROXY)(request)
    if not has_current_vetting(staff, local_date(get_wiring(request).clock.now())):
        raise VettingLapsed()
    return staff


# FastAPI runs a plain `def` dependency in the thread pool: a hand-off to a worker thread and
# back on every request. These only read the app's state, so they run on the event loop.
async def _wiring_dependency(request: Request) -> Wiring:
    return get_wiring(request)


async def _pages_dependency(request: Request) -> Pages:
    return get_pages(request)


SignedIn = Annotated[Person, Depends(signed_in)]
VettedProxy = Annotated[Person, Depends(vetted_proxy)]
Proxy = Annotated[Person, Depends(require_role(Role.PROXY))]
OffenderManager = Annotated[Person, Depends(require_role(Role.OFFENDER_MANAGER))]
Admin = Annotated[Person, Depends(require_role(Role.ADMIN))]
WiringDep = Annotated[Wiring, Depends(_wiring_dependency)]
PagesDep = Annotated[Pages, Depends(_pages_dependency)]
#: Put on every route that shows content or is recorded as a consultation.
SameSite = Depends(same_site_view)
