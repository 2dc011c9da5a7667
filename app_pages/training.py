"""Training page: start background training jobs, watch them live, compare them, pick a model to serve.

Thin UI over qnn_core.jobs: the jobs run in their own processes (here, or as Ray jobs on a cluster when the
server is configured so), so this page only reads their state from the runs directory and refreshes that part
every few seconds.

A class shares one server: everyone sees every job and its curves, but a visitor (app_pages/visitor.py) cancels
only their own jobs, "Use this model" serves their own pages only, and the quotas bound what each may queue. The
teacher, once the token is entered, may cancel any job, serve a model to everyone and change the quotas.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
import streamlit as st

from app_pages.visitor import admin_token, is_teacher, lock, unlock, visitor_id
from qnn_core import jobs
from qnn_core.jobs import quotas
from qnn_core.tasks import TASKS

REFRESH_S = 3.0
STATUS_ICON = {
    "queued": "⏳ queued",
    "running": "🏃 running",
    "done": "✅ done",
    "failed": "❌ failed",
    "cancelled": "⛔ cancelled",
}
TROUBLE = (ValueError, KeyError, OSError, sqlite3.Error)  # shown as a message, never as a traceback
DEVICES = ("auto", "cpu", "cuda")
CHART_HEIGHT = 330
PLOTLY_CONFIG = {"displayModeBar": "hover", "displaylogo": False}


# -- pure helpers (no Streamlit calls: tested by importing this module) -------------------------------------------


def job_label(job: jobs.Job) -> str:
    return f"#{job.id} {job.task} · {job.model_label} · {job.status}"


def default_selection(
    job_ids: Sequence[int], previous: Sequence[int] | None, known: Iterable[int] | None = None
) -> list[int]:
    """The jobs to compare: what the user chose last time (those still listed), plus the jobs new since then.

    `job_ids` are newest first; `previous` is the last selection (None: the page is new, so the newest job);
    `known` the ids listed last time, so that a job started since shows up at once. A job's status changing
    changes nothing here: the selection is kept by job id.
    """
    ids = list(job_ids)
    if previous is None:
        return ids[:1]
    known = set(ids if known is None else known)
    new = [i for i in ids if i not in known]
    return new + [i for i in previous if i in ids and i not in new]


def kept_choice(job_ids: Sequence[int], previous: int | None, known: Iterable[int] | None = None) -> int | None:
    """The job whose details to show: the newest job started since the last look, else the previous one while
    it is listed, else the newest."""
    known = set(job_ids if known is None else known)
    new = [i for i in job_ids if i not in known]
    if new:
        return new[0]
    return previous if previous in job_ids else (job_ids[0] if job_ids else None)


def curve_figures(series: dict[str, list[dict]], epochs: int) -> tuple[go.Figure, go.Figure]:
    """Loss and validation accuracy against the epoch, one trace per job (name -> that job's metric rows).

    Both axes are fixed where autorange would mislead: the epochs from 0 to the longest job's, the accuracy
    from 0 to 100% and the loss from 0, also before any point is recorded (an empty autorange runs -1 to 4).
    """
    loss, acc = go.Figure(), go.Figure()
    any_loss = False
    for name, rows in series.items():
        batches = [r for r in rows if r["kind"] == "batch" and r.get("loss") is not None and r.get("steps")]
        per_epoch = [r for r in rows if r["kind"] == "epoch" and r.get("val_acc") is not None]
        any_loss |= bool(batches)
        loss.add_scatter(
            x=[r["epoch"] - 1 + r["step"] / r["steps"] for r in batches],
            y=[r["loss"] for r in batches],
            mode="lines+markers",
            name=name,
            cliponaxis=False,
        )
        acc.add_scatter(
            x=[r["epoch"] for r in per_epoch],
            y=[r["val_acc"] for r in per_epoch],
            mode="lines+markers",
            name=name,
            cliponaxis=False,
        )
    epochs = max(1, int(epochs))
    for fig, y in ((loss, "loss"), (acc, "accuracy")):
        fig.update_layout(
            height=CHART_HEIGHT,
            margin=dict(t=40, b=10, l=10, r=10),
            xaxis_title="epoch",
            yaxis_title=y,
            showlegend=bool(series),
            legend=dict(orientation="h", yanchor="top", y=-0.22, x=0),
        )
        fig.update_xaxes(range=[0, epochs], dtick=1 if epochs <= 20 else None)
    if any_loss:  # a statement, not a conditional expression: Streamlit's magic would draw the figure it returns
        loss.update_yaxes(rangemode="tozero")
    else:
        loss.update_yaxes(range=[0, 1])
    acc.update_yaxes(range=[0, 1], tickformat=".0%")
    return loss, acc


def owner(job: jobs.Job, visitor: str, teacher: bool = False) -> str:
    """Who started a job, as this visitor may see it: never another visitor's id (it would let them act as that
    visitor), only a short digest of it for the teacher."""
    if job.visitor == visitor:
        return "you"
    if job.visitor == jobs.OPERATOR:
        return "operator (CLI)"
    return f"visitor {jobs.tag(job.visitor)}" if teacher else "another visitor"


def new_job_form(visitor: str, teacher: bool = False) -> None:
    """The parameters, with a quick one-epoch demo as the default."""
    d = jobs.JobParams()
    with st.form("new_job"):
        c1, c2, c3 = st.columns(3)
        task = c1.selectbox("Task", list(TASKS), format_func=lambda n: TASKS[n].title, key="job_task")
        quantum = c1.toggle(
            "Quantum branch", value=d.quantum, help="Off trains the classical-only twin.", key="job_quantum"
        )
        qubits = c2.slider(
            "Qubits",
            jobs.LIMITS["n_qubits"][1],
            jobs.LIMITS["n_qubits"][2],
            d.n_qubits,
            help="Ignored when the quantum branch is off. A full MNIST epoch with 12 qubits costs "
            "about 1.1× one with 8 (the fused circuit; benchmarks/RESULTS.md §3).",
            key="job_qubits",
        )
        depth = c2.slider(
            "Circuit depth", 1, 6, d.q_depth, help="Layers of RX·RY rotations and a CNOT ring.", key="job_depth"
        )
        epochs = c3.number_input("Epochs", min_value=1, max_value=50, value=d.epochs, key="job_epochs")
        subset = c3.number_input(
            "Training images (0 = all)",
            min_value=0,
            max_value=60_000,
            value=d.subset,
            step=500,
            help="A subset makes a quick demo: 3,000 images and one epoch take about a minute.",
            key="job_subset",
        )
        with st.expander("More settings"):
            m1, m2, m3 = st.columns(3)
            lr = m1.number_input(
                "Learning rate", min_value=0.0, max_value=1.0, value=d.lr, step=0.001, format="%.4f", key="job_lr"
            )
            batch_size = m2.select_slider(
                "Batch size", [16, 32, 64, 128, 256, 512], value=d.batch_size, key="job_batch_size"
            )
            seed = m3.number_input("Seed", min_value=0, value=d.seed, step=1, key="job_seed")
            device = m1.selectbox(
                "Device",
                DEVICES,
                index=DEVICES.index(d.device),
                key="job_device",
                help="auto trains on a CUDA GPU when the machine running the job has one.",
            )
            processes = m2.number_input(
                "Processes",
                min_value=1,
                value=d.processes,
                step=1,
                key="job_processes",
                help="Data-parallel training processes (torchrun); 1 is a plain run.",
            )
        submitted = st.form_submit_button("Start training", type="primary", key="job_submit")
    if not submitted:
        return
    params = jobs.JobParams(
        task=task,
        quantum=bool(quantum),
        n_qubits=int(qubits),
        q_depth=int(depth),
        epochs=int(epochs),
        lr=float(lr),
        batch_size=int(batch_size),
        seed=int(seed),
        subset=int(subset) or None,
        device=str(device),
        processes=int(processes),
    )
    try:
        job = jobs.submit(params, visitor=visitor, limited=not teacher)
    except jobs.QuotaError as err:
        st.error(str(err))
        return
    except TROUBLE as err:
        st.error(f"Not started: {err.args[0] if err.args else err}")
        return
    where = "started" if job.status == "running" else "queued: it starts when the jobs before it end"
    st.success(f"Job #{job.id} ({job.task}, {job.model_label}) {where}.")


def jobs_frame(all_jobs: list[jobs.Job], visitor: str = "", teacher: bool = False) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "Job": job.id,
                "Started by": owner(job, visitor, teacher),
                "Task": job.task,
                "Model": job.model_label,
                "Status": STATUS_ICON.get(job.status, job.status),
                "Progress": job.progress,
                "Epoch": f"{job.epoch or 0}/{job.params.get('epochs')}",
                "Images/s": job.images_per_s,
                "ETA": jobs.format_duration(job.eta_s) if job.status == "running" else "",
                "Val acc": None if job.val_acc is None else 100 * job.val_acc,
                "Test acc": None if job.test_accuracy is None else 100 * job.test_accuracy,
                "Created": jobs.format_time(job.created_at),
                "Runs on": job.where,
            }
            for job in all_jobs
        ]
    )


def jobs_table(all_jobs: list[jobs.Job], visitor: str, teacher: bool) -> None:
    st.dataframe(
        jobs_frame(all_jobs, visitor, teacher),
        hide_index=True,
        key="jobs_table",
        column_config={
            "Progress": st.column_config.ProgressColumn("Progress", min_value=0.0, max_value=1.0, format="percent"),
            "Images/s": st.column_config.NumberColumn(format="%.0f"),
            "Val acc": st.column_config.NumberColumn(format="%.1f%%"),
            "Test acc": st.column_config.NumberColumn(format="%.1f%%"),
        },
    )


def curves(all_jobs: list[jobs.Job]) -> None:
    """Loss and validation accuracy of the selected jobs, overlaid.

    The options are job ids (the label comes from format_func), and the selection lives in session state by id,
    so a job that finishes stays selected although its label, and so the widget's identity, changes.
    """
    by_id = {j.id: j for j in all_jobs}
    ids = list(by_id)
    st.session_state["compare"] = default_selection(
        ids, st.session_state.get("compare"), st.session_state.get("compare_known")
    )
    st.session_state["compare_known"] = ids
    chosen = st.multiselect(
        "Compare jobs",
        ids,
        key="compare",
        format_func=lambda i: job_label(by_id[i]),
        placeholder="Pick jobs to compare their curves",
    )
    if not chosen:
        st.caption("No job picked: choose one or more above to see their loss and validation accuracy.")
        return
    series = {f"#{i} {by_id[i].model_label}": jobs.job_metrics(i) for i in chosen}
    loss, acc = curve_figures(series, max(int(by_id[i].params.get("epochs") or 1) for i in chosen))
    left, right = st.columns(2)
    left.markdown("**Training loss** (running mean within the epoch)")
    left.plotly_chart(loss, key="loss_chart", config=PLOTLY_CONFIG)
    right.markdown("**Validation accuracy** per epoch")
    right.plotly_chart(acc, key="acc_chart", config=PLOTLY_CONFIG)
    if not any(series.values()):
        st.caption("No metrics recorded yet: the curves appear with the first training steps.")


def evaluation(job: jobs.Job) -> None:
    r = job.result or {}
    c1, c2, c3 = st.columns(3)
    c1.metric("Test accuracy", f"{r['accuracy']:.2%}")
    if "accuracy_quantum_off" in r:
        c2.metric("With the quantum branch off", f"{r['accuracy_quantum_off']:.2%}")
    if r.get("val_accuracy") is not None:
        c3.metric("Validation accuracy", f"{r['val_accuracy']:.2%}")
    st.caption(f"Measured on the {r.get('note', str(r.get('n')) + ' test images')}.")
    spec = TASKS[job.task]
    names = [spec.label(i) for i in range(spec.num_classes)]
    fig = px.imshow(
        r["confusion"],
        x=names,
        y=names,
        text_auto=True,
        color_continuous_scale="Blues",
        labels=dict(x="predicted", y="true", color="images"),
        aspect="equal",
    )
    fig.update_layout(height=480, margin=dict(t=40, b=10))  # room for the toolbar above the matrix
    st.markdown("**Confusion matrix**")
    st.plotly_chart(fig, key=f"confusion_{job.id}", config=PLOTLY_CONFIG)


def _act(action, *args, done: str) -> None:
    """Button callback: runs before the rerun, so what the rerun shows already reflects the action."""
    try:
        action(*args)
        st.session_state["flash"] = ("success", done)
    except TROUBLE as err:
        st.session_state["flash"] = ("error", str(err.args[0] if err.args else err))


def model_choice(job: jobs.Job, visitor: str, teacher: bool) -> None:
    """'Use this model' / 'Revert to shipped' for this visitor's own pages; the teacher's pair for everyone's."""
    title = TASKS[job.task].title
    mine = jobs.served(job.task, visitor=visitor)
    everyone = jobs.served(job.task)
    if mine.job_id == job.id:
        st.success(
            f"Your {title} pages use this job's model"
            + (" (the teacher serves it to everyone)." if mine.scope == "everyone" else ".")
        )
    elif mine.job_id is not None:
        whose = "you chose" if mine.scope == "yours" else "the teacher serves to everyone"
        st.info(f"Your {title} pages use job #{mine.job_id}'s model, which {whose}.")
    done = job.status == "done"
    left, right = st.columns(2)
    left.button(
        "Use this model",
        key=f"use_{job.id}",
        disabled=not done or (mine.scope == "yours" and mine.job_id == job.id),
        help="Serve this model on your own pages of this task (other visitors keep theirs; the shipped "
        "checkpoint stays untouched).",
        on_click=_act,
        args=(lambda: jobs.use_model(job.id, task=job.task, visitor=visitor),),
        kwargs=dict(done=f"Your {title} pages now use job #{job.id}'s model."),
    )
    right.button(
        "Revert to shipped",
        key=f"revert_{job.task}",
        disabled=mine.scope != "yours",
        help="Your pages of this task go back to the model everyone gets.",
        on_click=_act,
        args=(lambda: jobs.revert_to_shipped(job.task, visitor=visitor),),
        kwargs=dict(done=f"Your {title} pages use the model everyone gets again."),
    )
    if not teacher:
        return
    st.caption(
        f"**Teacher:** everyone's {title} pages use "
        + (f"job #{everyone.job_id}'s model." if everyone.job_id is not None else "the shipped model.")
    )
    left, right = st.columns(2)
    left.button(
        "Serve to everyone",
        key=f"use_all_{job.id}",
        disabled=not done or everyone.job_id == job.id,
        help="Every visitor's pages of this task use this model (unless they chose their own).",
        on_click=_act,
        args=(lambda: jobs.use_model(job.id, task=job.task),),
        kwargs=dict(done=f"Everyone's {title} pages now use job #{job.id}'s model."),
    )
    right.button(
        "Revert everyone to shipped",
        key=f"revert_all_{job.task}",
        disabled=everyone.job_id is None,
        on_click=_act,
        args=(jobs.revert_to_shipped, job.task),
        kwargs=dict(done=f"Everyone's {title} pages use the shipped model again."),
    )


