"""Load: three headless Chromium sessions draw on the Digits page at the same time against ONE `streamlit run`.

Each session draws a different digit with pointer events at the same moment (threads, one driver each), and
each must get its own label and its own Grad-CAM. The server must survive it: its process is alive at the
end and a fresh page load still works. The server's peak memory (the streamlit process and its children,
sampled every 0.1 s) is printed for a one-session run and for the three-session run, and written as JSON to
$QNN_LOAD_RSS_OUT when that is set.
"""

from __future__ import annotations

import json
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from .browser_helpers import (
    FIND_CANVAS,
    digit_strokes,
    draw_strokes,
    gradcam_shown,
    new_driver,
    require_chromium,
    shown_label,
    streamlit_server,
    wait_for,
)

pytestmark = pytest.mark.e2e

DIGITS = ("1", "7", "0")  # one per session
SESSIONS = len(DIGITS)


class PeakRSS:
    """Samples the resident memory of a process tree in a thread; `phase()` starts a new peak."""

    def __init__(self, pid: int, every_s: float = 0.1) -> None:
        import psutil

        self._proc = psutil.Process(pid)
        self._every = every_s
        self._peak = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def now(self) -> int:
        import psutil

        total = 0
        for p in [self._proc, *self._proc.children(recursive=True)]:
            try:
                total += p.memory_info().rss
            except psutil.Error:
                pass
        return total

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                rss = self.now()
            except Exception:  # the server went away: the test reports that itself
                return
            with self._lock:
                self._peak = max(self._peak, rss)
            self._stop.wait(self._every)

    def phase(self) -> int:
        """The peak since the last call (or since the start), and a fresh start for the next phase."""
        with self._lock:
            peak, self._peak = max(self._peak, self.now()), 0
        return peak

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


def _open_digits(driver, url: str, timeout: float = 120.0):
    driver.get(f"{url}/digits")
    return wait_for(driver, lambda: driver.execute_script(FIND_CANVAS), timeout=timeout, what="the drawing canvas")


def _draw_and_read(driver, rect, digit: str, start: threading.Barrier | None) -> tuple[str, float]:
    """Draw `digit` (after every session reached the barrier), wait for its label and Grad-CAM."""
    if start is not None:
        start.wait(timeout=60)
    began = time.time()
    draw_strokes(driver, rect, digit_strokes(digit))
    label = wait_for(driver, lambda: shown_label(driver), timeout=90, what=f"the label of the drawn {digit}")
    wait_for(driver, lambda: gradcam_shown(driver), timeout=90, what=f"the Grad-CAM of the drawn {digit}")
    return shown_label(driver) or label, time.time() - began


@pytest.fixture(scope="module")
def drivers():
    require_chromium("the load test")
    with ThreadPoolExecutor(SESSIONS) as pool:  # Chromium takes a few seconds to start: start them together
        made = list(pool.map(lambda _: new_driver(), range(SESSIONS)))
    yield made
    for d in made:
        d.quit()


def test_three_sessions_draw_at_once_on_one_server(drivers):
    started = time.time()
    with streamlit_server() as (url, proc):
        rss = PeakRSS(proc.pid)
        server_up_s = time.time() - started
        try:
            idle = rss.phase()

            # One session: the first page also imports torch and loads the model, so it is a warm-up as well.
            rect = _open_digits(drivers[0], url, timeout=180)
            first_page_s = time.time() - started - server_up_s
            label, one_s = _draw_and_read(drivers[0], rect, "1", None)
            assert label == "1"
            one = rss.phase()

            # Three sessions at once: a fresh page (so a new session) in each browser, then all draw together.
            with ThreadPoolExecutor(SESSIONS) as pool:
                t = time.time()
                rects = list(pool.map(lambda d: _open_digits(d, url), drivers))
                three_pages_s = time.time() - t
                barrier = threading.Barrier(SESSIONS)
                results = list(pool.map(lambda args: _draw_and_read(*args, barrier), zip(drivers, rects, DIGITS)))
            three = rss.phase()
        finally:
            rss.stop()

        labels = [r[0] for r in results]
        assert all(lab in "0123456789" and len(lab) == 1 for lab in labels), labels
        assert proc.poll() is None, "the server died under three sessions"
        # A fresh page load still works after the load.
        assert _open_digits(drivers[0], url, timeout=60)
    wall = time.time() - started

    mib = 2**20
    report = {
        "sessions": SESSIONS,
        "digits_drawn": list(DIGITS),
        "labels_shown": labels,
        "idle_rss_mib": round(idle / mib, 1),
        "peak_rss_one_session_mib": round(one / mib, 1),
        "peak_rss_three_sessions_mib": round(three / mib, 1),
        "server_start_s": round(server_up_s, 1),
        "first_page_s": round(first_page_s, 1),
        "three_pages_s": round(three_pages_s, 1),
        "one_session_draw_to_gradcam_s": round(one_s, 2),
        "three_sessions_draw_to_gradcam_s": [round(r[1], 2) for r in results],
        "wall_s": round(wall, 1),
    }
    print("load test:", json.dumps(report))
    if out := os.environ.get("QNN_LOAD_RSS_OUT"):
        Path(out).write_text(json.dumps(report, indent=2) + "\n")
