"""The web UI served by the real ``memory-core ui`` command, driven in a headless Chromium.

The browser loads the overview, runs a search by typing into the search box (htmx swaps
the results in), opens an episode and then a pattern by clicking links, takes a screenshot
of each page and must see no console error, failed load or blocked resource on the way.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs

import pytest
from tests.support.chromium import Browser
from tests.support.ui_seed import NAMESPACE, Seeded

TOKEN = "browser-test-token"
PNG = b"\x89PNG\r\n\x1a\n"


def free_port() -> int:
    """A TCP port nothing listens on right now (loopback)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def cli_env(home: Path) -> dict[str, str]:
    """The environment for the CLI: no MEMORY_CORE_* settings leaking in."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEMORY_CORE_")}
    env.update(MEMORY_CORE_HOME=str(home), MEMORY_CORE_LOAD_PLUGINS="false", NO_COLOR="1")
    return env


def click_and_settle(browser: Browser, selector: str) -> None:
    """Click a link and wait until htmx has swapped the new page in and processed it."""
    browser.evaluate(
        "window.settled = 0;"
        "document.addEventListener('htmx:afterSettle', () => { window.settled += 1; });"
        f"document.querySelector({json.dumps(selector)}).click();"
    )
    browser.wait_for("window.settled > 0")


def wait_until_serving(base: str, process: subprocess.Popen[str]) -> None:
    """Poll the server until it answers (or fail with its output)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            out, err = process.communicate()
            pytest.fail(f"memory-core ui exited early ({process.returncode}): {out}{err}")
        request = urllib.request.Request(base + "/", headers={"Authorization": f"Bearer {TOKEN}"})
        try:
            with urllib.request.urlopen(request, timeout=5) as reply:
                if reply.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.2)
    pytest.fail("memory-core ui did not start serving within 60 s")


@pytest.fixture(scope="module")
def served(seeded: Seeded, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``memory-core ui --token ...`` on a free loopback port; yields its base URL."""
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "memory_core",
            "--database-url",
            seeded.url,
            "--namespace",
            NAMESPACE,
            "ui",
            "--port",
            str(port),
            "--token",
            TOKEN,
        ],
        env=cli_env(tmp_path_factory.mktemp("home")),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(base, process)
        yield base
    finally:
        process.terminate()
        out, err = process.communicate(timeout=30)
        assert f"{base}/?token={TOKEN}" in out, out + err
        assert "Traceback" not in err, err


def test_browse_search_episode_and_pattern_in_chromium(served: str, tmp_path: Path) -> None:
    shots: list[Path] = []
    with Browser(tmp_path) as browser:
        # the overview, after the one-time ?token= visit (cookie, then redirect)
        browser.goto(f"{served}/?token={TOKEN}")
        browser.wait_for("document.querySelectorAll('svg.chart').length === 2")
        assert browser.evaluate("location.search") == ""
        assert browser.evaluate("typeof htmx") == "object"
        assert "Overview" in browser.evaluate("document.querySelector('h1').textContent")
        sizes = browser.evaluate(
            "[...document.querySelectorAll('svg.chart')].map((s) => s.getBoundingClientRect())"
            ".map((b) => [Math.round(b.width), Math.round(b.height)])"
        )
        assert all(w > 300 and h > 80 for w, h in sizes), sizes
        shots.append(browser.screenshot(tmp_path / "overview.png"))

        # a search typed into the box: htmx fetches the results and updates the URL
        click_and_settle(browser, 'nav a[href="/search"]')
        assert browser.evaluate("location.pathname") == "/search"
        browser.evaluate(
            "document.querySelector('input[name=domain]').value = 'web-api';"
            "const q = document.querySelector('#q');"
            "q.value = 'Fix the failing logout test';"
            "q.dispatchEvent(new Event('input', {bubbles: true}));"
        )
        browser.wait_for("document.querySelectorAll('#results li.result').length > 0")
        query = parse_qs(browser.evaluate("location.search").lstrip("?"))
        assert query["q"] == ["Fix the failing logout test"]
        assert query["domain"] == ["web-api"]
        assert browser.evaluate("document.querySelectorAll('#results .breakdown').length") > 0
        shots.append(browser.screenshot(tmp_path / "search.png"))

        # open the best episode, then a pattern learned from it, by clicking
        task = browser.evaluate(
            "document.querySelector('#results li.result a[href^=\"/episodes/\"]').textContent"
        )
        click_and_settle(browser, '#results li.result a[href^="/episodes/"]')
        assert browser.evaluate("location.pathname").startswith("/episodes/")
        assert browser.evaluate("document.querySelector('h1').textContent") == task
        assert "Reflection" in browser.evaluate("document.body.textContent")
        shots.append(browser.screenshot(tmp_path / "episode.png", full_page=True))

        click_and_settle(browser, 'main a[href^="/patterns/"]')
        assert browser.evaluate("location.pathname").startswith("/patterns/")
        assert "Evidence episodes" in browser.evaluate("document.body.textContent")
        assert browser.evaluate("document.querySelectorAll('main a[href^=\"/episodes/\"]').length")
        shots.append(browser.screenshot(tmp_path / "pattern.png"))

        # back to the search results with the browser's history
        browser.evaluate("history.go(-2)")
        browser.wait_for("location.pathname === '/search'")

        assert browser.errors == []

        # the check itself works: a page with a script error is caught
        broken = tmp_path / "broken.html"
        broken.write_text("<!doctype html><p>x</p><script>console.error('boom'); nope();</script>")
        browser.goto(broken.as_uri())
        assert any("boom" in e for e in browser.errors)
        assert any("nope is not defined" in e for e in browser.errors)

    for shot in shots:
        data = shot.read_bytes()
        assert data[:8] == PNG
        assert len(data) > 20_000, shot  # a drawn page, not a blank one
