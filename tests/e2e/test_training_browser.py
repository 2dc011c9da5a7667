"""Training page in a real browser: a compared job stays selected, and its curves stay drawn, when it finishes.

The job is written straight into a temporary runs directory (nothing trains): while "running" it carries the
pid of a `sleep` process, so the scheduler sees a live worker; then it is marked done while the page is open,
and the page's live part (refreshed every few seconds) must keep the job in "Compare jobs" with its curves.
"""

from __future__ import annotations

import os
import subprocess
import time

import pytest
from helpers import fake_running_job, finish_fake_job

from .browser_helpers import new_driver, require_chromium, streamlit_server, wait_for

pytestmark = pytest.mark.e2e

CHIPS = (
    "return [...document.querySelectorAll('[data-testid=stMultiSelect] .react-aria-ComboBox [data-tag]')]"
    ".map(t => t.getAttribute('aria-label'))"
)
# Each chart's traces (point counts) and its y-axis range, read from the Plotly graph divs.
CHARTS = """return [...document.querySelectorAll('.js-plotly-plot')].map(g => ({
  points: (g.data || []).map(t => (t.x || []).length),
  y: g._fullLayout && g._fullLayout.yaxis ? g._fullLayout.yaxis.range : null,
  title: (g.layout && g.layout.title && g.layout.title.text) || ''}))"""


def test_a_finished_job_keeps_its_curves(tmp_path):
    require_chromium()
    worker = subprocess.Popen(["sleep", "300"])  # stands in for the job's worker process
    driver = None
    try:
        job_id = fake_running_job(tmp_path, worker.pid)
        with streamlit_server(env={"QNN_RUNS_DIR": str(tmp_path)}) as (url, _proc):
            driver = new_driver()
            driver.get(f"{url}/training")
            chips = wait_for(driver, lambda: driver.execute_script(CHIPS), what="the compared jobs")
            assert chips == [f"#{job_id} mnist · hybrid 8q×3 · running"]
            charts = wait_for(
                driver,
                lambda: (c := driver.execute_script(CHARTS)) and len(c) >= 2 and c,
                what="the loss and accuracy charts",
            )
            assert len(charts) == 2 and charts[0]["points"] == [10] and charts[1]["y"] == [0, 1]
            assert not any(c["title"] for c in charts)  # titles are above the charts, clear of the toolbar

            finish_fake_job(tmp_path, job_id)
            chips = wait_for(
                driver,
                lambda: (c := driver.execute_script(CHIPS)) and "done" in " ".join(c) and c,
                timeout=20,
                what="the job's label turning to done",
            )
            assert chips == [f"#{job_id} mnist · hybrid 8q×3 · done"]
            time.sleep(1.0)
            charts = driver.execute_script(CHARTS)
            assert len(charts) == 3 and charts[0]["points"] == [10] and charts[1]["points"] == [1], (
                charts
            )  # + confusion
            low, high = charts[1]["y"]
            assert low == 0 and high == 1, charts[1]
            if os.environ.get("QNN_SAVE_SCREENSHOTS") == "1":
                driver.save_screenshot(str(tmp_path / "training_done.png"))
    finally:
        if driver is not None:
            driver.quit()
        worker.kill()
        worker.wait()
