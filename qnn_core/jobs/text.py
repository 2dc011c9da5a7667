"""Plain-text rendering of jobs for the CLI (and the small formatters the page shares)."""

from __future__ import annotations

import json
import time

from qnn_core.jobs.store import Job


def format_duration(seconds: float | None) -> str:
    """'1h 02m', '3m 05s', '42s', or '–' when unknown."""
    if seconds is None:
        return "–"
    s = int(round(seconds))
    if s >= 3600:
        return f"{s // 3600}h {s % 3600 // 60:02d}m"
    if s >= 60:
        return f"{s // 60}m {s % 60:02d}s"
    return f"{s}s"


def format_time(t: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t)) if t else "–"


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{x:.1%}"


def jobs_table(jobs: list[Job]) -> str:
    if not jobs:
        return "no jobs yet (submit one with: qnn jobs submit --task mnist)"
    head = ("ID", "TASK", "MODEL", "STATUS", "PROGRESS", "IMG/S", "ETA", "VAL ACC", "TEST ACC", "CREATED", "RUNS ON")
    rows = [head]
    for j in jobs:
        rows.append(
            (
                str(j.id),
                j.task,
                j.model_label,
                j.status,
                f"{j.progress:.0%}",
                "–" if j.images_per_s is None else f"{j.images_per_s:.0f}",
                format_duration(j.eta_s),
                _pct(j.val_acc),
                _pct(j.test_accuracy),
                format_time(j.created_at),
                j.where,
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows)


def job_details(job: Job, metrics: list[dict]) -> str:
    lines = [
        f"job {job.id}: {job.task}, {job.model_label} — {job.status}",
        f"  parameters : {json.dumps(job.params)}",
        f"  created    : {format_time(job.created_at)}",
        f"  started    : {format_time(job.started_at)}",
        f"  finished   : {format_time(job.finished_at)}",
        f"  elapsed    : {format_duration(job.elapsed_s)}",
        f"  progress   : {job.progress:.0%}"
        + (f" (ETA {format_duration(job.eta_s)})" if job.eta_s is not None else ""),
        f"  runs on    : {job.where}",
        f"  pid        : {job.pid or '–'}",
        f"  log        : {job.log_path}",
        f"  checkpoint : {job.checkpoint_path}",
    ]
    if job.backend == "ray":
        lines[-3:-3] = [
            f"  ray job    : {job.ray_submission_id or '–'} at {job.ray_address or '–'}",
            f"  data root  : {job.data_root or '–'} (on the nodes)",
        ]
        if job.remote_checkpoint:
            lines.append(f"  sent from  : {job.remote_checkpoint} (sha256 {job.checkpoint_sha256})")
    epochs = [m for m in metrics if m["kind"] == "epoch"]
    if epochs:
        lines.append("  epochs     :")
        for m in epochs:
            lines.append(
                f"    {m['epoch']:>3}  loss {m['loss']:.4f}  train acc {m['train_acc']:.4f}  "
                f"val acc {m['val_acc']:.4f}  {m['epoch_time_s']}s  {m['images_per_s']:.0f} img/s"
            )
    elif job.loss is not None:
        lines.append(
            f"  latest     : epoch {job.epoch} step {job.step}/{job.steps} loss {job.loss:.4f} "
            f"acc {job.train_acc:.4f} {job.images_per_s:.0f} img/s"
        )
    if job.result:
        r = job.result
        lines.append(f"  test acc   : {r['accuracy']:.4f} on {r.get('note', str(r['n']) + ' test images')}")
        if "accuracy_quantum_off" in r:
            lines.append(f"  quantum off: {r['accuracy_quantum_off']:.4f}")
    if job.error:
        lines.append(f"  error      : {job.error}")
    if job.log_tail and job.status != "done":
        lines.append("  log tail   :")
        lines.extend("    " + line for line in job.log_tail.splitlines())
    return "\n".join(lines)
