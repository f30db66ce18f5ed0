"""The built site in a real browser: every page loads offline, with no broken link or image, no console error,
a provenance box, and every results table beside the paper's column; search answers. Screenshots land in a temporary folder
(printed; ``ROBOPERCEPT_ARTIFACTS`` picks another) for CI to keep.

Needs Debian's Chromium (``apt-get install chromium``; ``ROBOPERCEPT_CHROMIUM`` names another binary) and the
``playwright`` package (in the dev extra); ``.ci/run`` installs Chromium. Elsewhere the test is skipped.
"""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import tempfile
import threading
from pathlib import Path
from urllib.parse import unquote, urljoin, urlparse

import pytest

from robopercept import paths
from robopercept.site import build_site

CHROMIUM = os.environ.get("ROBOPERCEPT_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
# flags for a closed network (see the machine notes): no background fetches, no sandbox as root
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


def _skip_reason() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed: pip install -e '.[dev]'"
    if not CHROMIUM:
        return ("no Chromium binary: install Debian's `chromium` (apt-get install chromium) or set "
                "ROBOPERCEPT_CHROMIUM to a Chromium executable; .ci/run installs it")
    return None


pytestmark = [pytest.mark.slow, pytest.mark.skipif(_skip_reason() is not None, reason=_skip_reason() or "")]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    html = build_site(tmp_path_factory.mktemp("site"), root=paths.root())
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):  # noqa: D102 - the test reports problems itself
            pass

    handler = functools.partial(Quiet, directory=str(html))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield html, f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


def _pages(html: Path) -> list[str]:
    skip = {"genindex.html", "search.html"}
    return sorted(p.relative_to(html).as_posix() for p in html.rglob("*.html")
                  if "_static" not in p.parts and p.name not in skip)


def test_every_page_loads_offline_with_working_links_images_provenance_and_paper_columns(site, browser):
    html, base = site
    pages = _pages(html)
    assert "index.html" in pages and "graspseg/index.html" in pages, pages
    problems: list[str] = []
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    current = {"url": ""}
    page.on("console", lambda m: m.type == "error" and problems.append(f"{current['url']}: console error: {m.text}"))
    page.on("pageerror", lambda e: problems.append(f"{current['url']}: page error: {e}"))
    page.on("requestfailed", lambda r: problems.append(f"{current['url']}: request failed: {r.url}"))
    page.on("response", lambda r: r.status >= 400 and problems.append(f"{current['url']}: HTTP {r.status}: {r.url}"))

    def local_only(route):
        if urlparse(route.request.url).hostname in ("127.0.0.1", "localhost") or route.request.url.startswith("data:"):
            route.continue_()
        else:  # the site must read offline: any fetch from elsewhere is a fault
            problems.append(f"{current['url']}: fetches from the network: {route.request.url}")
            route.abort()

    page.route("**/*", local_only)
    results_tables = 0
    for rel in pages:
        current["url"] = rel
        page.goto(base + rel, wait_until="load")
        broken = page.eval_on_selector_all("img", "els => els.filter(e => !e.complete || e.naturalWidth === 0)"
                                                  ".map(e => e.getAttribute('src'))")
        problems += [f"{rel}: broken image {s}" for s in broken]
        for href in page.eval_on_selector_all("a[href]", "els => els.map(e => e.getAttribute('href'))"):
            target = urlparse(urljoin(base + rel, href))
            if target.scheme not in ("http", "https") or target.hostname != "127.0.0.1":
                continue
            path = unquote(target.path).lstrip("/") or "index.html"
            f = html / path
            if not (f.is_file() or (f / "index.html").is_file()):
                problems.append(f"{rel}: broken link {href}")
        if page.locator("div.provenance").count() < 1:
            problems.append(f"{rel}: no provenance box")
        for headers in page.eval_on_selector_all(
                "table.results-table", "ts => ts.map(t => Array.from(t.querySelectorAll('th')).map(h => h.innerText))"):
            results_tables += 1
            if not any("paper" in h.lower() for h in headers):
                problems.append(f"{rel}: results table without a paper column: {headers}")
    page.close()
    assert results_tables >= 5, f"only {results_tables} results tables on the whole site"
    assert not problems, "\n".join(problems[:40])


def test_search_works_from_the_built_folder_and_screenshots_are_kept(site, browser):
    html, base = site
    out = Path(os.environ.get("ROBOPERCEPT_ARTIFACTS") or tempfile.mkdtemp(prefix="robopercept-site-"))
    out.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(base + "search.html?q=Mask2Former", wait_until="load")
    page.wait_for_selector("ul.search li", timeout=30_000)
    hits = page.eval_on_selector_all("ul.search li a", "els => els.map(e => e.getAttribute('href'))")
    assert any("graspseg" in h for h in hits), hits
    page.goto(base + "index.html", wait_until="load")
    assert page.locator("table.scoreboard").count() >= 1
    page.screenshot(path=str(out / "home.png"), full_page=True)
    page.goto(base + "graspseg/index.html", wait_until="load")
    page.screenshot(path=str(out / "graspseg.png"), full_page=False)
    page.close()
    print(f"site screenshots: {out}")
    assert (out / "home.png").stat().st_size > 10_000 and (out / "graspseg.png").stat().st_size > 10_000


def test_pages_open_straight_from_the_folder(site, browser):
    """README: "Open `index.html` straight from the folder" — over file://, with no server: the home page, a paper page
    and the search page load with no error, no failed or outside request and no broken image, and search finds hits."""
    html, _ = site
    problems: list[str] = []
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.on("console", lambda m: m.type == "error" and problems.append(f"console error: {m.text}"))
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url}"))

    def files_only(route):
        if route.request.url.startswith(("file:", "data:")):
            route.continue_()
        else:
            problems.append(f"fetches from the network: {route.request.url}")
            route.abort()

    page.route("**/*", files_only)
    for rel in ("index.html", "graspseg/index.html"):
        page.goto((html / rel).as_uri(), wait_until="load")
        broken = page.eval_on_selector_all("img", "els => els.filter(e => !e.complete || e.naturalWidth === 0)"
                                                  ".map(e => e.getAttribute('src'))")
        problems += [f"{rel}: broken image {s}" for s in broken]
    page.goto((html / "search.html").as_uri() + "?q=Mask2Former", wait_until="load")
    page.wait_for_selector("ul.search li", timeout=30_000)
    assert page.locator("ul.search li").count() >= 1
    page.close()
    assert not problems, "\n".join(problems[:20])
