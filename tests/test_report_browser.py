"""A real browser opens the report of a real run: every section and image present, no console errors.

Needs Debian's ``chromium`` (``/usr/bin/chromium``) and the ``playwright`` Python package
(no browser download: Playwright drives the system Chromium). Skipped where they are
missing, except under CI (``CI=true``), where their absence is a failure.
"""

import os
import shutil
from pathlib import Path

import pytest

from deepclust.run import run

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _require_browser():
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing = "the playwright package"
    else:
        missing = None if Path(CHROMIUM).exists() else "Chromium (/usr/bin/chromium)"
    if missing:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{missing} is required in CI")
        pytest.skip(f"{missing} is not installed")


@pytest.mark.realdata
def test_report_in_headless_chromium(tmp_path):
    _require_browser()
    from playwright.sync_api import sync_playwright

    out = tmp_path / "run"
    run("kmeans", "digits", seed=0, out=out)  # the report is written by run itself
    report = out / "report.html"
    errors, requests = [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("request", lambda req: requests.append(req.url))
        page.goto(report.as_uri())
        page.wait_for_load_state("load")
        for sid in ("summary", "metrics", "maps", "training", "clusters", "galleries"):
            assert page.locator(f"section#{sid}").count() == 1, sid
        n_img = page.locator("img").count()
        assert n_img >= 14  # 2 maps, sizes, confidence? (k-means has none), confusion, centres, 10 galleries
        widths = page.eval_on_selector_all("img", "imgs => imgs.map(i => i.complete ? i.naturalWidth : 0)")
        assert all(w > 0 for w in widths), "every image decodes"
        assert "Predicted clusters" in page.content()
        shot = Path(os.environ.get("DEEPCLUST_SCREENSHOT_DIR", tmp_path)) / "report.png"
        page.screenshot(path=str(shot), full_page=False)
        browser.close()
    assert errors == []
    assert all(u.startswith(("file://", "data:")) for u in requests)
    assert shot.stat().st_size > 10_000
