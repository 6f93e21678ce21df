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


@pytest.mark.realdata
def test_explorer_names_flags_and_downloads_annotations(tmp_path):
    """Choose a cluster by its list entry and by clicking the map, name it, flag a member, download
    the CSV (every row, the name on each member, the flag on one), and find the work again after
    reloading the page (local storage). No console errors, no requests off the page."""
    _require_browser()
    import csv

    from playwright.sync_api import sync_playwright

    from deepclust.viz.explorer import build_explorer

    out = tmp_path / "run"
    run("pca+gmm", "digits", seed=0, params={"n_components": 10, "covariance_type": "diag"}, out=out,
        report=False)
    page_path = build_explorer(out, map_method="pca", per_cluster=6)
    labels = [int(r["cluster"]) for r in csv.DictReader((out / "labels.csv").open())]
    errors, requests = [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_context(accept_downloads=True, viewport={"width": 1400, "height": 900}).new_page()
        page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("request", lambda req: requests.append(req.url))
        page.goto(page_path.as_uri())
        assert page.locator("aside .cl").count() == len(set(labels))
        page.click('aside .cl[data-cluster="3"]')
        assert page.locator("#members .m").count() == 12 and page.locator("#members img").count() == 12
        page.fill('input[aria-label="name of cluster 3"]', 'threes, "mostly"')
        flagged = int(page.locator("#members .m").nth(7).get_attribute("data-index"))
        page.locator("#members .m").nth(7).click()
        assert page.locator("#members .m.flag").count() == 1
        assert page.text_content("#status") == "1 of 10 clusters named, 1 member flagged"
        with page.expect_download() as info:
            page.click("#download")
        downloaded = tmp_path / "annotations.csv"
        info.value.save_as(downloaded)
        rows = list(csv.DictReader(open(downloaded, newline="")))
        page.reload()
        page.wait_for_load_state("load")
        kept = page.input_value('input[aria-label="name of cluster 3"]')
        box = page.locator("#map").bounding_box()  # click a point of cluster 5 on the map: its cluster opens
        x, y = page.evaluate("(() => { const i = D.map.rows.findIndex(r => D.labels[r] === 5); "
                             "return [px(i), py(i)]; })()")
        page.mouse.click(box["x"] + x, box["y"] + y)
        chosen = page.get_attribute("aside .cl.sel", "data-cluster")
        browser.close()
    assert errors == []
    assert all(u.startswith(("file://", "data:", "blob:")) for u in requests)
    assert len(rows) == len(labels) and [int(r["cluster"]) for r in rows] == labels
    assert {r["cluster_name"] for r in rows if r["cluster"] == "3"} == {'threes, "mostly"'}
    assert {r["cluster_name"] for r in rows if r["cluster"] != "3"} == {""}
    assert [int(r["index"]) for r in rows if r["flagged"] == "1"] == [flagged] and labels[flagged] == 3
    assert kept == 'threes, "mostly"' and chosen == "5"
    from deepclust.export import export_clusters  # the download is what export --names reads

    folder = export_clusters(out, to="folders", names=downloaded)
    assert [p.name for p in (folder / "threes_mostly" / "flagged").iterdir()] == [f"{flagged}.png"]
