"""A class shares one server: each visitor's jobs and models are their own, the quotas hold, and only the teacher
serves a model to everyone.

Each AppTest is one browser session; its visitor id is in its query parameters, as in a browser's URL. The jobs are
written straight into a temporary runs directory: a "running" job belongs to a `sleep` process started here, so the
scheduler sees a live worker and never starts a real training run, and the jobs submitted meanwhile stay queued.
"""

from __future__ import annotations

import re
import shutil
import subprocess

import numpy as np
import pytest
from helpers import ROOT, fake_running_job, finish_fake_job
from PIL import Image
from streamlit.testing.v1 import AppTest

from qnn_core import jobs
from qnn_core.jobs import quotas, store
from qnn_core.tasks import get_task

TRAINING = str(ROOT / "app_pages" / "training.py")
DIGITS = str(ROOT / "app_pages" / "digits.py")
ALICE, BOB = "alice-visitor-token-0001", "bob-visitor-token-000002"
TOKEN = "correct-horse-battery-staple"


@pytest.fixture
def runs(tmp_path, monkeypatch):
    monkeypatch.setenv("QNN_RUNS_DIR", str(tmp_path))
    monkeypatch.setenv("QNN_MAX_JOBS", "1")
    for var in ("QNN_ADMIN_TOKEN", "QNN_JOBS_PER_VISITOR", "QNN_QUEUE_MAX", "QNN_JOBS_BACKEND"):
        monkeypatch.delenv(var, raising=False)
    return tmp_path


@pytest.fixture
def busy(runs):
    """The one job slot taken by the operator's 'running' job (a sleep process), so submissions stay queued."""
    sleeper = subprocess.Popen(["sleep", "600"])
    job_id = fake_running_job(runs, pid=sleeper.pid)
    yield job_id
    sleeper.kill()
    sleeper.wait()


def page(path: str, visitor: str | None) -> AppTest:
    at = AppTest.from_file(path, default_timeout=120)
    if visitor is not None:
        at.query_params["visitor"] = visitor
    return at.run()


def owned_job(runs, visitor: str, done_with: str | None = None) -> int:
    """A job of `visitor`: running under this test process, or done with a copy of the checkpoint `done_with`."""
    job_id = fake_running_job(runs)
    with store.opened(runs) as con:
        con.execute("UPDATE jobs SET visitor = ? WHERE id = ?", (visitor, job_id))
    if done_with is not None:
        job = jobs.get_job(job_id, runs, check=False)
        store.job_dir(runs, job_id).mkdir(parents=True, exist_ok=True)
        shutil.copy(done_with, job.checkpoint_path)
        finish_fake_job(runs, job_id)
    return job_id


def submit(at: AppTest) -> AppTest:
    return at.button(key="job_submit").click().run()


def started_by(at: AppTest) -> dict[int, str]:
    frame = at.dataframe[0].value
    return dict(zip(frame["Job"], frame["Started by"]))


# -- visitors -------------------------------------------------------------------------------------------------


def test_a_new_visitor_gets_an_id_in_the_url_and_a_reload_keeps_it(runs):
    at = page(TRAINING, None)
    assert not at.exception
    vid = at.session_state["visitor"]
    assert jobs.is_visitor_id(vid) and at.query_params["visitor"] == vid
    again = page(TRAINING, vid)  # a reload: a new session, the id read back from the URL
    assert again.session_state["visitor"] == vid
    other = page(TRAINING, None)
    assert other.session_state["visitor"] != vid
    forged = page(TRAINING, "operator")  # the CLI's name is no visitor id: a new one is made
    assert forged.session_state["visitor"] != "operator"


def test_a_reload_keeps_a_visitors_jobs_theirs(runs, busy):
    first = page(TRAINING, None)
    vid = first.session_state["visitor"]
    submit(first)
    assert not first.exception and any("queued" in s.value for s in first.success)
    mine = next(i for i, who in started_by(first).items() if who == "you")
    assert jobs.get_job(mine, runs, check=False).visitor == vid

    reloaded = page(TRAINING, vid)
    assert started_by(reloaded)[mine] == "you" and started_by(reloaded)[busy] == "operator (CLI)"
    reloaded.selectbox(key="detail").set_value(mine).run()
    assert reloaded.button(key=f"cancel_{mine}")  # still theirs to cancel

    stranger = page(TRAINING, BOB)
    assert started_by(stranger)[mine] == "another visitor"
    assert vid not in str(stranger.dataframe[0].value.to_dict())  # another visitor's id is never shown


