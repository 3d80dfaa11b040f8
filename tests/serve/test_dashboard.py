"""The dashboard in a real browser: Debian's chromium, headless, driven by Playwright.

No browser is downloaded: the tests use the system's ``chromium`` (``.ci/run`` installs it)
and fail, not skip, when it is missing. With ``--update-snapshots`` they also write the
screenshots ``docs/operate.md`` shows (``docs/img/``).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.serve.conftest import Served

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DOCS_IMAGES = Path(__file__).parent.parent.parent / "docs" / "img"


def chromium_path() -> str:
    found = shutil.which("chromium") or "/usr/bin/chromium"
    assert Path(found).exists(), (
        "the browser tests need Debian's chromium: apt-get install -y chromium "
        "(the README's test command installs it)"
    )
    return found


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1100, "height": 720})
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    yield opened
    context.close()
    assert errors == [], f"the page raised: {errors}"


def snap(page: Page, request: pytest.FixtureRequest, name: str, tmp_path: Path) -> None:
    """A screenshot: into docs/img with --update-snapshots, else beside the test's files."""
    folder = DOCS_IMAGES if request.config.getoption("--update-snapshots") else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    page.wait_for_timeout(300)  # let the page settle (fonts, charts)
    page.screenshot(path=str(folder / f"{name}.png"))


def test_operator_follows_a_failure_and_reruns_it(
    fresh_served: Served, page: Page, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    served = fresh_served
    page.goto(served.url + "/")  # a browser asking for the root lands on the dashboard

    counts = page.locator("#counts")
    expect(counts).to_contain_text("stamp-only")
    expect(counts.locator("tr", has_text="stamp-only")).to_contain_text("3")
    expect(counts.locator("tr", has_text="flaky")).to_contain_text("2")
    expect(counts.locator("tr", has_text="slow")).to_contain_text("1")
    expect(page.locator("#failures")).to_contain_text("ConnectionError")
    expect(page.locator("#throughput svg rect.bar")).to_have_count(60)
    expect(page.locator("#queue")).to_contain_text(served.running)
    snap(page, request, "dashboard-overview", tmp_path)

    # filter the failures
    page.get_by_role("link", name="payloads", exact=True).click()
    expect(page.locator("#payload-table tbody tr")).to_have_count(6)
    page.select_option("#filter-state", "FAILED")
    rows = page.locator("#payload-table tbody tr")
    expect(rows).to_have_count(2)
    for index in range(2):
        expect(rows.nth(index)).to_contain_text("ConnectionError: upstream outage")
    snap(page, request, "dashboard-failures", tmp_path)

    # open one: its timeline and its logs
    failed = served.failed[0]
    page.get_by_role("link", name=failed).click()
    expect(page.locator("h1")).to_have_text(failed)
    timeline = page.locator("#timeline")
    for event in ("CLAIMED_PROCESSING", "STARTED_PROCESSING", "FAILED"):
        expect(timeline).to_contain_text(event)
    expect(page.locator("#executions")).to_contain_text("FAILED")
    expect(page.locator("#logs")).to_contain_text("upstream outage")
    expect(page.locator("#input")).to_contain_text(failed)
    snap(page, request, "dashboard-payload", tmp_path)

    # a rerun without the token is refused; with it, the payload succeeds
    page.click("#rerun")
    expect(page.locator("#message")).to_contain_text("rerun refused")
    assert served.state(failed) == "FAILED"
    page.fill("#token", served.token)
    page.click("#rerun")
    expect(page.locator("#message")).to_contain_text("queued 1 payload(s) again")
    expect(page.locator("main .state").first).to_have_text("SUCCEEDED", timeout=30_000)
    expect(page.locator("#items")).to_contain_text(failed.rsplit("/", 1)[1])
    assert served.state(failed) == "SUCCEEDED"

    # the workflow page draws the state machine
    page.get_by_role("link", name="flaky", exact=True).click()
    expect(page.locator("#graph svg g.node")).to_have_count(2)
    expect(page.locator("#state-durations")).to_contain_text("flaky")
    snap(page, request, "dashboard-workflow", tmp_path)


def test_payload_content_is_shown_as_text_never_as_markup(
    served: Served, page: Page, tmp_path: Path
) -> None:
    """Ids, errors and payloads are user data: markup in them stays text."""
    import json

    from tests.runtime.conftest import item, payload

    hostile = "<img src=x id=injected onerror=document.title=1>"
    outage = tmp_path / hostile
    outage.write_text("down")
    bad = payload(item("hostile"), workflow="flaky", tasks={"flaky": {"outage": str(outage)}})
    served.proj.cirrus("run-workflow", input=json.dumps(bad), check=False)

    page.goto(served.url + "/ui/#/payloads?workflow=flaky&state=FAILED")
    expect(page.locator("#payload-table")).to_contain_text(hostile)
    page.goto(served.url + "/ui/#/payload?id=test/workflow-flaky/hostile")
    expect(page.locator("#last-error")).to_contain_text(hostile)
    expect(page.locator("#input")).to_contain_text(hostile)
    assert page.locator("#injected").count() == 0
    assert page.title() == "cirrus dashboard"
