"""Administrator pages: sync runs and the retry set, failed submissions, configuration.

(The staff registry pages are in `admin_staff`.) Each page calls `AdminService`, which checks
the administrator and audits every change; after a change the page redirects
(Post/Redirect/Get) to itself with `?done=<key>`, and the banner text is chosen from a fixed
list by that key — nothing typed into the address bar is ever shown.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import RedirectResponse, Response

from bridge.core.vocabulary import long_datetime
from bridge.web.deps import Admin, PagesDep, SameSite, WiringDep, csrf_protect

__all__ = ["router"]

router = APIRouter(prefix="/admin", dependencies=[Depends(csrf_protect)], include_in_schema=False)

SYNC_DONE = {"retry": "The case will be read again at the next sync run"}
SUBMISSIONS_DONE = {
    "requeued": "The entry was requeued: the next submit run sends it again",
    "requeued-all": "Every failed entry was requeued: the next submit run sends them again",
}
RUN_TAGS = {
    "succeeded": "govuk-tag--green",
    "running": "govuk-tag--blue",
    "failed": "govuk-tag--red",
    "interrupted": "govuk-tag--orange",
    "stopped": "govuk-tag--yellow",
}


def long_time(value: datetime | None) -> str:
    """23 November 2026 at 9:30am GMT, in Europe/London (the vocabulary's)."""
    return long_datetime(value, zone=True)


def _done(request: Request, messages: dict[str, str]) -> str | None:
    return messages.get(request.query_params.get("done", ""))


@router.get("/sync")
def sync_page(request: Request, staff: Admin, wiring: WiringDep, pages: PagesDep) -> Response:
    runs = wiring.admin.sync_runs(actor=staff.code)
    retries = wiring.admin.retry_set(
        actor=staff.code, alert_attempts=wiring.settings.retry_alert_attempts
    )
    return pages.render(
        request,
        "admin/sync.html",
        {
            "title": "Sync runs and retries",
            "done": _done(request, SYNC_DONE),
            "runs": [
                {
                    **asdict(r),
                    "started": long_time(r.started_at),
                    "finished": long_time(r.finished_at),
                    "tag": RUN_TAGS.get(r.status, "govuk-tag--grey"),
                }
                for r in runs
            ],
            "retries": [
                {
                    **asdict(i),
                    "first_failed": long_time(i.first_failed_at),
                    "next_attempt": long_time(i.next_attempt_at),
                }
                for i in retries
            ],
        },
        staff=staff,
    )


@router.post("/sync/retry/{crn}")
def retry_now(
    staff: Admin, wiring: WiringDep, crn: Annotated[str, Path(max_length=16)]
) -> Response:
    wiring.admin.retry_now(crn.upper(), actor=staff.code)
    return RedirectResponse("/admin/sync?done=retry", status_code=303)


@router.get("/submissions", dependencies=[SameSite])
def submissions_page(
    request: Request, staff: Admin, wiring: WiringDep, pages: PagesDep
) -> Response:
    failed = wiring.admin.failed_submissions(actor=staff.code)
    return pages.render(
        request,
        "admin/submissions.html",
        {
            "title": "Failed submissions",
            "done": _done(request, SUBMISSIONS_DONE),
            "sink": wiring.settings.sink,
            "failed": [{**asdict(f), "failed": long_time(f.updated_at)} for f in failed],
        },
        staff=staff,
    )


@router.post("/submissions/requeue-all")
def requeue_all(staff: Admin, wiring: WiringDep) -> Response:
    wiring.requeue.requeue_all_failed(actor=staff.code)
    return RedirectResponse("/admin/submissions?done=requeued-all", status_code=303)


@router.post("/submissions/{entry_id}/requeue")
def requeue_one(staff: Admin, wiring: WiringDep, entry_id: int) -> Response:
    wiring.requeue.requeue(entry_id, actor=staff.code)
    return RedirectResponse("/admin/submissions?done=requeued", status_code=303)


@router.get("/config")
def config_page(request: Request, staff: Admin, wiring: WiringDep, pages: PagesDep) -> Response:
    return pages.render(
        request,
        "admin/config.html",
        {
            "title": "Configuration",
            "settings": wiring.admin.configuration(wiring.settings, actor=staff.code),
        },
        staff=staff,
    )