def details(all_jobs: list[jobs.Job], visitor: str, teacher: bool) -> None:
    by_id = {j.id: j for j in all_jobs}
    ids = list(by_id)
    st.session_state["detail"] = kept_choice(ids, st.session_state.get("detail"), st.session_state.get("detail_known"))
    st.session_state["detail_known"] = ids
    job_id = st.selectbox("Job details", ids, key="detail", format_func=lambda i: job_label(by_id[i]))
    job = by_id[job_id]
    if "flash" in st.session_state:
        kind, message = st.session_state.pop("flash")
        (st.success if kind == "success" else st.error)(message)
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("Status", job.status)
    c2.metric("Images/s", "–" if job.images_per_s is None else f"{job.images_per_s:.0f}")
    c3.metric("Elapsed", jobs.format_duration(job.elapsed_s))
    c4.metric("ETA", jobs.format_duration(job.eta_s) if job.status == "running" else "–")
    st.caption(
        f"Started by {owner(job, visitor, teacher)} · runs on {job.where}"
        + (f" · Ray job `{job.ray_submission_id}`" if job.ray_submission_id else "")
    )
    if job.status == "running":
        step = f"epoch {job.epoch}/{job.params['epochs']}, step {job.step}/{job.steps}" if job.epoch else "starting…"
        st.progress(job.progress, text=step)
    if not job.finished and (teacher or job.visitor == visitor):
        st.button(
            "Cancel job",
            key=f"cancel_{job.id}",
            on_click=_act,
            args=(lambda: jobs.cancel(job.id, visitor=None if teacher else visitor),),
            kwargs=dict(done=f"Job #{job.id} cancelled."),
        )
    if job.error:
        st.error(job.error)
    if job.status == "done" and job.result:
        evaluation(job)
    model_choice(job, visitor, teacher)
    with st.expander("Parameters"):
        st.json(job.params)
    with st.expander("Log (last lines)", expanded=not job.finished):
        st.code(jobs.job_log(job.id, lines=30) or "(nothing logged yet)", language=None)


