"""Training page: the compared jobs stay selected when a job's status changes, and the charts keep sane axes.

The jobs are written straight into a temporary runs directory (no training runs): a "running" job carries the
pid of this test process, so the scheduler sees a live worker and leaves it alone.
"""

from __future__ import annotations

import json

from helpers import ROOT, fake_running_job, finish_fake_job
from streamlit.testing.v1 import AppTest

from app_pages import training

PAGE = str(ROOT / "app_pages" / "training.py")


# -- the pure helpers ------------------------------------------------------------------------------------------


def test_a_new_page_shows_the_newest_job():
    assert training.default_selection([3, 2, 1], None) == [3]
    assert training.default_selection([], None) == []


def test_the_selection_is_kept_by_id_and_new_jobs_join_it():
    assert training.default_selection([2, 1], [1], known=[2, 1]) == [1]  # job 1 finished: still selected
    assert training.default_selection([3, 2, 1], [1], known=[2, 1]) == [3, 1]  # job 3 started since
    assert training.default_selection([2, 1], [], known=[2, 1]) == []  # the user cleared it: stays clear
    assert training.default_selection([2], [2, 1], known=[2, 1]) == [2]  # job 1 is gone from the list


def test_the_details_choice_is_kept_while_listed():
    assert training.kept_choice([3, 2, 1], 1) == 1
    assert training.kept_choice([3, 2], 1) == 3
    assert training.kept_choice([3, 2, 1], 1, known=[2, 1]) == 3  # a job started since: show it
    assert training.kept_choice([3, 2, 1], 1, known=[3, 2, 1]) == 1
    assert training.kept_choice([], None) is None


def _layout(fig) -> dict:
    return json.loads(fig.to_json())["layout"]


def test_accuracy_axis_is_0_to_100_percent_with_or_without_data():
    rows = [{"kind": "batch", "epoch": 1, "step": s, "steps": 10, "loss": 2.0 / s} for s in range(1, 11)]
    rows += [{"kind": "epoch", "epoch": 1, "val_acc": 0.97}]
    for series in ({"#1 hybrid 8q×3": rows}, {"#1 hybrid 8q×3": []}, {}):
        loss, acc = training.curve_figures(series, epochs=2)
        assert _layout(acc)["yaxis"]["range"] == [0, 1] and _layout(acc)["yaxis"]["tickformat"] == ".0%"
        assert _layout(acc)["xaxis"]["range"] == [0, 2] and _layout(loss)["xaxis"]["range"] == [0, 2]
        assert "title" not in _layout(loss) or not _layout(loss)["title"].get("text")  # titles sit above the chart
        if series and series["#1 hybrid 8q×3"]:
            assert _layout(loss)["yaxis"]["rangemode"] == "tozero"
        else:  # nothing recorded yet: fixed axes, never the empty autorange of -1 to 4
            assert _layout(loss)["yaxis"]["range"] == [0, 1]


# -- the page, against a runs directory written by hand ----------------------------------------------------------


def _charts(at: AppTest) -> dict[str, dict]:
    """The page's Plotly figures by widget key."""
    return {c.key: json.loads(c.proto.spec) for c in at.get("plotly_chart")}


def _curves(at: AppTest) -> tuple[dict, dict]:
    charts = _charts(at)
    return charts["loss_chart"], charts["acc_chart"]


def test_a_finished_job_stays_selected_and_its_curves_stay(runs):
    first = fake_running_job(runs)
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    assert not at.exception
    compare = at.multiselect(key="compare")
    assert compare.value == [first]
    assert "· running" in compare.format_func(first)
    assert set(_charts(at)) == {"loss_chart", "acc_chart"}  # and no stray figure drawn by Streamlit's magic
    loss, acc = _curves(at)
    assert len(loss["data"][0]["x"]) == 10 and acc["layout"]["yaxis"]["range"] == [0, 1]

    finish_fake_job(runs, first)  # the label changes from "· running" to "· done"
    at.run()
    assert not at.exception
    compare = at.multiselect(key="compare")
    assert compare.value == [first] and "· done" in compare.format_func(first)
    loss, acc = _curves(at)
    assert len(loss["data"][0]["x"]) == 10 and acc["data"][0]["y"] == [0.91]

    second = fake_running_job(runs, epochs=3)  # a new job joins the comparison, newest first
    at.run()
    assert at.multiselect(key="compare").value == [second, first]
    assert _curves(at)[1]["layout"]["xaxis"]["range"] == [0, 3]
    assert at.selectbox(key="detail").value == second


def test_a_cleared_selection_stays_clear_and_details_keep_their_job(runs):
    first = fake_running_job(runs)
    second = fake_running_job(runs)  # both "running" (a queued one would be started for real once the first ends)
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    assert at.multiselect(key="compare").value == [second]
    at.selectbox(key="detail").set_value(first).run()
    at.multiselect(key="compare").set_value([]).run()
    assert not at.exception
    finish_fake_job(runs, first)
    at.run()
    assert not at.exception
    assert at.multiselect(key="compare").value == []
    assert set(_charts(at)) == {f"confusion_{first}"}  # only the details' confusion matrix: no empty curves
    assert any("No job picked" in c.value for c in at.caption)
    assert at.selectbox(key="detail").value == first  # its status changed; the details still show it
    assert any(m.label == "Test accuracy" and m.value == "90.00%" for m in at.metric)
