"""The report in a real browser: headless Chromium (Debian's package) loads it without a JavaScript error, the
diagrams are in the DOM, and the screenshot shows a page that is not blank, with the diagrams' colours in it.

Chromium is required, never skipped: `apt-get install chromium` (ci/setup.sh does it as root)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from harness.report import write_html
from harness.report.html import HEAD_JS
from harness.report.svg import DSN, FAIL

from .png import colours
from .samples import sample_records

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars"]


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.fail("headless Chromium is needed to test the HTML report and none is on PATH (looked for `chromium` "
                    "and `chromium-browser`): install it with `apt-get install chromium` (ci/setup.sh does it as "
                    "root)", pytrace=False)
    return found


def run(args: list[str], tmp_path: Path, name: str) -> subprocess.CompletedProcess[str]:
    cmd = [chromium(), *FLAGS, f"--user-data-dir={tmp_path / ('profile-' + name)}", *args]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=90)
    assert done.returncode == 0, f"{' '.join(cmd)} exited {done.returncode}:\n{done.stderr[-3000:]}"
    return done


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    records = sample_records()
    path = write_html(records, tmp_path_factory.mktemp("report") / "report.html", title="mailharness <test> report")
    return path, sum(1 for r in records if r["messages"])


def test_the_page_loads_without_errors_and_the_diagrams_are_in_the_dom(report: tuple[Path, int],
                                                                      tmp_path: Path) -> None:
    path, diagrams = report
    dom = run(["--dump-dom", path.as_uri()], tmp_path, "dom").stdout
    body = re.search(r"<body[^>]*>", dom)
    assert body is not None, dom[:2000]
    assert 'data-ok="1"' in body.group(0), f"the load handler did not run: {body.group(0)}"
    assert 'data-error="' not in dom, re.findall(r'data-error="[^"]*"', dom)
    assert dom.count('class="path-diagram"') == diagrams == 3
    assert dom.count('class="reject-x"') == 3  # edu refuses at RCPT, the mock at RCPT, store at MAIL
    assert dom.count('class="hop arrow dsn"') == 1 and dom.count('class="hop mark emit"') == 2
    assert dom.count('<details class="scenario') == 4 and dom.count('<tr class="row-') == 4
    assert "<title>mailharness &lt;test&gt; report</title>" in dom


def test_the_screenshot_shows_the_page(report: tuple[Path, int], tmp_path: Path) -> None:
    path, _ = report
    png = tmp_path / "report.png"
    run([f"--screenshot={png}", "--window-size=1280,2000", path.as_uri()], tmp_path, "shot")
    assert png.is_file() and png.stat().st_size > 0, "no screenshot was written"
    width, height, seen = colours(png)
    assert (width, height) == (1280, 2000)
    assert len(seen) > 50, f"the screenshot is (nearly) blank: {len(seen)} colour(s)"
    rgb = {name: tuple(int(c[i:i + 2], 16) for i in (1, 3, 5)) for name, c in (("red", FAIL), ("purple", DSN))}
    assert rgb["red"] in seen, "no refusal red (the X of a refused hop, the FAIL badge) on the page"
    assert rgb["purple"] in seen, "no DSN purple (the DSN's way back) on the page"


def test_a_javascript_error_would_be_seen(tmp_path: Path) -> None:
    """The control for the test above: the page's error hook marks the body when a script throws."""
    page = tmp_path / "broken.html"
    page.write_text(f"<!DOCTYPE html><html><head><script>{HEAD_JS}</script></head><body><p>x</p>"
                    "<script>undefinedFunction();</script></body></html>", encoding="utf-8")
    dom = run(["--dump-dom", page.as_uri()], tmp_path, "control").stdout
    assert re.search(r'<body data-error="[^"]*undefinedFunction is not defined', dom), dom