@st.fragment(run_every=REFRESH_S)
def live(visitor: str, teacher: bool) -> None:
    """Re-runs on its own every few seconds, without reloading the page."""
    try:
        all_jobs = jobs.list_jobs()
        if not all_jobs:
            st.info("No jobs yet: set the parameters above and press *Start training*.")
            return
        st.subheader("Jobs")
        jobs_table(all_jobs, visitor, teacher)
        curves(all_jobs)
        st.subheader("Details")
        details(all_jobs, visitor, teacher)
    except TROUBLE as err:
        st.error(f"{err.args[0] if err.args else err}")


def backend_line(info: jobs.BackendInfo) -> str:
    """Where new jobs run and how many at once, in one sentence."""
    at_once = "1 job runs" if info.limit == 1 else f"{info.limit} jobs run"
    return f"Jobs run on {info.where} (backend *{info.name}*); {at_once} at a time and the others wait their turn."


def quota_line(q: jobs.Quotas) -> str:
    return (
        f"Each visitor may have {q.jobs_per_visitor} job{'s' if q.jobs_per_visitor != 1 else ''} queued or "
        f"running, and at most {q.queue_max} wait in the queue ({q.source})."
    )


def teacher_ui() -> bool:
    """The teacher's lock: a token field while locked, the quotas and a Lock button once unlocked; returns whether
    this session is the teacher's. Shows nothing when the server has no token (then nobody is)."""
    if admin_token() is None:
        return False
    with st.expander("👩‍🏫 Teacher", expanded=is_teacher()):
        if not is_teacher():
            with st.form("teacher_unlock", border=False):
                st.text_input("Teacher token", type="password", key="teacher_token")
                st.form_submit_button("Unlock", key="teacher_unlock_button", on_click=_unlock_clicked)
            if st.session_state.pop("teacher_refused", False):
                st.error("That is not the teacher token.")
            if not is_teacher():
                st.caption("The teacher can serve a model to everyone, cancel any job and change the quotas.")
                return False
        st.success("Teacher controls unlocked: *Serve to everyone* and *Cancel job* appear in the job details.")
        quotas_form()
        st.button("Lock", key="teacher_lock", on_click=lock)
    return True


