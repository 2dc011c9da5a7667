"""A class on one server: how long the first visitor waits, and how three browsers drawing at once are served.

    python -m benchmarks.classroom [--baseline DIR] [--repeats 3] [--rounds 5] [--only startup|load|memory]

Writes section "classroom" of benchmarks/results.json (as `python -m benchmarks.run` writes the others) and
rewrites RESULTS.md from it.

Start-up: a fresh `streamlit run` per repeat; once its health check first answers, a fresh headless Chromium
(started beforehand, not counted) opens `/digits`, and the clock stops when the drawing canvas is on the page
(found through its shadow root). The same repeat times `python -c "import torch"` in a fresh process, and the
figure that counts is the ratio of the two medians: both sides measured in one run on one machine, so a busier
machine slows both. With `--baseline DIR` (another checkout, e.g. `git archive <commit> | tar -x -C DIR`) its
app is measured in the same run, interleaved repeat by repeat.

Load: one server, three Chromium sessions on `/digits`. Each round every session clears its canvas, all wait at a
barrier, then each draws a different digit at the same moment; the time runs from the end of the stroke (the
pointer actions returned) to the label on screen and to the Grad-CAM overlay loaded. p50 and p95 over all
sessions and rounds. With `--baseline`, both servers run at once, three sessions each, and the rounds alternate
between them.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from pathlib import Path

from benchmarks.app_timing import (
    CHROME_FLAGS,
    CHROMEDRIVER,
    CHROMIUM,
    WINDOW,
    _wait,
    browser_available,
    healthy,
    stop_server,
    streamlit_argv,
)
from benchmarks.timing import load_average, machine_details
from qnn_core.tasks import REPO_ROOT


def _browser_helpers():
    """The browser tests' helpers (finding the canvas in its shadow root, drawing, reading the label), by path:
    a package installed in the venv is also called `tests`."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("qnn_browser_helpers", REPO_ROOT / "tests/e2e/browser_helpers.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_h = _browser_helpers()
FIND_CANVAS, digit_strokes, draw_strokes = _h.FIND_CANVAS, _h.digit_strokes, _h.draw_strokes
gradcam_shown, shown_label = _h.gradcam_shown, _h.shown_label

DEFAULT_OUT = REPO_ROOT / "benchmarks" / "results.json"
DIGITS = ("1", "7", "0")
POLL_S = 0.02
FIRST_PORT = 8611  # this engineer's range for extra servers: 8611..8619


def _driver():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in (*CHROME_FLAGS, WINDOW):
        opts.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    driver.set_page_load_timeout(180)
    return driver


def _until(predicate, timeout: float, what: str):
    return _wait(predicate, timeout, what, poll=POLL_S)


@contextmanager
def server(repo: Path, port: int, runs: Path):
    """`streamlit run` of `repo`'s app on `port`, its own runs directory; yields its URL once healthy."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(repo), "QNN_RUNS_DIR": str(runs)}
    env.pop("QNN_ADMIN_TOKEN", None)
    proc = subprocess.Popen(
        streamlit_argv(port, repo),
        cwd=repo,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _until(lambda: healthy(url) or proc.poll() is not None, 120, "the server's health check")
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited with {proc.returncode}")
        yield url
    finally:
        stop_server(proc)


def torch_import_s() -> float:
    t = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import torch"], check=True)
    return time.perf_counter() - t


def first_canvas_s(repo: Path, port: int) -> float:
    """Seconds from opening /digits (right after the health check first answers) to the canvas on the page."""
    driver = _driver()
    try:
        with tempfile.TemporaryDirectory() as runs, server(repo, port, Path(runs)) as url:
            t = time.perf_counter()
            driver.get(f"{url}/digits")
            _until(lambda: driver.execute_script(FIND_CANVAS), 180, "the drawing canvas")
            return time.perf_counter() - t
    finally:
        driver.quit()


def startup(apps: dict[str, Path], repeats: int) -> dict:
    torch_s: list[float] = []
    canvas: dict[str, list[float]] = {name: [] for name in apps}
    subprocess.run([sys.executable, "-c", "import torch"], check=True)  # the files in the page cache for both sides
    for r in range(repeats):
        torch_s.append(torch_import_s())
        for i, (name, repo) in enumerate(apps.items()):
            canvas[name].append(first_canvas_s(repo, FIRST_PORT + i))
    t = statistics.median(torch_s)
    out = {"torch_import_s": [round(x, 2) for x in torch_s], "torch_import_median_s": round(t, 2)}
    for name, xs in canvas.items():
        m = statistics.median(xs)
        out[name] = {"digits_canvas_s": [round(x, 2) for x in xs], "median_s": round(m, 2), "ratio": round(m / t, 2)}
    return out


def _canvas_rect(driver):
    return _until(lambda: driver.execute_script(FIND_CANVAS), 120, "the drawing canvas")


IDLE = "return !document.querySelector('[data-testid=\"stStatusWidget\"]');"  # no script run in progress


def _clear(driver) -> list:
    """Press the page's Clear button (when something is drawn) and wait for the empty canvas and an idle page."""
    if shown_label(driver) is not None:
        driver.execute_script(
            "for (const b of document.querySelectorAll('button'))"
            " if (b.innerText.includes('Clear')) { b.click(); break; }"
        )
        _until(lambda: shown_label(driver) is None, 120, "the cleared canvas")
    _until(lambda: driver.execute_script(IDLE), 120, "the page to finish its run")
    time.sleep(0.3)
    return _canvas_rect(driver)


