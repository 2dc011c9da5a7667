"""Accuracy as the quantum branch is read out like hardware would: from few shots, and under noise.

    qnn curves [--tasks ...] [--limit N] [--out benchmarks/readout_curves.json] [--report-only]
               [--qpu fake_kolkata] [--qpu-images 500] [--qpu-shots 1000] [--qpu-only]

For every task's hybrid and (handwriting tasks) quantum-bottleneck model it measures test accuracy with the
circuit's <Z> estimated from 10 ... 1000 shots per image (three sampling seeds each, their mean and range) and
under depolarizing noise p = 0 ... 0.2 per gate layer (exact <Z> of the noisy state, Heisenberg picture:
the whole test split costs a few seconds). The backbone runs once per model; only the circuit and the head are
re-run per setting. JSON, a Markdown table and a PNG chart come out; the Results page draws the same JSON.

The "real device" column: each handwriting task's bottleneck and the digits hybrid with their <Z> from 1,000
shots of the circuit routed onto a simulated IBM device (`--qpu`, qiskit's fake backend: its coupling map and
calibrated noise, simulated by qiskit-aer; inference/device_noise.py), on the first `--qpu-images` test images,
beside the exact and ideal-shots accuracy on the same images, and the depolarizing p that shrinks the <Z> as
much as the device (and the one that costs as much accuracy, where the device costs any). `--qpu-only` measures
just that column into the existing JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from qnn_core.cli_args import OneLineParser, add_limit, positive_int
from qnn_core.data.loaders import has_split, load_split
from qnn_core.evaluation import readme
from qnn_core.evaluation.ablation import machine
from qnn_core.evaluation.committed import (  # noqa: F401  (the readers, re-exported)
    CURVES_JSON,
    MODEL_WORDS,
    NOISE,
    SHOTS,
    device_words,
    load_curves,
    plain_words,
    share_words,
)
from qnn_core.fileio import write_json_atomic
from qnn_core.inference.batch import branch_inputs, head_logits
from qnn_core.inference.quantum_readout import BatchReadout, Readout
from qnn_core.inference.quantum_state import Circuit
from qnn_core.models.checkpoint import load_checkpoint
from qnn_core.tasks import TASKS, get_task

DEFAULT_JSON = CURVES_JSON
SEEDS = (0, 1, 2)
CURVE_MODELS = ("hybrid", "bottleneck")
# The real-device column: which device, on how many test images (the first ones), how many shots each.
DEVICE_QPU, DEVICE_IMAGES, DEVICE_SHOTS, DEVICE_SEED = "fake_kolkata", 500, 1000, 0
DEVICE_HYBRIDS = ("mnist",)  # the hybrids measured on the device (every handwriting task's bottleneck is)
P_COARSE = tuple(round(0.01 * i, 2) for i in range(31))  # 0 ... 0.3: where the device's accuracy is matched,
P_STEP = 0.001  # then refined in these steps between the two coarse points that bracket it


def measure(task_name: str, kind: str, limit: int | None = None) -> dict:
    """One model's accuracy against shots and against noise, on the official test split (its first `limit`)."""
    task = get_task(task_name)
    split = load_split(task, "test")
    if limit:
        split = split.subset(slice(0, limit))
    model, _ = load_checkpoint(task.model_checkpoint(kind))
    t0 = time.time()
    inputs = branch_inputs(model, task, split.images)
    circuit = Circuit(model.quantum)
    n_inputs = sum(len(angles) for angles, _ in inputs)

    def predictions(readout: Readout) -> np.ndarray:
        return head_logits(model, inputs, BatchReadout(circuit, readout, inputs=n_inputs))[0].argmax(1).numpy()

    def acc(readout: Readout) -> float:
        return float((predictions(readout) == split.labels).mean())

    def one_answer_share(readout: Readout) -> float:
        """How many of the predictions are the most frequent one (1 / classes for an even spread)."""
        return float(np.bincount(predictions(readout)).max() / len(split))

    exact = acc(Readout())
    shots = {}
    for n in SHOTS:
        runs = [acc(Readout(shots=n, seed=seed)) for seed in SEEDS]
        shots[str(n)] = {"mean": float(np.mean(runs)), "min": min(runs), "max": max(runs), "runs": runs}
    noise = {f"{p:g}": acc(Readout(noise=p)) if p else exact for p in NOISE}
    return {
        "task": task_name,
        "model": kind,
        "test_size": len(split),
        "exact": exact,
        "shots": shots,
        "noise": noise,
        "noise_one_answer_share": one_answer_share(Readout(noise=max(NOISE))),
        "chance": 1 / task.num_classes,
        "seconds": round(time.time() - t0, 1),
    }


