"""The HTML report, rendered in a real headless Chromium (Debian's ``chromium`` package)."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tests.support.chromium import console_messages, run_chromium

from memory_core.report import ReportData, render_report

# Appended to a copy of the page (the report itself has no script): records, on <body>, the
# rendered size of every chart and how many of its marks have a non-empty bounding box.
PROBE = """<script>
document.body.dataset.charts = [...document.querySelectorAll("svg.chart")].map((svg) => {
  const box = svg.getBoundingClientRect();
  const marks = [...svg.querySelectorAll("rect, polyline, polygon, circle, line, path")]
    .filter((m) => { const b = m.getBBox(); return b.width > 0 || b.height > 0; });
  return `${Math.round(box.width)}x${Math.round(box.height)}:${marks.length}`;
}).join(" ");
</script>"""


def test_report_renders_in_chromium(cli: Any, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    result = cli("report", str(out))
    assert result.code == 0, result.stderr
    assert f"Wrote {out}" in result.stdout
    html = out.read_text(encoding="utf-8")
    # self-contained: nothing to fetch, nothing to run
    assert "http://" not in html
    assert "https://" not in html
    assert "<script" not in html
    assert " src=" not in html
    assert "<link" not in html

    probed = tmp_path / "probed.html"
    probed.write_text(html.replace("</body>", PROBE + "</body>"), encoding="utf-8")
    shot = tmp_path / "report.png"
    with ThreadPoolExecutor(max_workers=2) as pool:
        screenshot = pool.submit(
            run_chromium, out, tmp_path, f"--screenshot={shot}", "--window-size=1280,2600"
        )
        dumped = pool.submit(run_chromium, probed, tmp_path, "--dump-dom")
        screenshot_run, dom_run = screenshot.result(), dumped.result()

    assert screenshot_run.returncode == 0, screenshot_run.stderr
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert shot.stat().st_size > 50_000  # a drawn page, not a blank one
    assert console_messages(screenshot_run.stderr) == []

    assert dom_run.returncode == 0, dom_run.stderr
    assert console_messages(dom_run.stderr) == []
    dom = dom_run.stdout
    found = re.search(r'data-charts="([^"]*)"', dom)
    assert found, "the probe did not run"
    charts = [re.fullmatch(r"(\d+)x(\d+):(\d+)", c) for c in found.group(1).split()]
    assert len(charts) == 4  # timeline, learning curve, rewards per domain and per task type
    for chart in charts:
        assert chart is not None
        width, height, marks = (int(g) for g in chart.groups())
        assert width > 300, chart.group(0)
        assert height > 80, chart.group(0)
        assert marks > 5, chart.group(0)

    for title in ("Learning curve", "Top patterns", "Recent failures", "Reward distribution"):
        assert title in dom
    assert "Run the slow suite with a longer timeout" in dom  # a failure's improvement
    links = set(re.findall(r'href="#(ep-[0-9a-f-]{36})"', dom))
    anchors = set(re.findall(r'id="(ep-[0-9a-f-]{36})"', dom))
    assert links, "top patterns should link to their evidence episodes"
    assert links <= anchors


def test_the_console_check_catches_script_errors(tmp_path: Path) -> None:
    page = tmp_path / "broken.html"
    page.write_text("<!doctype html><p>x</p><script>console.error('boom'); missing();</script>")
    run = run_chromium(page, tmp_path, "--dump-dom")
    messages = console_messages(run.stderr)
    assert any("boom" in m for m in messages)
    assert any("missing is not defined" in m for m in messages)


def test_report_of_an_empty_namespace_explains_itself() -> None:
    html = render_report(
        ReportData(namespace="empty", database="sqlite://", generated_at=datetime.now(UTC))
    )
    assert "No completed episode yet." in html
    assert "No pattern learned yet." in html
    assert "No failed episode." in html


def test_report_errors(cli: Any, check_error: Any, tmp_path: Path) -> None:
    check_error(cli("report", str(tmp_path / "missing" / "r.html")), "cannot write report")