def test_a_visitor_cannot_cancel_another_visitors_job(runs, busy):
    alices = owned_job(runs, ALICE)  # 'running' under this test process: nobody may cancel it here
    bob = page(TRAINING, BOB)
    bob.selectbox(key="detail").set_value(alices).run()
    assert not bob.exception
    assert not [b for b in bob.button if b.key == f"cancel_{alices}"]
    assert not [b for b in bob.button if b.key == f"cancel_{busy}"]  # nor the operator's
    with pytest.raises(jobs.NotYourJob, match="not yours"):
        jobs.cancel(alices, visitor=BOB)
    assert jobs.get_job(alices, runs, check=False).status == "running"

    alice = page(TRAINING, ALICE)
    alice.selectbox(key="detail").set_value(alices).run()
    assert alice.button(key=f"cancel_{alices}")  # the owner sees it


def test_a_visitor_cancels_their_own_queued_job(runs, busy):
    alice = page(TRAINING, ALICE)
    submit(alice)
    queued = next(i for i, who in started_by(alice).items() if who == "you")
    alice.selectbox(key="detail").set_value(queued).run()
    alice.button(key=f"cancel_{queued}").click().run()
    assert not alice.exception
    assert jobs.get_job(queued, runs, check=False).status == "cancelled"


# -- quotas ---------------------------------------------------------------------------------------------------


def test_a_visitors_third_submission_is_refused_with_the_quota_message(runs, busy):
    alice = page(TRAINING, ALICE)
    submit(alice)
    submit(alice)
    assert not alice.error
    submit(alice)
    assert len(alice.error) == 1
    message = alice.error[0].value
    assert "limit per visitor is 2" in message and "frees up when one of them ends" in message
    assert "\n" not in message
    assert sum(1 for j in jobs.list_jobs(runs, check=False) if j.visitor == ALICE) == 2

    bob = page(TRAINING, BOB)  # the quota is per visitor: Bob still may
    submit(bob)
    assert not bob.error


def test_the_quota_counts_running_jobs_and_the_operator_is_never_limited(runs, busy, monkeypatch):
    owned_job(runs, ALICE)  # running
    jobs.submit(jobs.JobParams(), visitor=ALICE)
    with pytest.raises(jobs.QuotaError, match="limit per visitor is 2"):
        jobs.submit(jobs.JobParams(), visitor=ALICE)
    for _ in range(3):
        assert jobs.submit(jobs.JobParams()).visitor == jobs.OPERATOR  # the CLI's
    monkeypatch.setenv("QNN_QUEUE_MAX", "4")
    with pytest.raises(jobs.QuotaError, match=r"queue is full \(4 jobs waiting, the limit is 4\)"):
        jobs.submit(jobs.JobParams(), visitor=BOB)


def test_quota_settings_from_the_environment_and_the_database(runs, monkeypatch):
    assert (quotas.current().jobs_per_visitor, quotas.current().queue_max) == (2, 20)
    monkeypatch.setenv("QNN_JOBS_PER_VISITOR", "3")
    assert quotas.current().jobs_per_visitor == 3
    quotas.set_quotas(5, 7)
    assert (quotas.current().jobs_per_visitor, quotas.current().queue_max) == (5, 7)
    assert quotas.reset().jobs_per_visitor == 3 and quotas.current().queue_max == 20
    monkeypatch.setenv("QNN_QUEUE_MAX", "many")
    with pytest.raises(ValueError, match="QNN_QUEUE_MAX must be a whole number"):
        quotas.current()
    with pytest.raises(ValueError, match="between 1 and"):
        quotas.set_quotas(0, 3)


# -- models per visitor, and the teacher ------------------------------------------------------------------------