def device_models(tasks) -> list[tuple[str, str]]:
    """(task, model) pairs of the device column: every shipped bottleneck of `tasks`, and the hybrids of
    DEVICE_HYBRIDS."""
    pairs = [(t, "hybrid") for t in tasks if t in DEVICE_HYBRIDS]
    pairs += [(t, "bottleneck") for t in tasks if "bottleneck" in get_task(t).models]
    return [(t, k) for t, k in pairs if get_task(t).model_checkpoint(k).is_file()]


def measure_device(task_name: str, kind: str, qpu: str, images: int, shots: int, seed: int = DEVICE_SEED) -> dict:
    """One model on the simulated device, on the first `images` test images: accuracy with <Z> from `shots`
    noisy shots, beside the exact and ideal-shots accuracy there, and the depolarizing p that matches it."""
    from qnn_core.inference.device_noise import DeviceEstimator, simulated  # imports Qiskit

    task = get_task(task_name)
    split = load_split(task, "test").subset(slice(0, images))
    model, _ = load_checkpoint(task.model_checkpoint(kind))
    inputs = branch_inputs(model, task, split.images)
    circuit = Circuit(model.quantum)
    n_inputs = sum(len(angles) for angles, _ in inputs)

    def expvals(estimator) -> list:  # each view's <Z>, (N, n) float32
        return [estimator.expvals(angles) for angles, _ in inputs]

    def predictions(zs: list) -> np.ndarray:
        logits = [model.fuse(classical, z)[0].detach() for (_, classical), z in zip(inputs, zs)]
        return (sum(logits) / len(logits)).argmax(1).numpy()

    def acc(preds: np.ndarray) -> float:
        return float((preds == split.labels).mean())

    exact_z = expvals(BatchReadout(circuit, Readout(), inputs=n_inputs))
    ideal_z = expvals(BatchReadout(circuit, Readout(shots=shots, seed=seed), inputs=n_inputs))
    t0 = time.time()
    device = simulated(model.quantum, qpu)
    built = time.time() - t0
    t0 = time.time()
    device_z = expvals(DeviceEstimator(device, shots, seed))
    seconds = time.time() - t0
    device_preds = predictions(device_z)
    accuracy = acc(device_preds)
    curve: dict[str, float] = {}  # p -> accuracy under the idealised channel, on the same images
    kept_curve: dict[str, float] = {}  # p -> how much of the exact <Z>'s size the channel keeps

    def at(ps) -> None:
        for p in ps:
            if f"{p:g}" not in curve:
                z = expvals(BatchReadout(circuit, Readout(noise=p)))
                curve[f"{p:g}"], kept_curve[f"{p:g}"] = acc(predictions(z)), shrink(exact_z, z)

    def refine(coarse: float | None) -> None:  # between the two coarse points around it
        if coarse is not None:
            low = max((p for p in P_COARSE if p < coarse), default=0.0)
            at(round(low + P_STEP * i, 4) for i in range(1, round(0.01 / P_STEP)))

    kept = shrink(exact_z, device_z)
    at(P_COARSE)
    refine(matching_p(curve, accuracy))
    refine(matching_p(kept_curve, kept))
    p_eq, p_kept = matching_p(curve, accuracy), matching_p(kept_curve, kept)
    row = {
        "qpu": qpu,
        "images": len(split),
        "shots": shots,
        "seed": seed,
        "accuracy": accuracy,
        "exact": acc(predictions(exact_z)),
        "ideal_shots": acc(predictions(ideal_z)),
        "noise_curve": curve,
        "kept_curve": kept_curve,
        "p_equivalent": p_eq,  # the channel's p with the device's accuracy (None: no p costs as much, or none less)
        "kept": kept,  # how much of the exact <Z>'s size the device keeps
        "p_same_shrink": p_kept,  # the channel's p that shrinks the <Z> as much
        "shot_scatter": mean_gap(ideal_z, exact_z),  # what 1,000 ideal shots alone move each <Z> by
        "routing": routing_summary(device.routing),
        "build_seconds": round(built, 1),
        "seconds": round(seconds, 1),
    }
    if p_kept is not None:  # the idealised channel that shrinks <Z> as much: how close are the two noises?
        depol_z = expvals(BatchReadout(circuit, Readout(noise=p_kept)))
        depol_preds = predictions(depol_z)
        row.update(
            accuracy_depolarizing=acc(depol_preds),
            gap_depolarizing=mean_gap(device_z, depol_z),
            agreement_depolarizing=float((depol_preds == device_preds).mean()),
        )
    return row


