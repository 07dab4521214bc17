"""The query page in a real browser: headless Debian Chromium, driven by Playwright, against a live server.

The browser comes from ``conftest.browser_page``: skipped only when /usr/bin/chromium is absent and
``KGBUILD_CI`` is unset; in CI a missing browser fails.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from kgbuild.iris import Iris
from kgbuild.pipeline import build
from kgbuild.resources import queries_path
from kgbuild.server.app import named_queries
from kgbuild.sources import default_sources
from tests.server.conftest import make_settings, outside_hosts, running_server

EXAMPLE = "Granted ESF support and total budget per NUTS-2 region and programming period"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def test_query_page_runs_an_example_in_a_real_browser(server_url: str, browser_page: tuple[Any, list[str]],
                                                      tmp_path: Path) -> None:
    page, requested = browser_page
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))

    response = page.goto(f"{server_url}/")
    assert response is not None and response.status == 200

    # The examples come from /queries: one button per queries/*.rq, titled from its header.
    page.wait_for_selector("#examples[data-loaded='true']")
    buttons = page.locator("#examples button")
    expected = named_queries()
    assert buttons.count() == len(list(queries_path().glob("*.rq"))) == len(expected)
    assert buttons.all_inner_texts() == [q["title"] for q in expected]
    assert [buttons.nth(i).get_attribute("data-query") for i in range(buttons.count())] == \
        [q["name"] for q in expected]

    # YASGUI's editor is there, with CodeMirror's syntax highlighting.
    page.wait_for_selector("#yasgui .CodeMirror")
    assert page.locator("#yasgui .CodeMirror").count() == 1

    with page.expect_response(lambda r: urlsplit(r.url).path == "/sparql") as answer:
        page.locator("#examples button", has_text=EXAMPLE).click()
    assert answer.value.status == 200, answer.value.text()
    assert answer.value.request.method == "POST"

    page.wait_for_selector(".yasr table tbody tr")
    table = page.locator(".yasr table").inner_text()
    assert "SE11" in table and "Stockholm" in table
    assert "13857478" in table
    assert page.locator(".yasr table tbody tr").count() >= 2
    assert page.locator("#examples button.active").inner_text() == EXAMPLE
    keywords = page.locator("#yasgui .CodeMirror .cm-keyword").all_inner_texts()
    assert {"SELECT", "WHERE", "PREFIX"} <= {k.upper() for k in keywords}, keywords
    assert "Granted ESF support" in page.locator("#yasgui .CodeMirror").inner_text()

    screenshot = tmp_path / "query-page.png"
    page.screenshot(path=str(screenshot), full_page=True)
    data = screenshot.read_bytes()
    assert data.startswith(PNG_SIGNATURE) and len(data) > 10_000

    assert not errors, errors
    assert requested, "no request was recorded"
    assert not outside_hosts(requested), f"the page asked for other hosts: {outside_hosts(requested)}"


STORE_BASE = "https://data.example.org/kg/"


@pytest.fixture(scope="module")
def elsewhere_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled corpus minted under a base on another host: its IRIs' own links lead nowhere from here."""
    store = tmp_path_factory.mktemp("elsewhere-page") / "kgstore"
    assert build(default_sources(), store, Iris(STORE_BASE)).ok
    return store


def test_result_links_to_the_store_s_iris_open_on_this_server(elsewhere_store: Path,
                                                              browser_page: tuple[Any, list[str]]) -> None:
    """Issue 19.2: a result's link to one of the store's IRIs goes to the server the page came from."""
    page, requested = browser_page
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    with running_server(make_settings(elsewhere_store)) as url:
        assert page.goto(f"{url}/").status == 200
        page.wait_for_selector("#yasgui .CodeMirror")
        query = ('SELECT ?project WHERE { ?project <http://purl.org/dc/terms/title> ?title '
                 'FILTER(STR(?title) = "Värmlands Skolsamverkan") }')
        page.evaluate("query => { const tab = window.kgbuildYasgui.getTab(); tab.setQuery(query); tab.query(); }",
                      query)
        link = page.locator(".yasr table tbody a[href]").first
        link.wait_for()
        assert link.get_attribute("href") == STORE_BASE + "id/project/22-010-S04"
        with page.context.expect_page() as opened:
            link.click()
        resource = opened.value
        resource.wait_for_load_state()
        assert resource.url == f"{url}/id/project/22-010-S04"
        assert "Värmlands Skolsamverkan" in resource.title()
    assert not errors, errors
    assert not outside_hosts(requested), f"the page asked for other hosts: {outside_hosts(requested)}"
