"""Benchmarks: what the models and the quantum branch cost on this machine.

    python -m benchmarks.run [--only SECTION ...] [--quick] [--threads 1] [--out benchmarks/results.json] [--readme]

Sections (each runnable alone with --only): latency, batch, quantum_cost, qnn_scaling, simulators, training,
memory, app, concurrency, data_parallel, quantum_views, classroom, device. Every timing is a median (and p95) over repeats after a warm-up. Writes results.json, RESULTS.md
and qnn_scaling.png into the folder of --out; with --only, the other sections already in that JSON are kept.
--quick shrinks every repeat count so the whole script runs in a minute or two (the CI test uses it; its
numbers mean nothing) and writes to runs/bench-quick/ unless --out says otherwise. The simulator comparison
needs PennyLane (pip install -e '.[bench]'); without it that section is recorded as skipped.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import torch

from qnn_core.fileio import write_json_atomic
from qnn_core.tasks import REPO_ROOT

from . import report
from .timing import load_average, machine_details

SECTIONS = (
    "latency",
    "batch",
    "quantum_cost",
    "qnn_scaling",
    "simulators",
    "training",
    "memory",
    "app",
    "concurrency",
    "data_parallel",
    "quantum_views",
    "classroom",
    "device",
)
DEFAULT_OUT = REPO_ROOT / "benchmarks" / "results.json"
QUICK_OUT = REPO_ROOT / "runs" / "bench-quick" / "results.json"


def run_section(name: str, budget, threads: int, out_dir: Path) -> dict:
    from . import sections

    if name == "latency":
        return sections.single_image_latency(budget)
    if name == "batch":
        return sections.batch_throughput(budget)
    if name == "quantum_cost":
        from . import qnn

        return qnn.quantum_cost(budget)
    if name == "qnn_scaling":
        from . import qnn

        return qnn.qnn_scaling(budget, out_dir / "qnn_scaling.png")
    if name == "simulators":
        from . import simulators

        if not simulators.pennylane_available():
            return {"skipped": "PennyLane is not installed (pip install -e '.[bench]')"}
        return simulators.compare(budget)
    if name == "training":
        return sections.training_throughput(budget, threads)
    if name == "memory":
        return sections.peak_memory(threads)
    if name == "app":
        from .app_timing import time_to_first_prediction

        return time_to_first_prediction(threads)
    if name == "concurrency":
        from .concurrency import concurrency

        return concurrency(budget)
    if name == "data_parallel":
        from .data_parallel import data_parallel

        return data_parallel(budget)
    if name == "quantum_views":
        from .quantum_views import quantum_views

        return quantum_views(budget)
    if name == "classroom":  # this checkout alone; `python -m benchmarks.classroom --baseline DIR` adds a baseline
        from .classroom import measure

        return measure({"this": REPO_ROOT}, budget.classroom_repeats, budget.classroom_rounds)
    if name == "device":
        from .device_run import device_run

        return device_run(budget)
    raise KeyError(name)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.split("\n")[0])
    p.add_argument("--only", nargs="+", choices=SECTIONS, help="run only these sections (others in --out are kept)")
    p.add_argument("--quick", action="store_true", help="tiny repeats: checks the script works, numbers mean nothing")
    p.add_argument("--threads", type=int, default=1, help="torch threads (default 1: the machine is shared)")
    p.add_argument("--out", type=Path, help=f"results JSON (default {DEFAULT_OUT.relative_to(REPO_ROOT)})")
    p.add_argument("--readme", action="store_true", help="also rewrite docs/performance.md's block")
    p.add_argument(
        "--report-only",
        action="store_true",
        help="measure nothing; rewrite RESULTS.md (and with --readme docs/performance.md)",
    )
    a = p.parse_args(argv)
    from .sections import Budget

    out = a.out or (QUICK_OUT if a.quick else DEFAULT_OUT)
    torch.set_num_threads(a.threads)
    budget = Budget.quick() if a.quick else Budget()
    old = json.loads(out.read_text()) if out.is_file() else {}
    data = old if old.get("quick") == a.quick else {}
    data.setdefault("sections", {})
    if not a.report_only:
        names = a.only or list(SECTIONS)
        cmd = "python -m benchmarks.run" + (" --quick" if a.quick else "") + (f" --threads {a.threads}")
        machine = machine_details()
        # A partial run (--only) on another machine must not relabel the sections it kept: each section records
        # its own CPU, and the file's machine stays that of the last full run.
        if not a.only or "machine" not in data:
            data["machine"] = machine
        data.update(
            quick=a.quick, threads=a.threads, last_command=cmd + (" --only " + " ".join(a.only) if a.only else "")
        )
        run_info = {
            "started": datetime.now(UTC).isoformat(timespec="seconds"),
            "load_avg_start": load_average(),
            "sections": names,
        }
        for name in names:
            print(f"[benchmarks] {name} ...", file=sys.stderr, flush=True)
            t0, load0 = time.time(), load_average()
            try:
                result = run_section(name, budget, a.threads, out.parent)
            except Exception as err:  # one broken section must not lose the others; it is recorded as failed
                result = {"failed": f"{type(err).__name__}: {err}"}
                print(f"[benchmarks] {name} FAILED: {err}", file=sys.stderr, flush=True)
            result.update(
                wall_s=round(time.time() - t0, 1),
                load_avg_start=load0,
                load_avg_end=load_average(),
                cpu=machine.get("cpu"),
                measured=datetime.now(UTC).isoformat(timespec="seconds"),
            )
            data["sections"][name] = result
            write_json_atomic(data, out)
        run_info.update(
            finished=datetime.now(UTC).isoformat(timespec="seconds"),
            load_avg_end=load_average(),
            command=data["last_command"],
        )
        data.pop("last_run", None)
        data.setdefault("runs", []).append(run_info)
        write_json_atomic(data, out)
    (out.parent / "RESULTS.md").write_text(report.markdown(data))
    if a.readme:
        report.update_readme(report.readme_block(data))
    failed = [k for k, v in data["sections"].items() if "failed" in v]
    if failed:
        print(f"[benchmarks] failed sections: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