def upload_seven(at: AppTest, png: bytes) -> AppTest:
    at.get("file_uploader")[0].upload("seven.png", png, "image/png")
    return at.run()


def shown(at: AppTest) -> tuple[str, str]:
    """The big label and its confidence line, as the page shows them."""
    html = next(m.value for m in at.markdown if "qnn-label" in m.value)
    label = re.search(r"qnn-label[^>]*>([^<]*)<", html).group(1)
    confidence = re.search(r"([0-9.]+% confident)", html).group(1)
    return label, confidence


@pytest.fixture(scope="module")
def seven_png(tmp_path_factory) -> bytes:
    from qnn_core.data.loaders import load_split

    test = load_split(get_task("mnist"), "test")
    image = Image.fromarray(255 - test.images[int(np.flatnonzero(test.labels == 7)[0])]).resize((280, 280))
    path = tmp_path_factory.mktemp("img") / "seven.png"
    image.convert("RGB").save(path)
    return path.read_bytes()


def expected(checkpoint, png: bytes) -> tuple[str, str]:
    from qnn_core.service import TaskService

    result = TaskService("mnist", checkpoint).classify(png)
    return result.label, f"{result.top[0][1]:.1%} confident"


def test_two_visitors_each_use_their_own_model_on_the_digits_page(runs, seven_png):
    mnist = get_task("mnist")
    hybrid = owned_job(runs, ALICE, done_with=mnist.checkpoint(True))
    classical = owned_job(runs, BOB, done_with=mnist.checkpoint(False))
    for vid, job_id in ((ALICE, hybrid), (BOB, classical)):
        at = page(TRAINING, vid)
        at.selectbox(key="detail").set_value(job_id).run()
        at.button(key=f"use_{job_id}").click().run()
        assert not at.exception and any("now use" in s.value for s in at.success)

    alice, bob = upload_seven(page(DIGITS, ALICE), seven_png), upload_seven(page(DIGITS, BOB), seven_png)
    assert not alice.exception and not bob.exception
    assert f"training job #{hybrid} to you" in alice.info[0].value
    assert f"training job #{classical} to you" in bob.info[0].value
    assert shown(alice) == expected(jobs.get_job(hybrid, runs).checkpoint_path, seven_png)
    assert shown(bob) == expected(jobs.get_job(classical, runs).checkpoint_path, seven_png)
    assert shown(alice) != shown(bob)  # two models, two answers (the same label, another confidence)
    assert jobs.active_job_id("mnist", runs) is None  # nobody else's pages changed

    carol = upload_seven(page(DIGITS, "carol-visitor-token-0003"), seven_png)
    assert not [i for i in carol.info if "training job" in i.value]  # the shipped model
    assert shown(carol) == expected(mnist.checkpoint(True), seven_png)


def unlock(at: AppTest, token: str) -> AppTest:
    """Type the token and press Unlock in one run, as a form submits."""
    at.text_input(key="teacher_token").input(token)
    return at.button(key="teacher_unlock_button").click().run()


def test_without_a_token_nobody_is_the_teacher(runs):
    owned_job(runs, ALICE, done_with=get_task("mnist").checkpoint(True))
    at = page(TRAINING, ALICE)
    assert not at.exception
    assert not [t for t in at.text_input if t.key == "teacher_token"]
    assert not [b for b in at.button if b.key.startswith("use_all_")]


def test_with_the_admin_token_one_model_is_served_to_both_visitors_and_a_wrong_token_is_refused(
    runs, monkeypatch, seven_png
):
    monkeypatch.setenv("QNN_ADMIN_TOKEN", TOKEN)
    job_id = owned_job(runs, BOB, done_with=get_task("mnist").checkpoint(False))
    teacher = page(TRAINING, "teacher-visitor-token-01")

    unlock(teacher, "wrong-token")
    assert [e.value for e in teacher.error] == ["That is not the teacher token."]
    assert not [b for b in teacher.button if b.key.startswith("use_all_")]

    unlock(teacher, TOKEN)
    assert not teacher.error and not teacher.exception
    teacher.selectbox(key="detail").set_value(job_id).run()
    teacher.button(key=f"use_all_{job_id}").click().run()
    assert not teacher.exception and jobs.active_job_id("mnist", runs) == job_id

    for vid in (ALICE, BOB):
        at = upload_seven(page(DIGITS, vid), seven_png)
        assert f"training job #{job_id} to everyone" in at.info[0].value
        assert shown(at) == expected(jobs.get_job(job_id, runs).checkpoint_path, seven_png)


