"""Browser-test fixtures: Debian's Chromium driven by Playwright.

Use from a test module with ``pytest_plugins = ["tests.browser"]`` (which also installs
the hook that fails a test on console errors). Provides:

- ``browser``: one headless Chromium per session, ``/usr/bin/chromium`` (never a
  downloaded browser; ``apt-get install -y chromium``);
- ``console``: the console and page errors of the test's page; any error fails the test
  unless the test allowed it with ``console.allow(pattern)``;
- ``page``: a fresh browser context and page per test, 1280×900, downloads accepted;
- ``screenshot``: ``screenshot(page, "step")`` saves
  ``tests/artifacts/<test>-step.png``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import (
    Browser,
    ConsoleMessage,
    Page,
    ViewportSize,
    sync_playwright,
)

CHROMIUM = Path("/usr/bin/chromium")
#: Chromium's flags here: no sandbox (root), and no calls to Google's services, which
#: this machine's closed network refuses.
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).parent / "artifacts"
DESKTOP: ViewportSize = {"width": 1280, "height": 900}


@dataclass
class ConsoleLog:
    """Console errors and uncaught page errors seen during one test."""

    errors: list[str] = field(default_factory=list)
    allowed: list[re.Pattern[str]] = field(default_factory=list)
    checked: bool = False

    def allow(self, pattern: str) -> None:
        """Accept errors matching *pattern* (a regular expression) in this test."""
        self.allowed.append(re.compile(pattern))

    def on_console(self, message: ConsoleMessage) -> None:
        """Record a ``console.error`` (including failed resource loads)."""
        if message.type == "error":
            where = message.location.get("url", "")
            self.errors.append(f"console error: {message.text} ({where})")

    def on_page_error(self, error: Exception) -> None:
        """Record an uncaught exception in the page."""
        self.errors.append(f"page error: {error}")

    def unexpected(self) -> list[str]:
        """The recorded errors that no allowed pattern matches."""
        return [e for e in self.errors if not any(p.search(e) for p in self.allowed)]

    def check(self) -> None:
        """Fail the test if the page logged an error it did not allow."""
        self.checked = True
        unexpected = self.unexpected()
        if unexpected:
            pytest.fail(
                "the page logged errors:\n" + "\n".join(unexpected), pytrace=False
            )


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Headless Debian Chromium for the whole session."""
    if not CHROMIUM.is_file():
        pytest.fail(
            f"browser tests need Debian's Chromium at {CHROMIUM}: "
            "run `apt-get install -y chromium` (CI's .ci/run installs it)",
            pytrace=False,
        )
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=LAUNCH_ARGS
        )
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def console() -> ConsoleLog:
    """The console errors of this test's page (checked after the test)."""
    return ConsoleLog()


@pytest.fixture
def page(browser: Browser, console: ConsoleLog) -> Iterator[Page]:
    """A page in a fresh browser context (no cookies or storage from other tests)."""
    context = browser.new_context(viewport=DESKTOP, accept_downloads=True)
    context.set_default_timeout(15_000)
    opened = context.new_page()
    opened.on("console", console.on_console)
    opened.on("pageerror", console.on_page_error)
    try:
        yield opened
    finally:
        context.close()
    if not console.checked:  # imported without the hook below: check at teardown
        console.check()


@pytest.fixture
def screenshot(request: pytest.FixtureRequest) -> Callable[[Page, str], Path]:
    """A function saving a full-page screenshot as ``tests/artifacts/<test>-<step>.png``
    (the folder is git-ignored)."""

    def save(page: Page, step: str = "") -> Path:
        ARTIFACTS.mkdir(exist_ok=True)
        name = re.sub(r"[^\w.-]+", "_", request.node.name)
        path = ARTIFACTS / (f"{name}-{step}.png" if step else f"{name}.png")
        page.screenshot(path=str(path), full_page=True)
        return path

    return save


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, object, object]:
    """Fail a browser test whose page logged an error it did not allow."""
    log = getattr(item, "funcargs", {}).get("console")
    try:
        outcome = yield
    except BaseException:
        if isinstance(log, ConsoleLog):
            log.checked = True  # the test failed already; its own error says more
        raise
    if isinstance(log, ConsoleLog):
        log.check()
    return outcome
