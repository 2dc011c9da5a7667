"""The worker process: `python -m qnn_core.jobs worker ID` (started by the scheduler, not by hand).

It trains, evaluates the kept checkpoint on the test split, records everything in the
jobs database, and on its way out starts the next queued job. Its stdout/stderr is the
job's log file.
"""
from __future__ import annotations

import os
import signal
import sys
import time
import traceback
import warnings
from pathlib import Path
from types import FrameType

from qnn_core.jobs import procs, store
from qnn_core.jobs.params import JobParams
from qnn_core.jobs.scheduler import LOG_TAIL_LINES, reconcile

# A subset demo is measured on the first images of the official test split, to stay quick.
SUBSET_TEST_IMAGES = 2000


class Stopped(Exception):
    """Raised inside training when the process receives SIGTERM."""


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise Stopped()


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def evaluate_on_test(params: JobParams, checkpoint: Path) -> dict:
    """Accuracy and confusion of the kept checkpoint on the official test split (a slice for subset demos)."""
    from qnn_core.data.loaders import load_split
    from qnn_core.evaluation.evaluate import evaluate, public
    from qnn_core.models.checkpoint import load_checkpoint
    from qnn_core.tasks import get_task

    task = get_task(params.task)
    model, meta = load_checkpoint(checkpoint)
    test = load_split(task, "test")
    total = len(test)
    limit = params.test_images or (SUBSET_TEST_IMAGES if params.subset else total)
    test = test.subset(slice(0, min(total, limit)))
    result = public(evaluate(model, task, test))
    result.update(test_total=total, partial=len(test) < total, val_accuracy=meta.get("val_accuracy"),
                  best_epoch=meta.get("best_epoch"), train_time_s=meta.get("train_time_s"))
    result["note"] = (f"first {len(test):,} of the {total:,} official test images (quick check, not the full split)"
                      if result["partial"] else f"all {total:,} official test images")
    return result


def _progress_fn(con, job_id: int, epochs: int):
    def on_progress(event: dict) -> None:
        if event["event"] == "batch":
            done = (event["epoch"] - 1) + event["step"] / event["steps"]
            log(f"epoch {event['epoch']}/{epochs} step {event['step']}/{event['steps']} loss {event['loss']:.4f} "
                f"acc {event['train_acc']:.4f} {event['images_per_s']:.0f} img/s")
        else:
            done = event["epoch"]
            log(f"epoch {event['epoch']}/{epochs} done: loss {event['loss']:.4f} train acc {event['train_acc']:.4f} "
                f"val acc {event['val_acc']:.4f} ({event['epoch_time_s']}s, {event['images_per_s']:.0f} img/s)")
        # Training ends at 95%; the last 5% are the test evaluation.
        store.record_progress(con, job_id, event, 0.95 * min(1.0, done / epochs))
    return on_progress


def run(job_id: int) -> int:
    runs = store.runs_dir()
    con = store.connect(runs)
    with store.transaction(con):  # waits for the scheduler's commit that names this process
        job = store.get(con, job_id)
    if job is None or job.status != "running" or job.pid != os.getpid():
        log(f"job {job_id} is not assigned to this process (pid {os.getpid()}); exiting")
        return 1
    signal.signal(signal.SIGTERM, _on_sigterm)
    # The data loader hands torch read-only arrays on purpose; the warning would only confuse a log reader.
    warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
    status, error, result = "failed", None, None
    try:
        params = JobParams.from_dict(job.params).validate()
        log(f"job {job_id}: {params.task}, {params.model_label}, {params.to_dict()}")
        import torch  # noqa: F401  (slow import; the log shows the job is alive before it)

        from qnn_core.training.train import train

        train(params.train_config(), job.checkpoint_path, progress=_progress_fn(con, job_id, params.epochs), quiet=True)
        log("training finished; evaluating the kept checkpoint on the test split")
        result = evaluate_on_test(params, Path(job.checkpoint_path))
        log(f"test accuracy {result['accuracy']:.4f} on {result['note']}")
        status = "done"
    except Stopped:
        requested = bool(con.execute("SELECT cancel_requested FROM jobs WHERE id = ?", (job_id,)).fetchone()[0])
        status = "cancelled" if requested else "failed"
        error = None if requested else "Stopped by SIGTERM (not a user's cancel: shutdown?)."
        log("cancelled by the user" if requested else error)
    except Exception as err:  # anything in training or evaluation: record it, keep the traceback in the log
        traceback.print_exc()
        sys.stderr.flush()
        error = f"{type(err).__name__}: {err}"
        log(f"failed: {error}")
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
    store.finish(con, job_id, status, error=error, result=result,
                 log_tail=None if status == "done" else procs.tail(job.log_path, LOG_TAIL_LINES))
    con.close()
    reconcile(runs)  # start the next queued job, if any
    return 0 if status == "done" else 1
