"""Links that keep the current query (the language switch, sorting, paging) are built from the
request's own path and query: no query argument can break a page (a 500) or point a link at
another site."""

from __future__ import annotations

import re

import pytest

HOSTILE = [
    "/login?endpoint=x",
    "/login?_scheme=javascript&_external=1",
    "/login?_external=1",
    "/login?_anchor=x&_method=POST",
    "/equipment?_anchor=x",
    "/equipment?_method=POST",
    "/equipment?_external=1&_scheme=javascript",
    "/equipment?endpoint=equipment.home&values=1",
    "/equipment?sort=-wear&item_id=1",
    "/equipment/{item}?item_id=1",  # a view argument's name
    "/equipment/500?item_id=1",  # and on the 404 page
    "/equipment/{item}/edit?item_id=2&_external=1",
    "/no-such-page?_external=1&endpoint=x",
]


def hrefs(page: str) -> list[str]:
    return re.findall(r'href="([^"]*)"', page)


@pytest.mark.parametrize("url", HOSTILE)
def test_query_arguments_never_break_a_page(client, world, login_as, url):
    headers = {"Host": "evil.example"}  # what an absolute link would take its host from
    if not url.startswith("/login"):
        login_as(world.eng_a)
        headers = {}  # the session cookie belongs to the test client's own host
    response = client.get(url.format(item=world.item_a.id), headers=headers)
    assert response.status_code in (200, 404), response.status_code
    page = response.get_data(as_text=True)
    assert "evil.example" not in page
    for href in hrefs(page):
        assert not href.startswith(("http:", "https:", "//", "javascript:")), href


def test_the_language_switch_keeps_the_other_arguments_encoded(client, world, login_as):
    login_as(world.eng_a)
    page = client.get("/equipment?q=котёл&device_type=crane&flag=critical&flag=warning")
    switch = [h for h in hrefs(page.get_data(as_text=True)) if "lang=en" in h]
    assert len(switch) == 1
    href = switch[0].replace("&amp;", "&")
    assert href.startswith("/equipment?")
    assert "q=%D0%BA%D0%BE%D1%82%D1%91%D0%BB" in href
    assert "flag=critical&flag=warning" in href and "device_type=crane" in href


def test_a_path_of_two_slashes_stays_on_this_site(client, world, login_as):
    login_as(world.eng_a)
    response = client.get("//evil.example/equipment")
    page = response.get_data(as_text=True)
    assert not any(h.startswith("//") for h in hrefs(page))