def _round(driver, digit: str, barrier: threading.Barrier) -> tuple[float, float]:
    rect = _clear(driver)
    barrier.wait(timeout=120)
    draw_strokes(driver, rect, digit_strokes(digit))
    t = time.perf_counter()
    _until(lambda: shown_label(driver), 120, f"the label of a drawn {digit}")
    label_s = time.perf_counter() - t
    _until(lambda: gradcam_shown(driver), 120, f"the Grad-CAM of a drawn {digit}")
    return label_s, time.perf_counter() - t


def _pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, max(0, round(q * (len(xs) - 1))))]


def load(apps: dict[str, Path], rounds: int) -> dict:
    """Every app's server up at once with three sessions each; the rounds alternate between the apps (the order
    swapped each round), so that a machine whose load drifts slows both sides alike."""
    with ExitStack() as stack, ThreadPoolExecutor(len(DIGITS) * len(apps)) as pool:
        sessions: dict[str, list] = {}
        for i, (name, repo) in enumerate(apps.items()):
            runs = stack.enter_context(tempfile.TemporaryDirectory())
            url = stack.enter_context(server(repo, FIRST_PORT + 5 + i, Path(runs)))
            drivers = list(pool.map(lambda _: _driver(), DIGITS))
            for d in drivers:
                stack.callback(d.quit)
            list(pool.map(lambda d: (d.get(f"{url}/digits"), _canvas_rect(d)), drivers))
            list(pool.map(lambda d: _until(lambda: d.execute_script(IDLE), 180, "the first page run"), drivers))
            sessions[name] = drivers
        barrier = threading.Barrier(len(DIGITS))
        for drivers in sessions.values():  # a first round, not counted: every session's first Grad-CAM
            list(pool.map(lambda a: _round(a[0], a[1], barrier), zip(drivers, DIGITS)))
        label: dict[str, list[float]] = {name: [] for name in apps}
        cam: dict[str, list[float]] = {name: [] for name in apps}
        for r in range(rounds):
            digits = DIGITS[r % 3 :] + DIGITS[: r % 3]
            for name in list(apps)[:: 1 if r % 2 == 0 else -1]:
                for lab, c in pool.map(lambda a: _round(a[0], a[1], barrier), zip(sessions[name], digits)):
                    label[name].append(lab)
                    cam[name].append(c)
    return {
        name: {
            "sessions": len(DIGITS),
            "samples": len(label[name]),
            "label_s": [round(x, 3) for x in label[name]],
            "gradcam_s": [round(x, 3) for x in cam[name]],
            "label_p50_s": round(_pct(label[name], 0.5), 2),
            "label_p95_s": round(_pct(label[name], 0.95), 2),
            "gradcam_p50_s": round(_pct(cam[name], 0.5), 2),
            "gradcam_p95_s": round(_pct(cam[name], 0.95), 2),
        }
        for name in apps
    }


MEMORY_CODE = """
import gc, json, shutil, sys, tempfile, psutil, torch
from PIL import Image
torch.set_num_threads(1)
from qnn_core.service import TaskService
from qnn_core.tasks import get_task
proc = psutil.Process()
out = {"after_import_mib": proc.memory_info().rss / 2**20}
with tempfile.TemporaryDirectory() as tmp:
    for name in ("mnist", "mnist_job_copy", "animals", "animals_job_copy"):
        path = get_task(name.split("_")[0]).checkpoint(True)
        if name.endswith("copy"):  # a visitor's job model: another file of the same size
            path = shutil.copy(path, f"{tmp}/{name}.pt")
        gc.collect()
        before = proc.memory_info().rss
        service = TaskService(name.split("_")[0], path)
        service.explain(service.classify(Image.fromarray(service.examples()[0][0])))
        gc.collect()
        out[f"{name}_mib"] = (proc.memory_info().rss - before) / 2**20
print(json.dumps({k: round(v, 1) for k, v in out.items()}))
"""


