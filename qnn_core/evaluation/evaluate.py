"""Measure a checkpoint on the official test split.

    qnn evaluate --task mnist --json [--model classical | --checkpoint PATH] [--limit N] [--report DIR]
    qnn evaluate --task fashion --split val --mirror on   # is test-time mirroring worth it?
    qnn evaluate --task mnist --quantum off   # the hybrid with its quantum branch off at inference
    qnn evaluate --task mnist --shots 100 --noise 0.02   # <Z> from 100 shots, under noise
    qnn evaluate --task mnist --model bottleneck --qpu fake_kolkata --shots 1000 --limit 200   # a simulated device
    qnn evaluate --task mnist --proxy [--split val]   # the images re-made as people's pictures

With --json prints one JSON object: task, accuracy, n, per-class accuracy, confusion matrix,
and for hybrid models the accuracy with the quantum branch switched off. With --shots / --noise, `accuracy` is
the hybrid's with its <Z> estimated from that many measurements (seeded) and/or under depolarizing noise, and
`accuracy_exact` the one with the exact values beside it. With --qpu NAME --shots N the <Z> come from N shots of
the circuit routed onto qiskit's fake backend NAME and simulated under its calibrated noise (a simulation from a
calibration snapshot, not a run on hardware; inference/device_noise.py), and `qpu` says where it landed.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from qnn_core import cli_args
from qnn_core.cli_args import add_json, add_limit, add_model, add_quantum_readout, add_quantum_switch, model_path
from qnn_core.data import proxies
from qnn_core.data.loaders import Split, load_holdout, load_split, load_train_val
from qnn_core.devices import DeviceError, add_device, resolve
from qnn_core.inference.batch import predict_logits, readout_logits, served_and_single_logits
from qnn_core.inference.quantum_noise import NOISE_MAX_QUBITS
from qnn_core.inference.quantum_readout import Readout
from qnn_core.models.checkpoint import CheckpointError, check_fits_task, load_checkpoint
from qnn_core.models.hybrid import HybridNet
from qnn_core.tasks import TaskSpec, get_task


def evaluate(
    model: HybridNet,
    task: TaskSpec,
    split: Split,
    mirror: bool | None = None,
    quantum: bool = True,
    readout: Readout | None = None,
    compare_off: bool = True,
) -> dict:
    """`quantum=False` measures a hybrid with its quantum branch switched off at inference (the model is unchanged);
    `readout` a hybrid whose <Z> are estimated from shots and/or under noise (its quantum branch on).
    `compare_off=False` skips the second pass over the split that measures a hybrid with its branch off as well
    (`accuracy_quantum_off`), for a caller that checks only the served numbers."""
    mirror = task.test_time_mirror if mirror is None else mirror
    readout = readout or Readout()
    if readout.exact:
        logits, single = served_and_single_logits(model, task, split.images, mirror=mirror, quantum=quantum)
    else:
        logits, single = readout_logits(model, task, split.images, readout, mirror=mirror)
    preds = logits.argmax(1).numpy()
    k = task.num_classes
    confusion = np.zeros((k, k), dtype=np.int64)
    np.add.at(confusion, (split.labels, preds), 1)
    per_class = confusion.diagonal() / np.maximum(confusion.sum(1), 1)
    result = {
        "task": task.name,
        "quantum": bool(model.config.quantum),
        "accuracy": float((preds == split.labels).mean()),
        "n": int(len(split)),
        "test_time_mirror": bool(mirror),
        "per_class_accuracy": {c: round(float(a), 4) for c, a in zip(task.classes, per_class)},
        "confusion": confusion.tolist(),
        "classes": list(task.classes),
    }
    if mirror:  # what mirroring adds, on the same split
        result["accuracy_single_view"] = float((single.argmax(1).numpy() == split.labels).mean())
    if not readout.exact:  # what the finite shots and the noise cost, on the same split
        exact = predict_logits(model, task, split.images, mirror=mirror).argmax(1).numpy()
        result.update(
            shots=readout.shots,
            noise=readout.noise,
            seed=readout.seed,
            accuracy_exact=float((exact == split.labels).mean()),
        )
        if readout.qpu:
            result["qpu"] = qpu_summary(model, readout.qpu)
    if model.config.quantum and not quantum:
        result["quantum_branch"] = "off"  # `accuracy` is already the accuracy with the branch off
    elif model.config.quantum and compare_off:
        off = predict_logits(model, task, split.images, mirror=mirror, quantum=False).argmax(1).numpy()
        result["accuracy_quantum_off"] = float((off == split.labels).mean())
    result["_predictions"] = preds  # for the report; dropped from JSON
    return result


def qpu_summary(model: HybridNet, name: str) -> dict:
    """Where the circuit landed on the simulated device (the routing is built once per process and device)."""
    from qnn_core.inference.device_noise import simulated

    r = simulated(model.quantum, name).routing
    return {
        "name": name,
        "snapshot": r.device.snapshot,
        "simulated": "from the calibration snapshot with qiskit-aer, not a run on hardware",
        "physical_qubits": list(r.physical),
        "cnots": [r.cnots_before, r.cnots_after],
        "depth": [r.depth_before, r.depth_after],
        "swaps": r.swaps,
        "median_cx_error": round(r.median_cx_error_used, 5),
    }


ERROR_GRID_IMAGES = 30
PROXY_SEED = 0


def write_report(result: dict, task: TaskSpec, split: Split, out_dir: Path, stem: str) -> list[Path]:
    """Confusion-matrix and misclassification-grid PNGs."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir.mkdir(parents=True, exist_ok=True)
    names = [task.display[i] if task.display else c for i, c in enumerate(task.classes)]
    conf = np.array(result["confusion"])
    fig, ax = plt.subplots(figsize=(6.5, 5.5))
    ax.imshow(np.log1p(conf), cmap="Blues")
    for (i, j), v in np.ndenumerate(conf):
        if v:
            ax.text(j, i, str(v), ha="center", va="center", fontsize=6, color="white" if i == j else "black")
    ax.set_xticks(range(len(names)), names, rotation=45, ha="right")
    ax.set_yticks(range(len(names)), names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(f"{task.title}: {result['accuracy']:.2%} on {result['n']} {result.get('split', 'test')} images")
    fig.tight_layout()
    conf_path = out_dir / f"{stem}_confusion.png"
    fig.savefig(conf_path, dpi=110)
    plt.close(fig)

    # Few, large tiles with large labels: the page shows this PNG at its own width, and true -> predicted must read.
    wrong = np.flatnonzero(result["_predictions"] != split.labels)[:ERROR_GRID_IMAGES]
    cols = 6
    rows = max(1, -(-len(wrong) // cols))
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 1.6, rows * 1.9 + 0.5))
    for ax in np.atleast_1d(axes).ravel():
        ax.axis("off")
    for ax, i in zip(np.atleast_1d(axes).ravel(), wrong):
        ax.imshow(split.images[i], cmap="gray")
        ax.set_title(f"{names[split.labels[i]]} → {names[result['_predictions'][i]]}", fontsize=12)
    fig.suptitle(
        f"Misclassified {result.get('split', 'test')} images (true → predicted), the first {len(wrong)}", fontsize=13
    )
    fig.tight_layout()
    grid_path = out_dir / f"{stem}_errors.png"
    fig.savefig(grid_path, dpi=110)
    plt.close(fig)
    return [conf_path, grid_path]


def public(result: dict) -> dict:
    return {k: v for k, v in result.items() if not k.startswith("_")}


def build_parser() -> argparse.ArgumentParser:
    p = cli_args.OneLineParser(prog="qnn evaluate", description=__doc__.split("\n")[0])
    p.add_argument("--task", required=True)
    add_model(p, what="evaluate")
    add_quantum_switch(p)
    add_quantum_readout(p)
    p.add_argument(
        "--qpu",
        metavar="NAME",
        help="read the <Z> from --shots N shots on this simulated IBM device: qiskit's fake backend of that name "
        "(fake_kolkata, fake_guadalupe, ...), its routing and calibrated noise; not a run on hardware",
    )
    add_limit(p, "images of the split")
    p.add_argument("--data-root")
    p.add_argument("--source", help="another data set of the task, e.g. emnist for letters (with --data-root)")
    p.add_argument(
        "--holdout",
        action="store_true",
        help="measure on the task's held-out real set instead (letters: UJI Pen Characters; never tuned on)",
    )
    p.add_argument(
        "--split",
        choices=("test", "val"),
        default="test",
        help="val: the validation images held out of train, where recipes (and mirroring) are chosen",
    )
    p.add_argument(
        "--proxy",
        action="store_true",
        help="re-make the split's images as people's pictures of them (canvas, pen on paper, phone photo; "
        "data/proxies.py, seeded) and measure on those; with --split val, the proxy to choose on",
    )
    p.add_argument(
        "--mirror",
        choices=("auto", "on", "off"),
        default="auto",
        help="average with the mirror images' logits: the registry's choice (auto), or force it",
    )
    add_json(p, "the full result, one object,")
    p.add_argument("--report", type=Path, help="also write confusion and misclassification PNGs here")
    add_device(p, default="cpu")
    return p


def proxy_split(split: Split, task: TaskSpec) -> Split:
    """The split's images re-made as people's pictures (data/proxies.py), seeded, labels unchanged."""
    return Split(proxies.proxy(split.images, task, seed=PROXY_SEED), split.labels)


def proxy_styles(result: dict, split: Split) -> dict:
    """Accuracy per rendering style of an evaluation on a proxy split (its images take the styles in turn)."""
    preds, styles = result["_predictions"], proxies.STYLES
    return {
        "seed": PROXY_SEED,
        **{
            style: float((preds[k :: len(styles)] == split.labels[k :: len(styles)]).mean())
            for k, style in enumerate(styles)
        },
    }


def readout_usage_error(a: argparse.Namespace, model: HybridNet | None = None) -> str | None:
    """Why --shots / --noise / --qpu cannot apply to this run (None when they can): before loading, and with the
    model."""
    if a.qpu is not None:
        if why := qpu_usage_error(a, model):
            return why
    if not (a.shots or a.noise or a.qpu):
        return None
    flags = " and ".join(f for f, v in (("--shots", a.shots), ("--noise", a.noise), ("--qpu", a.qpu)) if v)
    if (model is None and a.model == "classical" and not a.checkpoint) or (
        model is not None and not model.config.quantum
    ):
        return f"{flags} read out the quantum branch; a classical-only model has none (use --model hybrid)"
    if a.quantum == "off":
        return f"{flags} read out the quantum branch, which --quantum off switches off"
    if model is not None and a.noise and model.config.n_qubits > NOISE_MAX_QUBITS:
        return (
            f"--noise simulates up to {NOISE_MAX_QUBITS} qubits (a density matrix of 4^n numbers per gate layer); "
            f"this model has {model.config.n_qubits}"
        )
    return None


def qpu_usage_error(a: argparse.Namespace, model: HybridNet | None) -> str | None:
    """--qpu's own conditions: shots to read, no idealised noise on top, a device that exists and is large enough."""
    from qnn_core.inference import device_noise  # imports Qiskit: only for a --qpu run

    if not a.shots:
        return "--qpu reads the circuit from shots, as a device gives them: add --shots N (1000, say)"
    if a.noise:
        return "--qpu brings the device's own calibrated noise; --noise is the idealised channel: use one of them"
    try:
        if model is None:
            device_noise.describe(a.qpu)
        elif model.config.quantum:
            device_noise.check_fits(a.qpu, model.config.n_qubits)
    except device_noise.QpuError as err:
        return f"argument --qpu: {err}"
    return None


def main(argv: list[str] | None = None) -> int:
    p = build_parser()
    a = p.parse_args(argv)
    if why := readout_usage_error(a):
        p.error(why)
    try:
        task = get_task(a.task).with_source(a.source)
        ckpt = model_path(task, a)
        model, meta = load_checkpoint(ckpt)
        check_fits_task(ckpt, meta, task)
        if why := readout_usage_error(a, model):  # before the data: a usage error costs nothing
            p.error(why)
        model.to(resolve(a.device))
        if a.holdout:
            split = load_holdout(task)
        elif a.split == "val":
            split = load_train_val(task, a.data_root)[1]
        else:
            split = load_split(task, "test", a.data_root)
    except (KeyError, CheckpointError, FileNotFoundError, DeviceError) as err:
        print(f"error: {err.args[0] if err.args else err}", file=sys.stderr)
        return 2
    if a.limit:
        split = split.subset(slice(0, a.limit))
    if a.proxy:
        if task.input.kind == "photo" or a.holdout:
            p.error("--proxy re-makes drawings of a handwriting task's test or validation split")
        split = proxy_split(split, task)
    result = evaluate(
        model,
        task,
        split,
        mirror=None if a.mirror == "auto" else a.mirror == "on",
        quantum=a.quantum == "on",
        readout=Readout(a.shots, a.noise, qpu=a.qpu or ""),
    )
    result["checkpoint"] = ckpt.name
    if a.proxy:
        result["proxy"] = proxy_styles(result, split)
    if a.holdout:
        result["split"] = "holdout"
    elif a.split == "val":
        result["split"] = "validation"
    if a.report:
        off = "_quantum_off" if model.config.quantum and a.quantum == "off" else ""
        off += (f"_shots{a.shots}" if a.shots else "") + (f"_noise{a.noise:g}" if a.noise else "")
        off += f"_{a.qpu}" if a.qpu else ""
        stem = f"{task.name}_{'hybrid' if model.config.quantum else 'classical'}{off}{'_holdout' if a.holdout else ''}"
        write_report(result, task, split, a.report, stem)
        (a.report / f"{stem}.json").write_text(json.dumps(public(result), indent=1, ensure_ascii=False) + "\n")
    if a.json:
        print(json.dumps(public(result), ensure_ascii=False))
    else:
        off = ", quantum branch off" if result.get("quantum_branch") == "off" else ""
        if "accuracy_exact" in result:
            read = " ".join(
                w
                for w, v in (
                    (f"from {a.shots} shots", a.shots),
                    (f"under noise p={a.noise:g}", a.noise),
                    (f"on {a.qpu} (simulated)", a.qpu),
                )
                if v
            )
            off += f", <Z> {read} (exact: {result['accuracy_exact']:.4f})"
        print(
            f"{task.name}: accuracy {result['accuracy']:.4f} on {result['n']} {result.get('split', 'test')} images{off}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