def matching_p(curve: dict, accuracy: float) -> float | None:
    """The smallest depolarizing p at which a falling curve of p (accuracy, or the <Z> kept) comes down to
    `accuracy` (linear between the measured p), or None where no p up to the largest measured one brings it that
    low, or it is there already at p = 0."""
    points = sorted((float(p), a) for p, a in curve.items())
    if not points or points[0][1] <= accuracy:
        return None
    for (p0, a0), (p1, a1) in zip(points, points[1:]):
        if a1 <= accuracy:
            return round(p0 + (a0 - accuracy) / (a0 - a1) * (p1 - p0), 4)
    return None


def shrink(exact: list, noisy: list) -> float:
    """The least-squares slope of noisy <Z> against exact <Z> through 0, over every image, view and qubit."""
    e = np.concatenate([z.numpy().ravel() for z in exact]).astype(np.float64)
    n = np.concatenate([z.numpy().ravel() for z in noisy]).astype(np.float64)
    return round(float(e @ n / max(e @ e, 1e-12)), 4)


def mean_gap(a: list, b: list) -> float:
    """Mean |difference| of two sets of <Z>, over every image, view and qubit."""
    return round(float(np.mean(np.concatenate([(x - y).abs().numpy().ravel() for x, y in zip(a, b)]))), 4)


def routing_summary(r) -> dict:
    return {
        "snapshot": r.device.snapshot,
        "physical_qubits": list(r.physical),
        "cnots": [r.cnots_before, r.cnots_after],
        "depth": [r.depth_before, r.depth_after],
        "swaps": r.swaps,
        "free": {"cnots": r.free.cnots, "depth": r.free.depth, "qubits": len(r.free.qubits)},
        "median_cx_error": round(r.median_cx_error_used, 5),
    }


