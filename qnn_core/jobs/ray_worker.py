"""The Ray side of a job: `python -m qnn_core jobs ray-worker`, a Ray job's entrypoint (ray_backend submits it).

It runs on a cluster node, in Ray's unpacked copy of the repository (the job's working_dir), with
the job's parameters in $QNN_JOB_PARAMS and the data sets under $QNN_DATA_ROOT (paths.py). It
trains with the same trainer and measures with the same test evaluation as a local worker
(worker.py), but it cannot reach the app's database or folders, so it reports through its own log
(reports.py), which the app reads over Ray's Job Submission API. The checkpoint is written inside
the working directory, under this job's own folder (Ray reuses one unpacked working_dir for every
job with the same code), sent in the log, and removed when the job ends. Under torchrun
(processes > 1) every rank trains its shard and rank 0 alone reports and sends the checkpoint.

Exit status 0 means done; a stop (SIGTERM from `stop_job`) or an error exits 1, with a `stopped` or
`failed` report the app turns into the job's end (a stop while torch is still loading just ends the
process: see worker.import_trainer).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import sys
import traceback
import warnings
from collections.abc import Callable
from pathlib import Path

from qnn_core.jobs import reports, worker
from qnn_core.jobs.params import JobParams

OUTPUT_FOLDER = ".qnn-jobs"  # inside the job's working directory on the node


def _reporter(epochs: int) -> Callable[[dict], None]:
    def on_progress(event: dict) -> None:
        worker.log(worker.progress_line(event, epochs))
        reports.emit("progress", event=event, progress=worker.progress_fraction(event, epochs))

    return on_progress


def main() -> int:
    lead = not worker.torchrun_rank()  # rank 0 under torchrun, or the only process
    key = os.environ.get("QNN_JOB_KEY") or f"pid-{os.getpid()}"
    folder = Path.cwd() / OUTPUT_FOLDER / key
    checkpoint = folder / "model.pt"
    # The data loader hands torch read-only arrays on purpose; the warning would only confuse a log reader.
    warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
    try:
        params = JobParams.from_dict(json.loads(os.environ["QNN_JOB_PARAMS"])).validate()
        if lead:
            reports.emit(
                "started",
                host=socket.gethostname(),
                pid=os.getpid(),
                cwd=str(Path.cwd()),
                processes=params.processes,
                data_root=os.environ.get("QNN_DATA_ROOT"),
            )
            worker.log(f"{key} on {socket.gethostname()}: {params.task}, {params.model_label}, {params.to_dict()}")
        train = worker.import_trainer()  # slow; from here on SIGTERM is a Stopped to unwind
        train(params.train_config(), checkpoint, progress=_reporter(params.epochs) if lead else None, quiet=True)
        if not lead:
            return 0
        worker.log("training finished; evaluating the kept checkpoint on the test split")
        result = worker.evaluate_on_test(params, checkpoint)
        worker.log(f"test accuracy {result['accuracy']:.4f} on {result['note']}")
        reports.emit("result", result=result)
        reports.emit_checkpoint(checkpoint)
        worker.log(f"checkpoint sent through the job's log ({checkpoint.stat().st_size:,} bytes)")
        return 0
    except worker.Stopped:
        if lead:
            worker.log("stopped by SIGTERM (a cancel, or the cluster stopping the job)")
            reports.emit("stopped")
        return 1
    except Exception as err:  # training, evaluation or a bad environment: report it, keep the traceback in the log
        traceback.print_exc()
        sys.stderr.flush()
        error = f"{type(err).__name__}: {err}"
        if lead:
            worker.log(f"failed: {error}")
            reports.emit("failed", error=error)
        return 1
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        if lead:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