def model_memory() -> dict:
    """Resident memory one more loaded model costs the server (a fresh process; each service loaded, then one
    prediction and one Grad-CAM): the shipped digits model (the first also pays the one-off costs: the examples'
    data, Grad-CAM's imports), a visitor's job model of the same task, then the same for animals."""
    r = subprocess.run([sys.executable, "-c", MEMORY_CODE], cwd=REPO_ROOT, capture_output=True, text=True, timeout=600)
    if r.returncode != 0:
        raise RuntimeError(f"memory probe failed: {r.stderr[-1500:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def measure(apps: dict[str, Path], repeats: int, rounds: int, only: str | None = None) -> dict:
    """The section's figures for these apps (name -> checkout): start-up, model memory, load; or `only` one."""
    if only != "memory" and not browser_available():
        return {
            "skipped": "needs /usr/bin/chromium and /usr/bin/chromedriver (apt-get install chromium chromium-driver)"
        }
    result: dict = {
        "apps": {name: {"path": str(repo), "commit": _commit(repo)} for name, repo in apps.items()},
        "shared_machine_note": "Measured on a 2-core machine shared with other work (other engineers' tests and "
        "training runs); the load average is in the table above",
    }
    if only in (None, "startup"):
        result["startup"] = startup(apps, repeats)
        print("startup:", json.dumps(result["startup"]), file=sys.stderr)
    if only in (None, "memory"):
        result["model_memory_mib"] = model_memory()
        print("memory:", json.dumps(result["model_memory_mib"]), file=sys.stderr)
    if only in (None, "load"):
        result["load"] = load(apps, rounds)
        print("load:", json.dumps(result["load"]), file=sys.stderr)
    return result


def _commit(repo: Path) -> str | None:
    r = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=repo, capture_output=True, text=True)
    return r.stdout.strip() or None


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.classroom", description=__doc__.splitlines()[0])
    p.add_argument("--baseline", type=Path, help="another checkout of the app, measured in the same run")
    p.add_argument("--baseline-name", default="baseline", help="what to call it in the output")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--only", choices=("startup", "load", "memory"))
    p.add_argument("--out", type=Path, default=DEFAULT_OUT)
    a = p.parse_args(argv)
    if a.only != "memory" and not browser_available():
        print("error: needs /usr/bin/chromium and /usr/bin/chromedriver (apt-get install chromium chromium-driver)")
        return 2
    apps = {"this": REPO_ROOT}
    if a.baseline:
        apps[a.baseline_name] = a.baseline.resolve()
    began, load_start = datetime.now(UTC), load_average()
    result: dict = {
        "command": "python -m benchmarks.classroom " + " ".join(argv if argv is not None else sys.argv[1:]),
        "machine": machine_details(),
        **measure(apps, a.repeats, a.rounds, a.only),
    }
    ended = datetime.now(UTC)
    result.update(
        wall_s=round((ended - began).total_seconds(), 1),
        load_avg_start=load_start,
        load_avg_end=load_average(),
        cpu=result["machine"].get("cpu"),
        measured=ended.isoformat(timespec="seconds"),
    )
    record(result, a.out, began)
    return 0


def record(result: dict, out: Path, began: datetime) -> None:
    """Into results.json as section "classroom" (keeping what an earlier run measured that this one did not),
    and RESULTS.md rewritten from it."""
    from benchmarks import report
    from qnn_core.fileio import write_json_atomic

    data = json.loads(out.read_text()) if out.is_file() else {"sections": {}}
    section = {**data["sections"].get("classroom", {}), **result}
    data["sections"]["classroom"] = section
    data.setdefault("runs", []).append(
        {"command": result["command"], "started": began.isoformat(timespec="seconds"), "finished": result["measured"]}
    )
    write_json_atomic(data, out)
    (out.parent / "RESULTS.md").write_text(report.markdown(data))
    print(f"wrote {out} and {out.parent / 'RESULTS.md'}")


if __name__ == "__main__":
    sys.exit(main())