def test_the_teacher_cancels_any_job_and_changes_the_quotas(runs, busy, monkeypatch):
    monkeypatch.setenv("QNN_ADMIN_TOKEN", TOKEN)
    teacher = page(TRAINING, "teacher-visitor-token-01")
    unlock(teacher, TOKEN)
    assert teacher.session_state["teacher_unlocked"] is True
    kept = teacher.session_state["teacher_token"] if "teacher_token" in teacher.session_state else ""
    assert kept != TOKEN  # the form cleared it: only "unlocked" is kept

    teacher.number_input(key="quota_per").set_value(1)
    teacher.button(key="quota_save").click().run()
    assert quotas.current(runs).jobs_per_visitor == 1

    alice = page(TRAINING, ALICE)
    submit(alice)
    submit(alice)
    assert "limit per visitor is 1" in alice.error[0].value

    queued = next(j.id for j in jobs.list_jobs(runs, check=False) if j.visitor == ALICE)
    teacher.run()  # the page's refresh, which lists Alice's new job
    teacher.selectbox(key="detail").set_value(queued).run()
    teacher.button(key=f"cancel_{queued}").click().run()
    assert jobs.get_job(queued, runs, check=False).status == "cancelled"
    teacher.selectbox(key="detail").set_value(busy).run()
    assert teacher.button(key=f"cancel_{busy}")  # the operator's too (not pressed: its pid is a sleep process)


def test_the_token_is_compared_whole():
    assert jobs.token_matches(TOKEN, TOKEN)
    assert not jobs.token_matches(TOKEN[:-1], TOKEN) and not jobs.token_matches(TOKEN + "x", TOKEN)
    assert not jobs.token_matches("", "") and not jobs.token_matches(TOKEN, None)


def test_an_old_database_gets_the_visitor_column_with_the_cli_as_owner(tmp_path):
    import sqlite3

    con = sqlite3.connect(tmp_path / store.DB_NAME)
    con.executescript(store.SCHEMA)
    con.execute("INSERT INTO jobs (task, params, status, created_at) VALUES ('mnist', '{}', 'done', 0)")
    con.commit()
    con.close()
    with store.opened(tmp_path) as con:
        assert store.all_jobs(con)[0].visitor == jobs.OPERATOR
        assert con.execute("SELECT COUNT(*) FROM visitor_models").fetchone()[0] == 0


def test_two_clicks_at_once_cannot_both_take_a_visitors_last_quota_slot(runs, busy, monkeypatch):
    """The quota is checked inside the transaction that inserts the job: of eight submissions at once by one
    visitor with one slot, exactly one is queued."""
    from concurrent.futures import ThreadPoolExecutor

    monkeypatch.setenv("QNN_JOBS_PER_VISITOR", "1")

    def attempt(_):
        try:
            return jobs.submit(jobs.JobParams(), visitor=ALICE).id
        except jobs.QuotaError:
            return None

    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(attempt, range(8)))
    assert sum(o is not None for o in outcomes) == 1
    assert [j.visitor for j in jobs.list_jobs(runs, check=False)].count(ALICE) == 1


def test_the_admin_token_can_come_from_the_secrets_file(runs):
    """`admin_token` in .streamlit/secrets.toml works like QNN_ADMIN_TOKEN (here through AppTest's secrets)."""
    at = AppTest.from_file(TRAINING, default_timeout=120)
    at.query_params["visitor"] = "teacher-visitor-token-01"
    at.secrets["admin_token"] = TOKEN
    at.run()
    unlock(at, TOKEN)
    assert not at.exception and at.session_state["teacher_unlocked"] is True
