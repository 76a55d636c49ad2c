"""Browser tests: the report and the leaderboard page in a real Chromium, from file://.

Chromium comes from the operating system (``apt-get install -y chromium``) and is driven
by Playwright for Python (``pip install playwright``; never ``playwright install``: no
browser is downloaded). The tests skip, saying why, when either is missing. Set
``FMBENCH_CHROMIUM`` to use another executable. Screenshots of every page go to
``$FMBENCH_ARTIFACTS`` (or ``$CI_ARTIFACTS``, else a temporary folder); the path is
printed at the end of the test session.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

#: flags for a headless Chromium in a container without a GPU, sandbox or network
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

_ARTIFACTS: list[Path] = []


def chromium_path() -> str | None:
    """``$FMBENCH_CHROMIUM``, ``/usr/bin/chromium`` or a ``chromium`` on PATH (or None)."""
    env = os.environ.get("FMBENCH_CHROMIUM")
    if env:
        return env if Path(env).is_file() else None
    if Path("/usr/bin/chromium").is_file():
        return "/usr/bin/chromium"
    return shutil.which("chromium") or shutil.which("chromium-browser")


def artifacts_root() -> Path:
    """Where screenshots go: ``$FMBENCH_ARTIFACTS``, ``$CI_ARTIFACTS`` or a temporary folder."""
    base = os.environ.get("FMBENCH_ARTIFACTS") or os.environ.get("CI_ARTIFACTS")
    root = Path(base) if base else Path(tempfile.gettempdir()) / "fmbench-artifacts"
    path = root / "browser-screenshots"
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="session")
def browser():
    """A headless system Chromium driven by Playwright (skips when either is missing)."""
    sync_api = pytest.importorskip(
        "playwright.sync_api",
        reason="Playwright is not installed (pip install playwright; it is in the test extra)",
    )
    path = chromium_path()
    if path is None:
        pytest.skip(
            "no Chromium executable (install it with `apt-get install -y chromium`, or set "
            "FMBENCH_CHROMIUM); the browser tests never download one"
        )
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


class PageProbe:
    """A fresh page plus everything that went wrong on it (console errors, uncaught
    exceptions, failed requests)."""

    def __init__(self, page):
        self.page = page
        self.errors: list[str] = []
        page.on(
            "console",
            lambda m: (
                self.errors.append(f"console {m.type}: {m.text}")
                if m.type in ("error", "assert")
                else None
            ),
        )
        page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))
        page.on("requestfailed", lambda r: self.errors.append(f"request failed: {r.url}"))

    def open(self, path: Path) -> None:
        """Load a file from disk through a file:// URL and wait until it has loaded."""
        self.page.goto(path.resolve().as_uri(), wait_until="load")

    def shot(self, name: str) -> Path:
        """A full-page PNG in the artifacts folder."""
        out = artifacts_root() / f"{name}.png"
        self.page.screenshot(path=str(out), full_page=True)
        _ARTIFACTS.append(out)
        return out


@pytest.fixture
def probe(browser):
    """A :class:`PageProbe` on a new 1300×900 page (closed after the test)."""
    context = browser.new_context(viewport={"width": 1300, "height": 900})
    try:
        yield PageProbe(context.new_page())
    finally:
        context.close()


@pytest.fixture(scope="session")
def site(tmp_path_factory):
    """A two-run report (one run with a parse failure and an invalid patch) and a
    leaderboard whose first row links to that report."""
    from fmbench import leaderboard as lb
    from fmbench.cache import Cache
    from fmbench.report.leaderboard_page import report_path, write_index
    from fmbench.report.site import build_report
    from fmbench.run.rundir import RunDir
    from fmbench.testing.reports import tiny_benchmark, write_audio_run

    root = tmp_path_factory.mktemp("site")
    bench = tiny_benchmark(5)
    cache = Cache(root / "cache")
    a = write_audio_run(root / "runs" / "run-a", bench, cache, generator="good", shift=1)
    b = write_audio_run(
        root / "runs" / "run-b",
        bench,
        cache,
        generator="bad",
        shift=3,
        failures={"i1": "parse", "i3": "invalid"},
    )
    board = root / "leaderboard"
    for run in (a, b):
        lb.submit(run, board)
    index = build_report([a, b], report_path(board, "run-a").parent, cache=cache, benchmark=bench)
    lb.write_readme(board)
    write_index(board)
    return {
        "index": index,
        "report": index.parent,
        "leaderboard": board / "index.html",
        "rows": {"A": RunDir(a).read_samples(), "B": RunDir(b).read_samples()},
    }


def pytest_terminal_summary(terminalreporter):
    """Say where the screenshots are (CI keeps that folder as an artifact)."""
    if _ARTIFACTS:
        terminalreporter.write_line(
            f"browser screenshots ({len(_ARTIFACTS)}): {_ARTIFACTS[0].parent}"
        )