def table(data: dict) -> str:
    device = next((r["device"] for r in data["results"] if "device" in r), None)
    head = (
        "| task | model | exact | "
        + " | ".join(f"{n} shots" for n in SHOTS)
        + " | "
        + " | ".join(f"p = {p:g}" for p in NOISE[1:])
        + (f" | {device['qpu']}, {device['shots']:,} shots (exact), first {device['images']:,}" if device else "")
        + " |"
    )
    rows = [head, "|" + "---|" * (3 + len(SHOTS) + len(NOISE) - 1 + bool(device))]
    for r in data["results"]:
        cells = (
            [f"{r['exact'] * 100:.2f}"]
            + [f"{r['shots'][str(n)]['mean'] * 100:.2f}" for n in SHOTS]
            + [f"{r['noise'][f'{p:g}'] * 100:.2f}" for p in NOISE[1:]]
        )
        if device:
            v = r.get("device")
            cells.append(f"{v['accuracy'] * 100:.2f} ({v['exact'] * 100:.2f})" if v else "–")
        rows.append(f"| {get_task(r['task']).title} | {MODEL_WORDS[r['model']]} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def device_table(data: dict) -> str:
    rows = [r for r in data["results"] if "device" in r]
    d = rows[0]["device"]
    out = [
        f"| task | model | exact (first {d['images']:,}) | {d['shots']:,} ideal shots | {d['qpu']}, "
        f"{d['shots']:,} shots | ⟨Z⟩ kept | channel's p with the same shrink | there: accuracy, labels agreeing, "
        "mean ⟨Z⟩ gap | channel's p with the same accuracy | CNOTs after routing | simulation time |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        v = r["device"]
        same = (
            f"{v['p_same_shrink']:.4f}" if v.get("p_same_shrink") is not None else "none up to 0.3",
            f"{v['accuracy_depolarizing'] * 100:.2f}, {v['agreement_depolarizing']:.1%}, {v['gap_depolarizing']:.3f}"
            if "gap_depolarizing" in v
            else "–",
        )
        acc_p = "– (the device costs nothing)" if v["p_equivalent"] is None else f"{v['p_equivalent']:.4f}"
        out.append(
            f"| {get_task(r['task']).title} | {MODEL_WORDS[r['model']]} | {v['exact'] * 100:.2f} | "
            f"{v['ideal_shots'] * 100:.2f} | **{v['accuracy'] * 100:.2f}** | {v['kept']:.0%} | {same[0]} | {same[1]} | "
            f"{acc_p} | {v['routing']['cnots'][1]} | {v['seconds']:.0f} s |"
        )
    return "\n".join(out)


def device_block(data: dict) -> str:
    """docs/quantum.md's block: the device column's table and its words (the curves' chart follows the block)."""
    return device_table(data) + "\n\n" + device_words(data).replace("(the curves above)", "(the curves below)")


def device_section(data: dict) -> list[str]:
    rows = [r for r in data["results"] if "device" in r]
    if not rows:
        return []
    d, route = rows[0]["device"], rows[0]["device"]["routing"]
    return [
        "## On a simulated real device",
        "",
        f"Measured by `{data.get('device_command', data['command'])}`. Test accuracy (%) on the first "
        f"{d['images']:,} test images with the ⟨Z⟩ read from {d['shots']:,} shots per image of the circuit routed "
        f"onto `{d['qpu']}` and simulated under its calibrated noise (qiskit's snapshot of {route['snapshot']}, "
        "qiskit-aer's density matrix; a simulation, not a run on hardware; `qnn_core/inference/device_noise.py`). "
        f"The routing is confined to the {len(route['physical_qubits'])} physical qubits "
        f"{', '.join(f'Q{q}' for q in route['physical_qubits'])}: {route['cnots'][0]} CNOTs become "
        f"{route['cnots'][1]} (depth {route['depth'][0]} → {route['depth'][1]}; left free the transpiler would use "
        f"{route['free']['qubits']} qubits and {route['free']['cnots']} CNOTs). Simulator seed {d['seed']}.",
        "",
        device_table(data),
        "",
        device_words(data),
        "",
    ]


def markdown(data: dict) -> str:
    sizes = "/".join(sorted({f"{r['test_size']:,}" for r in data["results"]}))
    return "\n".join(
        [
            "# Accuracy from shots and under noise",
            "",
            f"Generated by `{data['command']}`; do not edit by hand.",
            "",
            f"Test accuracy (%) on each task's official test split ({sizes} images), with the quantum branch's ⟨Z⟩ "
            f"estimated from N shots per image (mean of {len(SEEDS)} sampling seeds) or computed exactly under "
            "depolarizing noise of probability p after every gate layer. Nothing else in the model changes.",
            "",
            table(data),
            "",
            plain_words(data),
            "",
            *device_section(data),
            "![accuracy against shots and noise](readout_curves.png)",
            "",
            f"Machine: {data['machine']['cpu']}, torch {data['machine']['torch']}.",
            "",
        ]
    )


def chart(data: dict, path: Path) -> None:
    """Two panels (shots, noise), one line per model; the PNG the Markdown and docs/quantum.md link."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    for r in data["results"]:
        style = "-" if r["model"] == "hybrid" else "--"
        label = f"{get_task(r['task']).title}, {r['model']}"
        (line,) = left.plot(SHOTS, [r["shots"][str(n)]["mean"] * 100 for n in SHOTS], style, marker="o", label=label)
        left.axhline(r["exact"] * 100, color=line.get_color(), lw=0.5, ls=":")
        right.plot(NOISE, [r["noise"][f"{p:g}"] * 100 for p in NOISE], style, marker="o", color=line.get_color())
        if "device" in r:  # the simulated device: at its shots, and where the depolarizing curve matches it
            v = r["device"]
            left.plot([v["shots"]], [v["accuracy"] * 100], "*", ms=13, color=line.get_color(), mec="black", mew=0.6)
            if v.get("p_same_shrink") is not None:
                right.plot(
                    [v["p_same_shrink"]],
                    [v["accuracy"] * 100],
                    "*",
                    ms=13,
                    color=line.get_color(),
                    mec="black",
                    mew=0.6,
                )
    left.set_xscale("log")
    device = next((r["device"] for r in data["results"] if "device" in r), None)
    left.set_xlabel(
        "shots per image (dotted: exact)"
        + (f"\n★ {device['qpu']} (simulated), first {device['images']:,} test images" if device else "")
    )
    right.set_xlabel(
        "depolarizing probability p per gate layer"
        + ("\n★ the p that shrinks ⟨Z⟩ as much as the device" if device else "")
    )
    for ax in (left, right):
        ax.set_ylabel("test accuracy (%)")
        ax.grid(alpha=0.3)
    fig.legend(loc="center right", fontsize=7)
    fig.tight_layout(rect=(0, 0, 0.8, 1))
    fig.savefig(path, dpi=110)
    plt.close(fig)


def build_parser() -> argparse.ArgumentParser:
    p = OneLineParser(prog="qnn curves", description=__doc__.split("\n")[0])
    p.add_argument(
        "--tasks",
        nargs="+",
        choices=list(TASKS),
        default=[t for t in TASKS if has_split(get_task(t), "test")],
        help="default: every task with a test split here (clothes keeps its test photos apart)",
    )
    p.add_argument(
        "--update",
        action="store_true",
        help="measure only --tasks and keep the other tasks' rows of the existing JSON (a task added later)",
    )
    add_limit(p, "test images")
    p.add_argument("--out", type=Path, default=DEFAULT_JSON, help="results JSON; the .md and .png go beside it")
    p.add_argument("--report-only", action="store_true", help="measure nothing; rewrite the .md and .png from the JSON")
    p.add_argument(
        "--qpu",
        default=DEVICE_QPU,
        metavar="NAME",
        help="the simulated device of the real-device column, a qiskit fake backend's name (default %(default)s; "
        "none: no such column)",
    )
    p.add_argument(
        "--qpu-images",
        type=positive_int,
        default=DEVICE_IMAGES,
        metavar="N",
        help="the device column measures the first N test images (default %(default)s)",
    )
    p.add_argument(
        "--qpu-shots",
        type=positive_int,
        default=DEVICE_SHOTS,
        metavar="N",
        help="shots per image (default %(default)s)",
    )
    p.add_argument(
        "--qpu-only", action="store_true", help="measure only the device column, into the existing JSON's results"
    )
    return p


def measure_tasks(data: dict, a: argparse.Namespace) -> None:
    """Measure each of --tasks' curve models into `data` (written after each, so a stopped run keeps what it
    measured), then the device column unless --qpu none."""
    for t in a.tasks:
        for kind in CURVE_MODELS:
            if kind in get_task(t).models:
                print(f"{t} {kind} ...", file=sys.stderr, flush=True)
                data["results"].append(measure(t, kind, a.limit))
                write_json_atomic(data, a.out)
    if a.qpu != "none":
        add_device_column(data, a)


def command_line(a: argparse.Namespace, qpu_only: bool = False) -> str:
    parts = ["qnn curves"]
    if list(a.tasks) != [t for t in TASKS if has_split(get_task(t), "test")]:
        parts += ["--tasks", *a.tasks]
    if getattr(a, "update", False):
        parts += ["--update"]
    if a.limit and not qpu_only:
        parts += ["--limit", str(a.limit)]
    if Path(a.out).resolve() != DEFAULT_JSON:
        parts += ["--out", str(a.out)]
    for flag, value, default in (
        ("--qpu", a.qpu, DEVICE_QPU),
        ("--qpu-images", a.qpu_images, DEVICE_IMAGES),
        ("--qpu-shots", a.qpu_shots, DEVICE_SHOTS),
    ):
        if value != default:
            parts += [flag, str(value)]
    if qpu_only:
        parts.append("--qpu-only")
    return " ".join(parts)


def add_device_column(data: dict, a: argparse.Namespace) -> None:
    """Measure the real-device column for the chosen tasks' models present in `data`, written into their rows."""
    rows = {(r["task"], r["model"]): r for r in data["results"]}
    images = min(a.qpu_images, a.limit) if a.limit and not a.qpu_only else a.qpu_images
    for task, kind in device_models(a.tasks):
        if (task, kind) in rows:
            print(f"{task} {kind} on {a.qpu} ...", file=sys.stderr, flush=True)
            rows[(task, kind)]["device"] = measure_device(task, kind, a.qpu, images, a.qpu_shots)
            write_json_atomic(data, a.out)


def main(argv: list[str] | None = None) -> int:
    p = build_parser()
    a = p.parse_args(argv)
    if a.qpu != "none":
        from qnn_core.inference import device_noise  # imports Qiskit

        try:
            device_noise.check_fits(a.qpu, 8)  # the shipped models' circuits (each model is checked again)
        except device_noise.QpuError as err:
            p.error(f"argument --qpu: {err}")
    elif a.qpu_only:
        p.error("--qpu-only measures the device column: name a device with --qpu")
    data = load_curves(a.out) if a.report_only or a.qpu_only or a.update else None
    if (a.report_only or a.qpu_only or a.update) and data is None:
        flag = "--report-only" if a.report_only else "--qpu-only" if a.qpu_only else "--update"
        print(
            f"error: {flag} needs {a.out}; run without it first",
            file=sys.stderr,
        )
        return 2
    if a.qpu_only and not a.report_only:
        data["device_command"] = command_line(a, qpu_only=True)
        add_device_column(data, a)
    if a.update and not (a.report_only or a.qpu_only):
        data["results"] = [r for r in data["results"] if r["task"] not in a.tasks]
        data.setdefault("updates", []).append(command_line(a))
        measure_tasks(data, a)
    if data is None:
        data = {
            "command": command_line(a),
            "machine": machine(),
            "shots": list(SHOTS),
            "noise": list(NOISE),
            "seeds": list(SEEDS),
            "results": [],
        }
        measure_tasks(data, a)
    a.out.with_suffix(".md").write_text(markdown(data))
    chart(data, a.out.with_suffix(".png"))
    if Path(a.out).resolve() == DEFAULT_JSON.resolve() and any("device" in r for r in data["results"]):
        readme.replace_block("device", device_block(data))  # docs/quantum.md's copy of the device column
    print(json.dumps({f"{r['task']}/{r['model']}": r["exact"] for r in data["results"]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
