"""The worker process: `qnn jobs worker ID` (started by the scheduler, not by hand).

It trains, evaluates the kept checkpoint on the test split, records everything in the
jobs database, and on its way out starts the next queued job. Its stdout/stderr is the
job's log file. A job with processes > 1 runs it under torchrun (`python -m
torch.distributed.run --standalone --nproc_per_node N -m qnn_core jobs worker ID`): every rank
trains its shard, rank 0 alone records progress, evaluates and ends the job, and the process
the scheduler knows is torchrun, the ranks' parent. A Ray job's worker (ray_worker) shares the
evaluation and the log lines defined here.
"""

from __future__ import annotations

import os
import signal
import sys
import time
import traceback
import warnings
from collections.abc import Callable
from pathlib import Path
from types import FrameType

from qnn_core.jobs import procs, store
from qnn_core.jobs.params import JobParams
from qnn_core.jobs.scheduler import LOG_TAIL_LINES, reconcile

# A subset demo is measured on the first images of the official test split, to stay quick.
SUBSET_TEST_IMAGES = 2000


class Stopped(BaseException):
    """Raised inside training when the process receives SIGTERM.

    A BaseException, like KeyboardInterrupt: an `except Exception` on its way (an optional import's fallback
    while torch and qiskit load, say) must not swallow the stop.
    """


def on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise Stopped()


def import_trainer() -> Callable[..., dict]:
    """The trainer (and what the test evaluation needs), imported before SIGTERM turns into Stopped.

    torch, torchquantum and qiskit take seconds to load, and an exception raised in the middle of that leaves
    half-imported modules behind that fail later with misleading errors. Until they are in, SIGTERM keeps its
    default action and ends the process at once (nothing to unwind yet); the scheduler, or Ray, records the cancel.
    """
    import qnn_core.data.loaders  # noqa: F401
    import qnn_core.evaluation.evaluate  # noqa: F401
    from qnn_core.training.train import train

    signal.signal(signal.SIGTERM, on_sigterm)
    return train


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
    limit = params.limit or (SUBSET_TEST_IMAGES if params.subset else total)
    test = test.subset(slice(0, min(total, limit)))
    result = public(evaluate(model, task, test))
    result.update(
        test_total=total,
        partial=len(test) < total,
        val_accuracy=meta.get("val_accuracy"),
        best_epoch=meta.get("best_epoch"),
        train_time_s=meta.get("train_time_s"),
    )
    result["note"] = (
        f"first {len(test):,} of the {total:,} official test images (quick check, not the full split)"
        if result["partial"]
        else f"all {total:,} official test images"
    )
    return result


def progress_line(event: dict, epochs: int) -> str:
    """What the log says about one progress event."""
    if event["event"] == "batch":
        return (
            f"epoch {event['epoch']}/{epochs} step {event['step']}/{event['steps']} loss {event['loss']:.4f} "
            f"acc {event['train_acc']:.4f} {event['images_per_s']:.0f} img/s"
        )
    return (
        f"epoch {event['epoch']}/{epochs} done: loss {event['loss']:.4f} train acc {event['train_acc']:.4f} "
        f"val acc {event['val_acc']:.4f} ({event['epoch_time_s']}s, {event['images_per_s']:.0f} img/s)"
    )


def progress_fraction(event: dict, epochs: int) -> float:
    """The job's progress after this event: training ends at 95%; the last 5% are the test evaluation."""
    done = (event["epoch"] - 1) + event["step"] / event["steps"] if event["event"] == "batch" else event["epoch"]
    return 0.95 * min(1.0, done / epochs)


def torchrun_rank() -> int | None:
    """This process's rank when torchrun started it (it sets RANK for every process), else None."""
    rank = os.environ.get("RANK")
    return int(rank) if rank is not None and "TORCHELASTIC_RUN_ID" in os.environ else None


def _progress_fn(con, job_id: int, epochs: int):
    def on_progress(event: dict) -> None:
        log(progress_line(event, epochs))
        store.record_progress(con, job_id, event, progress_fraction(event, epochs))

    return on_progress


def _train_as_follower(job: store.Job) -> int:
    """A torchrun rank other than 0: its share of the training, nothing recorded (rank 0 does that)."""
    try:
        train = import_trainer()
        train(JobParams.from_dict(job.params).train_config(), job.checkpoint_path, quiet=True)
        return 0
    except Stopped:
        return 1


def run(job_id: int) -> int:
    runs = store.runs_dir()
    con = store.connect(runs)
    rank = torchrun_rank()
    owner = os.getpid() if rank is None else os.getppid()  # under torchrun the scheduler started torchrun
    with store.transaction(con):  # waits for the scheduler's commit that names this process
        job = store.get(con, job_id)
    if job is None or job.status != "running" or job.pid != owner:
        log(f"job {job_id} is not assigned to this process (pid {os.getpid()}); exiting")
        return 1
    # The data loader hands torch read-only arrays on purpose; the warning would only confuse a log reader.
    warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
    if rank:
        con.close()
        return _train_as_follower(job)
    status, error, result = "failed", None, None
    try:
        params = JobParams.from_dict(job.params).validate()
        log(f"job {job_id}: {params.task}, {params.model_label}, {params.to_dict()}")
        train = import_trainer()  # slow; the log line above shows the job is alive before it
        train(params.train_config(), job.checkpoint_path, progress=_progress_fn(con, job_id, params.epochs), quiet=True)
        log("training finished; evaluating the kept checkpoint on the test split")
        result = evaluate_on_test(params, Path(job.checkpoint_path))
        log(f"test accuracy {result['accuracy']:.4f} on {result['note']}")
        status = "done"
    except Stopped:
        requested = bool(con.execute("SELECT cancel_requested FROM jobs WHERE id = ?", (job_id,)).fetchone()[0])
        status = "cancelled" if requested else "failed"
        error = (
            None
            if requested
            else (
                "Stopped by SIGTERM (not a user's cancel: shutdown?)."
                if rank is None
                else "Stopped by SIGTERM: another of the job's processes failed (see the log), or a shutdown."
            )
        )
        log("cancelled by the user" if requested else error)
    except Exception as err:  # anything in training or evaluation: record it, keep the traceback in the log
        traceback.print_exc()
        sys.stderr.flush()
        error = f"{type(err).__name__}: {err}"
        log(f"failed: {error}")
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
    store.finish(
        con,
        job_id,
        status,
        error=error,
        result=result,
        log_tail=None if status == "done" else procs.tail(job.log_path, LOG_TAIL_LINES),
    )
    con.close()
    reconcile(runs)  # start the next queued job, if any
    return 0 if status == "done" else 1
