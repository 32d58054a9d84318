"""Parts of a page rendered once per process (Pages.fragment) never carry what someone typed
or another person's navigation, and a page is the same whether its fragments were kept or not."""

from __future__ import annotations

from bridge.wiring import Wiring
from tests.builders import ADMIN, PROXY
from tests.web.conftest import Visitor


def test_a_search_is_never_kept_for_the_next_page(synced_wiring: Wiring, visitor: Visitor) -> None:
    visitor.sign_in(PROXY)
    empty = visitor.client.get("/tasks").text
    searched = visitor.client.get("/tasks?q=Zebedee").text
    assert 'value="Zebedee"' in searched
    again = visitor.client.get("/tasks").text
    assert "Zebedee" not in again
    assert again.count('name="q"') == empty.count('name="q"') == 1


def test_each_person_sees_their_own_navigation(
    synced_wiring: Wiring, new_visitor: type[Visitor]
) -> None:
    proxy, admin = new_visitor(), new_visitor()
    proxy.sign_in(PROXY)
    admin.sign_in(ADMIN)
    tasks = proxy.client.get("/tasks").text
    staff = admin.client.get("/admin/staff").text
    assert 'href="/admin/staff"' in staff
    assert 'href="/admin/staff"' not in tasks
    assert 'href="/tasks"' in tasks
    assert 'href="/tasks"' not in staff
    # The current area is marked in each person's own navigation, not the first one kept.
    assert tasks.count('aria-current="true"') == 1
    assert staff.count('aria-current="true"') == 1
    assert 'href="/tasks" aria-current="true"' in tasks
    assert proxy.client.get("/tasks").text.count('href="/admin/staff"') == 0