def _unlock_clicked() -> None:
    """Check the entered token before the rerun, then forget it: the session keeps only whether it matched."""
    given = st.session_state.get("teacher_token", "")
    st.session_state["teacher_token"] = ""
    st.session_state["teacher_refused"] = not unlock(given)


def quotas_form() -> None:
    q = quotas.current()
    with st.form("quotas", border=False):
        c1, c2 = st.columns(2)
        per = c1.number_input(
            "Jobs per visitor", min_value=1, max_value=quotas.MAXIMUM, value=q.jobs_per_visitor, key="quota_per"
        )
        queue = c2.number_input(
            "Jobs waiting in all", min_value=1, max_value=quotas.MAXIMUM, value=q.queue_max, key="quota_queue"
        )
        save, reset = st.columns(2)
        if save.form_submit_button("Save quotas", key="quota_save"):
            _act(quotas.set_quotas, int(per), int(queue), done="Quotas saved: they apply to the next submission.")
            st.rerun()
        if reset.form_submit_button("Reset to the server's defaults", key="quota_reset"):
            _act(quotas.reset, done="Quotas reset to the environment's (or the defaults).")
            st.rerun()


def main() -> None:
    st.title("🏋️ Training")
    st.markdown(
        "Change the number of qubits or switch the quantum branch off, train, compare. Each job trains in its own "
        "process, so it keeps going when you reload or close this page. Every job's model is measured on the "
        "official test split when it ends."
    )
    visitor = visitor_id()
    try:
        st.caption(backend_line(jobs.backend_info()) + " " + quota_line(quotas.current()))
    except TROUBLE as err:
        st.error(f"The jobs backend is not usable: {err.args[0] if err.args else err}")
    st.caption(
        "Everyone sees every job and its curves. You can cancel your own jobs, and *Use this model* serves a "
        "model to your own pages only."
    )
    teacher = teacher_ui()
    if "flash" in st.session_state and st.session_state["flash"][1].startswith("Quotas"):
        kind, message = st.session_state.pop("flash")
        (st.success if kind == "success" else st.error)(message)
    new_job_form(visitor, teacher)
    live(visitor, teacher)


if __name__ == "__main__":  # as Streamlit runs a page; importing the module (tests) runs nothing
    main()
