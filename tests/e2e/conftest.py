"""Browser tests: a real Chromium, driven by Playwright's sync API, against pytest-django's live server.

Chromium comes from the distribution (/usr/bin/chromium), never from `playwright install`.
Without it the tests are skipped locally (with a loud line on stderr) and fail under CI=true.
"""

import os
import sys
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
IN_CI = os.environ.get("CI", "").lower() == "true"
HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config, items):
    for item in items:
        if HERE in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.e2e)


def _loud(config, message):
    """One line on the real stderr, past pytest's output capture."""
    line = "!" * 78
    text = f"\n{line}\n!! {message}\n{line}\n"
    capman = config.pluginmanager.getplugin("capturemanager")
    if capman is None:
        sys.stderr.write(text)
        return
    with capman.global_and_fixture_disabled():
        sys.stderr.write(text)
        sys.stderr.flush()


# Package scope: Playwright's loop must be gone before pytest-django runs the tests that
# need no database (it orders them last), some of which run their own asyncio loop.
@pytest.fixture(scope="package")
def browser(request):
    if not os.path.exists(CHROMIUM):
        message = f"{CHROMIUM} is missing, so the browser (e2e) tests cannot run."
        if IN_CI:
            pytest.fail(f"{message} CI=true requires it: apt-get install chromium", pytrace=False)
        _loud(request.config, f"SKIPPING the browser tests: {message} Run `apt-get install chromium`.")
        pytest.skip(f"{message} Run `apt-get install chromium`.")

    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an asyncio loop running in this thread for as long as it lives,
    # so Django would refuse every ORM call from the tests (fixtures, flushes, assertions).
    # The live server runs in its own thread; the ORM calls here never overlap with a request.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    playwright = sync_playwright().start()
    try:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    except Exception:
        playwright.stop()
        raise
    yield browser
    browser.close()
    playwright.stop()
    if previous is None:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def page(browser, live_server):
    """A fresh browser context (no cookies) per test, with its base URL on the live server."""
    context = browser.new_context(base_url=live_server.url)
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    context.close()
