"""What the browser tests share: a `streamlit run` server, headless Chromium drivers, waiting, drawing.

The canvas component renders inside a shadow root, so it is found with JavaScript that walks the shadow
roots, and drawn on with W3C pointer actions at page coordinates.
"""

from __future__ import annotations

import math
import os
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from benchmarks.app_timing import CHROME_FLAGS, CHROMEDRIVER, CHROMIUM, free_port, healthy, stop_server, streamlit_argv

ROOT = Path(__file__).resolve().parents[2]
FIND_CANVAS = """
function walk(root) {
  for (const el of root.querySelectorAll('*')) {
    if (el.tagName === 'CANVAS' && el.width > 100) {
      const r = el.getBoundingClientRect();
      if (r.width > 100) return [r.left, r.top, r.width, r.height];
    }
    if (el.shadowRoot) { const hit = walk(el.shadowRoot); if (hit) return hit; }
  }
  return null;
}
return walk(document);
"""

# Strokes of three digits MNIST reads reliably, in a cell's own coordinates (0..1 across and down).
DIGIT_STROKES = {
    "0": [
        [(0.5 + 0.36 * math.sin(2 * math.pi * t / 16), 0.5 - 0.42 * math.cos(2 * math.pi * t / 16)) for t in range(17)]
    ],
    "1": [[(0.4, 0.2), (0.55, 0.08)] + [(0.55, 0.08 + 0.09 * i) for i in range(1, 10)]],
    "7": [[(0.15, 0.12), (0.5, 0.12), (0.85, 0.12), (0.65, 0.5), (0.45, 0.9)]],
}


def chromium_missing() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not Path(p).exists()]
    if missing:
        return (
            f"{' and '.join(missing)} not installed: apt-get install chromium chromium-driver "
            "(setup.sh does it as root)"
        )
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[test]')"
    return None


def require_chromium(what: str = "the browser tests") -> None:
    """Skip when this machine has no headless Chromium, with the reason; in CI (CI=true) fail instead, since
    setup.sh installs it there and a silent skip would hide a broken install."""
    import pytest

    if why := chromium_missing():
        message = f"no headless Chromium for {what}: {why}"
        pytest.fail(message) if os.environ.get("CI") == "true" else pytest.skip(message)


@contextmanager
def streamlit_server(timeout: float = 90.0, env: dict | None = None) -> Iterator[tuple[str, subprocess.Popen]]:
    """`streamlit run streamlit_app.py` on a free port; yields its URL and its process, and stops it after."""
    port = free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    proc = subprocess.Popen(
        streamlit_argv(port),
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + timeout
        while not healthy(url):
            if proc.poll() is not None or time.time() > deadline:
                raise AssertionError(f"streamlit did not start within {timeout:.0f} s (exit code {proc.poll()})")
            time.sleep(0.3)
        yield url, proc
    finally:
        stop_server(proc)


def new_driver(window: str = "1400,1100"):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in (*CHROME_FLAGS, f"--window-size={window}"):
        opts.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    driver.set_page_load_timeout(60)
    return driver


def wait_for(driver, predicate, timeout: float = 60.0, what: str = "condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


RUNNING = "[data-testid=stStatusWidgetRunningIcon], [data-testid=stStatusWidgetRunningManIcon]"


def wait_idle(driver, timeout: float = 180.0, quiet_s: float = 2.0) -> None:
    """Until the page's script has not been running for `quiet_s`: an upload sent while the page's first run is
    still loading its model races that run, and on a loaded machine the page can come back without the file."""
    deadline, quiet_since = time.time() + timeout, time.time()
    while time.time() < deadline:
        if driver.find_elements("css selector", RUNNING):
            quiet_since = time.time()
        elif time.time() - quiet_since >= quiet_s:
            return
        time.sleep(0.2)
    raise AssertionError(f"the page was still running after {timeout:.0f} s")


def shown_label(driver) -> str | None:
    """The big predicted label of a task page (the first one, when a page shows several)."""
    return driver.execute_script(
        "const el = document.querySelector('.qnn-label'); return el ? el.textContent.trim() : null;"
    )


def gradcam_shown(driver) -> bool:
    """A 'Grad-CAM for …' caption is on the page and every image on it has loaded."""
    return bool(
        driver.execute_script(
            "return document.body.innerText.includes('Grad-CAM for') &&"
            " [...document.querySelectorAll('img')].every(i => i.complete && i.naturalWidth > 0)"
        )
    )


def draw_strokes(driver, rect, strokes) -> None:
    """Pointer strokes given in the rectangle's own coordinates (0..1 across and down)."""
    from selenium.webdriver.common.actions.action_builder import ActionBuilder

    left, top, width, height = rect
    actions = ActionBuilder(driver)
    pointer = actions.pointer_action
    for stroke in strokes:
        pointer.move_to_location(int(left + stroke[0][0] * width), int(top + stroke[0][1] * height))
        pointer.pointer_down()
        for x, y in stroke[1:]:
            pointer.move_to_location(int(left + x * width), int(top + y * height))
        pointer.pointer_up()
    actions.perform()


def digit_strokes(digit: str, margin: float = 0.15) -> list[list[tuple[float, float]]]:
    """DIGIT_STROKES[digit] shrunk into the middle of a square canvas, as a user would write it."""
    scale = 1 - 2 * margin
    return [[(margin + scale * x, margin + scale * y) for x, y in stroke] for stroke in DIGIT_STROKES[digit]]
