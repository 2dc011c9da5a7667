"""Time from `streamlit run` starting to the first prediction on screen, measured in headless Chromium.

The browser is started first (not counted); then the clock starts with the `streamlit run` process, and a
scripted user opens the Digits page, uploads a test digit as a PNG and waits for the predicted label and the
Grad-CAM overlay. Falls back to Streamlit's AppTest (no server, no browser) when Chromium is not installed,
and says so in the result.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from qnn_core.tasks import REPO_ROOT

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
CHROME_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
)
WINDOW = "--window-size=1400,1100"
SHOWN_LABEL = "const el = document.querySelector(\"div[style*='3.2rem']\"); return el ? el.textContent : null;"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def streamlit_argv(port: int, repo: Path = REPO_ROOT) -> list[str]:
    """`streamlit run` of `repo`'s app on this machine's loopback only, headless, without usage statistics: the
    benchmarks and the browser tests start the app the same way."""
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(repo / "streamlit_app.py"),
        "--server.port",
        str(port),
        "--server.address",
        "127.0.0.1",
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
    ]


def _wait(predicate, timeout: float, what: str, poll: float = 0.05):
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(poll)
    raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")


def stop_server(proc: subprocess.Popen) -> None:
    """Ask the server to stop; kill it if it has not within 20 s (a script run can hold it up)."""
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


def healthy(url: str) -> bool:
    try:
        return urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).status == 200
    except OSError:
        return False


def digit_png(path: Path) -> str:
    """A test-split '7' as a user's 280x280 dark-on-light PNG; returns its true label."""
    import numpy as np
    from PIL import Image

    from qnn_core.data.loaders import load_split
    from qnn_core.tasks import get_task

    test = load_split(get_task("mnist"), "test")
    i = int(np.flatnonzero(test.labels == 7)[0])
    Image.fromarray(255 - test.images[i]).resize((280, 280)).convert("RGB").save(path)
    return "7"


def browser_available() -> bool:
    return Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()


def time_in_browser(threads: int, timeout: float = 180) -> dict:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in (*CHROME_FLAGS, WINDOW):
        opts.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    driver.set_page_load_timeout(timeout)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": str(threads)}
    with tempfile.TemporaryDirectory() as tmp:
        png = Path(tmp) / "seven.png"
        truth = digit_png(png)
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            streamlit_argv(port),
            cwd=REPO_ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            _wait(lambda: healthy(url), timeout, "the server's health check", poll=0.1)
            t_server = time.perf_counter() - t0
            driver.get(f"{url}/digits")
            _wait(
                lambda: driver.execute_script("return document.querySelectorAll('[role=tab]').length >= 3"),
                timeout,
                "the Digits page's tabs",
            )
            t_page = time.perf_counter() - t0
            driver.execute_script("document.querySelectorAll('[role=tab]')[1].click()")
            inputs = _wait(lambda: driver.find_elements("css selector", "input[type=file]"), timeout, "the uploader")
            inputs[0].send_keys(str(png))
            label = _wait(lambda: driver.execute_script(SHOWN_LABEL), timeout, "the predicted label")
            t_label = time.perf_counter() - t0
            _wait(lambda: "Grad-CAM" in driver.page_source, timeout, "the Grad-CAM overlay")
            t_cam = time.perf_counter() - t0
        finally:
            driver.quit()
            stop_server(proc)
    return {
        "method": "browser: headless Chromium (Selenium) against `streamlit run`, upload of a test '7' on the "
        "Digits page",
        "label_shown": label,
        "label_true": truth,
        "server_healthy_s": round(t_server, 2),
        "page_ready_s": round(t_page, 2),
        "first_prediction_s": round(t_label, 2),
        "first_gradcam_s": round(t_cam, 2),
    }


def time_in_apptest(timeout: float = 180) -> dict:
    """No browser: the Digits page in AppTest, from a cold script run to the first prediction of an upload."""
    from streamlit.testing.v1 import AppTest

    with tempfile.TemporaryDirectory() as tmp:
        png = Path(tmp) / "seven.png"
        truth = digit_png(png)
        t0 = time.perf_counter()
        at = AppTest.from_file(str(REPO_ROOT / "app_pages" / "digits.py"), default_timeout=timeout).run()
        t_page = time.perf_counter() - t0
        at.get("file_uploader")[0].upload("seven.png", png.read_bytes(), "image/png")
        at.run()
        t_label = time.perf_counter() - t0
    labels = [m.value for m in at.markdown if "qnn-label" in m.value]
    label = labels[0].split(">")[1].split("<")[0] if labels else None
    return {
        "method": "AppTest (no server, no browser: Chromium is not installed), Digits page, upload of a test '7'",
        "label_shown": label,
        "label_true": truth,
        "page_ready_s": round(t_page, 2),
        "first_prediction_s": round(t_label, 2),
    }


def time_to_first_prediction(threads: int) -> dict:
    if browser_available():
        return time_in_browser(threads)
    return time_in_apptest()
