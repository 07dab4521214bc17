"""Server test fixtures: a store built by the real pipeline and a real uvicorn server on an ephemeral port."""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import uvicorn

from kgbuild.iris import Iris
from kgbuild.pipeline import build
from kgbuild.server.app import create_app
from kgbuild.settings import Settings, load_settings
from kgbuild.sources import default_sources
from kgbuild.store import StoreDirectory, open_generation

BASE = "http://127.0.0.1:8000/"
CHROMIUM = Path("/usr/bin/chromium")
# No name resolves but loopback's: should a request get past the route below, it still goes nowhere.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
                 "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"]
TIMEOUT_MS = 20_000


def make_settings(store: Path, **overrides: object) -> Settings:
    """Settings for a test server: the given store, defaults otherwise (the environment is ignored)."""
    settings = load_settings({"store": store}, environ={})
    return replace(settings, **overrides)  # type: ignore[arg-type]


@contextlib.contextmanager
def running_server(settings: Settings) -> Iterator[str]:
    """A real uvicorn server in a thread on 127.0.0.1 and a free port; yields its base URL."""
    config = uvicorn.Config(create_app(settings), host="127.0.0.1", port=0, log_level="warning",
                            lifespan="on", timeout_graceful_shutdown=2)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True, name="test-uvicorn")
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)


def local_count(store_dir: Path, query: str = "SELECT (COUNT(*) AS ?n) { ?s ?p ?o }") -> int:
    """A count made by the store itself, in this process (the default graph is the merge of its graphs)."""
    current = StoreDirectory(store_dir).current()
    assert current is not None
    return int(next(iter(open_generation(current, False).query(query)))[0].value)  # type: ignore[index,union-attr,arg-type]


def build_bundled(tmp_path_factory: pytest.TempPathFactory, name: str, base: str) -> Path:
    """The bundled corpus built by the real pipeline under ``base``, in a new folder named ``name``."""
    store = tmp_path_factory.mktemp(name) / "kgstore"
    report = build(default_sources(), store, Iris(base))
    assert report.ok, report.failures
    return store


@pytest.fixture(scope="session")
def bundled_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled corpus built once by the real pipeline (do not write to it: copy it first)."""
    return build_bundled(tmp_path_factory, "bundled", BASE)


@pytest.fixture(scope="module")
def client(server_url: str) -> Iterator[httpx.Client]:
    """An HTTP client of the shared server (a module may keep its own, with another time limit)."""
    with httpx.Client(base_url=server_url, timeout=30) as http:
        yield http


@pytest.fixture(scope="session")
def server_url(bundled_store: Path) -> Iterator[str]:
    """One shared server over the bundled store, default settings (5 s deadline for the test suite)."""
    with running_server(make_settings(bundled_store, query_timeout=5.0)) as url:
        yield url


def _require_browser() -> None:
    if CHROMIUM.exists():
        return
    message = f"{CHROMIUM} is not installed (apt-get install chromium)"
    if os.environ.get("KGBUILD_CI"):
        pytest.fail(message + "; KGBUILD_CI is set, so the browser tests must run")
    pytest.skip(message)


@pytest.fixture
def browser_page(tmp_path: Path) -> Iterator[tuple[Any, list[str]]]:
    """A page in a fresh headless Chromium profile, and every URL the browser asked for (nothing may leave).

    Skipped when /usr/bin/chromium or playwright is absent, unless ``KGBUILD_CI`` is set (then it fails).
    Playwright never downloads a browser here: it drives the system one through ``executable_path``.
    """
    _require_browser()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        if os.environ.get("KGBUILD_CI"):
            pytest.fail("playwright is not installed; KGBUILD_CI is set, so the browser tests must run")
        pytest.skip("playwright is not installed (pip install playwright; never `playwright install`)")
    requested: list[str] = []

    def route(route: Any) -> None:
        url = route.request.url
        requested.append(url)
        if urlsplit(url).hostname == "127.0.0.1":
            route.continue_()
        else:  # record it (the test fails on it) but never let it out
            route.abort()

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path / "profile"), executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS,
            viewport={"width": 1280, "height": 900})
        try:
            context.route("**/*", route)
            context.on("request", lambda request: requested.append(request.url))
            page = context.new_page()
            page.set_default_timeout(TIMEOUT_MS)
            yield page, requested
        finally:
            context.close()


def outside_hosts(requested: list[str]) -> list[str]:
    """The URLs of those a browser asked for that name a host other than 127.0.0.1 (data: and blob: are local)."""
    return sorted({url for url in requested
                   if urlsplit(url).scheme not in ("data", "blob") and urlsplit(url).hostname != "127.0.0.1"})
