"""Does the quantum branch help? Hybrid vs classical-only, several seeds, same backbone and budget.

    qnn ablation [--tasks mnist fashion kmnist] [--seeds 0 1 2] [--variants ...] [--epochs 1]
                                [--subset 20000] [--threads 1] [--jobs 1] [--limit N] [--out benchmarks/ablation.json] [--readme] [--report-only]

For every task and seed it trains the hybrid, the classical-only model and three fairer controls (the
circuit replaced by a parameter-matched classical layer, frozen at its random initialisation, or without
its CNOT ring; see VARIANT_CONFIG) with the same budget
(a fixed subset of the train split, the same epochs, seed, optimiser and augmentation) and measures
each on the official test split; each hybrid is measured a second time with its quantum features
set to zero (how much the trained head leans on them). Results go to a JSON file after every run,
so an interrupted ablation resumes where it stopped; the Markdown report and the block on docs/quantum.md
are derived from that JSON. This is a reduced-budget ablation: it does not retrain the shipped checkpoints.
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import os
import platform
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import numpy as np

from qnn_core.cli_args import add_limit, positive_int
from qnn_core.data.loaders import load_split
from qnn_core.devices import add_device, resolve
from qnn_core.evaluation.committed import (  # noqa: F401  (the readers, re-exported)
    ABLATION_JSON,
    CONTROL_GAIN,
    CONTROLS,
    budget_words,
    load_results,
    task_summary,
    verdict,
)
from qnn_core.evaluation.evaluate import evaluate
from qnn_core.evaluation.readme import link, markers, page_of, replace_block
from qnn_core.evaluation.report import blocks_flag, load_eval
from qnn_core.fileio import write_json_atomic
from qnn_core.models.checkpoint import load_checkpoint, read_meta
from qnn_core.tasks import REPO_ROOT, TASKS, get_task
from qnn_core.training.train import TrainConfig, train

DEFAULT_JSON = ABLATION_JSON
PAGE = page_of("ablation")  # docs/quantum.md
BLOCK_START, BLOCK_END = markers("ablation")
# What each variant changes, as TrainConfig arguments. The last three are the fairer controls (Bowles, Ahmed and
# Schuld 2024): matched capacity without a circuit, a circuit without trainable power, one without entanglement.
VARIANT_CONFIG = {
    "hybrid": {"quantum": True, "model": {}},
    "classical": {"quantum": False, "model": {}},
    "matched": {"quantum": False, "model": {"matched": True}},
    "frozen": {"quantum": True, "model": {"circuit_trainable": False}},
    "no-entangle": {"quantum": True, "model": {"entangle": False}},
}
VARIANTS = tuple(VARIANT_CONFIG)


def test_accuracies(checkpoint: Path, task_name: str, limit: int | None, device: str = "cpu") -> dict:
    """Test accuracy, and for a hybrid also with the quantum branch off (the evaluator's own measurement)."""
    task = get_task(task_name)
    split = load_split(task, "test")
    if limit:
        split = split.subset(slice(0, limit))
    model, _ = load_checkpoint(checkpoint)
    measured = evaluate(model.to(resolve(device)), task, split)
    result = {"test_accuracy": measured["accuracy"], "test_size": measured["n"]}
    if "accuracy_quantum_off" in measured:
        result["test_accuracy_quantum_off"] = measured["accuracy_quantum_off"]
    return result


def run_one(task: str, variant: str, seed: int, budget: dict, work_dir: Path, device: str = "cpu") -> dict:
    """Train one model with the ablation's budget and measure it on the official test split."""
    cfg = TrainConfig(
        task=task,
        seed=seed,
        epochs=budget["epochs"],
        subset=budget["subset"],
        max_batches=budget.get("max_batches"),
        threads=budget["threads"],
        device=device,
        **VARIANT_CONFIG[variant],
    )
    out = work_dir / f"{task}_{variant}_seed{seed}.pt"
    t0 = time.time()
    meta = train(cfg, out, quiet=True)
    train_s = time.time() - t0
    t1 = time.time()
    result = test_accuracies(out, task, budget.get("test_limit"), device)
    return {
        "task": task,
        "variant": variant,
        "seed": seed,
        **result,
        "val_accuracy": meta["val_accuracy"],
        "best_epoch": meta.get("best_epoch"),
        "train_size": meta["train_size"],
        "train_images_per_s": float(np.median([h["images_per_s"] for h in meta["history"]])),
        "train_time_s": round(train_s, 1),
        "eval_time_s": round(time.time() - t1, 1),
    }


def run_all(todo: list[tuple[str, str, int]], budget: dict, work_dir: Path, device: str, jobs: int) -> Iterator[dict]:
    """Each run's result as it finishes; with jobs > 1, that many runs train at once in their own processes
    (each on `budget['threads']` threads), and only this process writes the results."""
    if jobs <= 1:
        for t, v, s in todo:
            print(f"{t} {v} seed {s} ...", file=sys.stderr, flush=True)
            yield run_one(t, v, s, budget, work_dir, device)
        return
    with ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = [pool.submit(run_one, t, v, s, budget, work_dir, device) for t, v, s in todo]
        for future in as_completed(futures):
            yield future.result()


def mean_std(values: list[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (ddof=1; 0 for a single value)."""
    a = np.asarray(values, dtype=float)
    return float(a.mean()), float(a.std(ddof=1)) if len(a) > 1 else 0.0


def t_quantile_975(dof: int) -> float:
    from scipy.stats import t

    return float(t.ppf(0.975, dof))


def summarise(runs: list[dict]) -> dict:
    """Per task: accuracies as mean ± std over seeds, and the paired (same-seed) hybrid − control differences."""
    out = {}
    for task in dict.fromkeys(r["task"] for r in runs):
        by = {(r["variant"], r["seed"]): r for r in runs if r["task"] == task}
        s: dict = {"title": get_task(task).title if task in TASKS else task}
        for variant in VARIANTS:
            accs = [r["test_accuracy"] for (v, _), r in sorted(by.items()) if v == variant]
            if accs:
                m, sd = mean_std([a * 100 for a in accs])
                s[variant] = {"mean": m, "std": sd, "n": len(accs)}
        for variant in VARIANTS:
            offs = [
                r["test_accuracy_quantum_off"] * 100
                for (v, _), r in sorted(by.items())
                if v == variant and "test_accuracy_quantum_off" in r
            ]
            if offs:
                m, sd = mean_std(offs)
                s[f"{variant}_quantum_off"] = {"mean": m, "std": sd, "n": len(offs)}
        if "hybrid_quantum_off" in s:
            drops = [
                (r["test_accuracy"] - r["test_accuracy_quantum_off"]) * 100
                for (v, _), r in sorted(by.items())
                if v == "hybrid"
            ]
            m, sd = mean_std(drops)
            s["quantum_off_drop"] = {"mean": m, "std": sd, "n": len(drops)}
        for control in CONTROLS:
            d = paired_difference(by, control)
            if d:
                s["difference" if control == "classical" else f"difference_{control}"] = d
        out[task] = s
    return out


def paired_difference(by: dict, control: str) -> dict | None:
    """Hybrid − control in points over the seeds both were run with, and its 95% t interval."""
    seeds = sorted(seed for (v, seed) in by if v == "hybrid" and (control, seed) in by)
    if not seeds:
        return None
    diffs = [(by[("hybrid", k)]["test_accuracy"] - by[(control, k)]["test_accuracy"]) * 100 for k in seeds]
    m, sd = mean_std(diffs)
    d = {"mean": m, "std": sd, "n": len(diffs), "per_seed": diffs}
    if len(diffs) > 1:
        half = t_quantile_975(len(diffs) - 1) * sd / math.sqrt(len(diffs))
        d["ci95"] = [m - half, m + half]
    return d


def _pm(x: dict | None, sign: str = "") -> str:
    return f"{x['mean'] + 0.0:{sign}.2f} ± {x['std']:.2f}" if x else "–"


def table(data: dict) -> str:
    """The summary table plus one sentence per task, in Markdown."""
    summary = data["summary"]
    rows = [
        "| task | hybrid (%) | classical-only (%) | hybrid − classical (pts, paired) | hybrid, quantum off at inference (%) | seeds |",
        "|---|---|---|---|---|---|",
    ]
    for task, s in summary.items():
        n = min(s.get(v, {}).get("n", 0) for v in VARIANTS[:2])
        rows.append(
            f"| {s['title']} | {_pm(s.get('hybrid'))} | {_pm(s.get('classical'))} | "
            f"{_pm(s.get('difference'), '+')} | {_pm(s.get('hybrid_quantum_off'))} | {n} |"
        )
    b = data["budget"]
    rows += [
        "",
        f"Mean ± sample standard deviation over seeds; test accuracy on each task's official test split "
        f"({_test_size(data)} images). Budget per model: {budget_words(b)}. {shipped_reference(summary)}",
    ]
    rows += [""] + [
        f"- **{s['title']}**: {verdict(s)}; switching the trained hybrid's quantum branch off at "
        f"inference changes its accuracy by {0.0 - s['quantum_off_drop']['mean']:+.2f} ± "
        f"{s['quantum_off_drop']['std']:.2f} points."
        if "quantum_off_drop" in s
        else f"- **{s['title']}**: {verdict(s)}."
        for s in summary.values()
    ]
    controls = controls_table(summary)
    return "\n".join(rows + ([""] + controls if controls else []))


def controls_table(summary: dict) -> list[str]:
    """The fairer controls: each against the hybrid of the same seeds, paired, with one sentence per task."""
    rows: list[str] = []
    if not any(f"difference_{c}" in s for s in summary.values() for c in CONTROL_GAIN):
        return rows
    rows += [
        "**Fairer controls.** The same budget and seeds, changing only the quantum branch:",
        "",
        "| task | control | control (%) | hybrid − control (pts, paired) | 95% interval | control, quantum off (%) | seeds |",
        "|---|---|---|---|---|---|---|",
    ]
    for s in summary.values():
        for control in CONTROL_GAIN:
            d = s.get(f"difference_{control}")
            if control not in s or not d:
                continue
            ci = f"{d['ci95'][0]:+.2f} to {d['ci95'][1]:+.2f}" if "ci95" in d else "–"
            rows.append(
                f"| {s['title']} | {CONTROLS[control]} | {_pm(s[control])} | {_pm(d, '+')} | {ci} | "
                f"{_pm(s.get(f'{control}_quantum_off'))} | {d['n']} |"
            )
    rows.append("")
    for s in summary.values():
        said = [
            f"against the {CONTROLS[c].split(' (')[0]}: {verdict(s, f'difference_{c}', CONTROL_GAIN[c])}"
            for c in CONTROL_GAIN
            if f"difference_{c}" in s
        ]
        if said:
            rows.append(f"- **{s['title']}**: " + "; ".join(said) + ".")
    return rows


def shipped_reference(summary: dict) -> str:
    """How far the reduced budget is from the shipped, full-budget models (their committed evaluations)."""
    rows = [(s, load_eval(get_task(t), True)) for t, s in summary.items() if t in TASKS and "hybrid" in s]
    rows = [(s, e["accuracy"] * 100) for s, e in rows if e]
    if not rows:
        return ""
    deeper = [s["title"] for t, s in summary.items() if t in TASKS and shipped_backbone_is_deeper(t)]
    return (
        "For scale, the shipped full-budget hybrids score "
        + ", ".join(f"{a:.2f}% ({s['title']})" for s, a in rows)
        + "; the reduced-budget hybrids here are "
        + ", ".join(f"{a - s['hybrid']['mean']:.1f}" for s, a in rows)
        + " points below them, so this compares the two models after equal, short training"
        + (
            f" (with the default backbone, one residual block per stage, which the shipped {' and '.join(deeper)} "
            "models exceed: see their cards)"
            if deeper
            else ""
        )
        + "."
    )


def shipped_backbone_is_deeper(task: str) -> bool:
    """Whether the shipped hybrid's resnet has more residual blocks than the default one the ablation trains."""
    path = get_task(task).checkpoint(True)
    return path.exists() and bool(blocks_flag(read_meta(path)["config"]))


def _test_size(data: dict) -> str:
    sizes = sorted({r["test_size"] for r in data["runs"]})
    return "/".join(f"{n:,}" for n in sizes) or "–"


def markdown(data: dict) -> str:
    lines = [
        "# Ablation: does the quantum branch help?",
        "",
        f"Generated by `{data['command']}` from `{data.get('json_name', 'ablation.json')}`; do not edit by hand.",
        "",
        "**This is a reduced-budget ablation.** It does not use or retrain the shipped checkpoints (those are "
        "trained on the full train split for 5–7 epochs); every model here is trained from scratch with the "
        "budget below, so that 3 seeds × 5 variants × 3 tasks fit in a few hours on two CPU cores. Hybrid "
        "and classical-only share the backbone (ResNet widths 32/64/128), the 64-feature classical branch, "
        "the data, the augmentation, the optimiser and the seed; the hybrid adds the 8-qubit, depth-3 "
        "quantum branch (8 more features into the head).",
        "",
        table(data),
        "",
        "## Every run",
        "",
        "| task | variant | seed | test acc (%) | quantum off (%) | val acc (%) | train img/s | train s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in sorted(
        data["runs"],
        key=lambda r: (list(TASKS).index(r["task"]) if r["task"] in TASKS else 99, r["variant"], r["seed"]),
    ):
        off = f"{r['test_accuracy_quantum_off'] * 100:.2f}" if "test_accuracy_quantum_off" in r else "–"
        lines.append(
            f"| {r['task']} | {r['variant']} | {r['seed']} | {r['test_accuracy'] * 100:.2f} | {off} | "
            f"{r['val_accuracy'] * 100:.2f} | {r['train_images_per_s']:.0f} | {r['train_time_s']:.0f} |"
        )
    m = data["machine"]
    lines += [
        "",
        f"Machine: {m['cpu']}, {m['cores']} cores, torch {m['torch']}, Python {m['python']}. "
        "The 95% interval of the difference is mean ± t(0.975, n−1)·std/√n over the paired seeds.",
        "",
    ]
    return "\n".join(lines)


def readme_block(data: dict, md_name: str, page: Path = PAGE) -> str:
    """The block on docs/quantum.md (the name is older than the page): the tables and a link to the report."""
    target = f"benchmarks/{md_name}"
    return table(data) + f"\n\nDetails, every run and the exact command: [`{target}`]({link(target, page)})."


def update_readme(block: str, page: Path = PAGE) -> bool:
    """Replace the text between the ablation markers of docs/quantum.md; False if it has no markers."""
    return replace_block("ablation", block, page)


def machine() -> dict:
    import torch

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "torch": str(torch.__version__), "python": platform.python_version()}


def command_line(a: argparse.Namespace) -> str:
    parts = [
        "qnn ablation",
        "--tasks",
        *a.tasks,
        "--seeds",
        *map(str, a.seeds),
        "--epochs",
        str(a.epochs),
        "--subset",
        str(a.subset),
        "--threads",
        str(a.threads),
    ]
    if list(a.variants) != list(VARIANTS):
        parts += ["--variants", *a.variants]
    if a.max_batches:
        parts += ["--max-batches", str(a.max_batches)]
    if a.limit:
        parts += ["--limit", str(a.limit)]
    if Path(a.out).resolve() != DEFAULT_JSON:
        parts += ["--out", str(a.out)]
    if a.readme:
        parts.append("--readme")
    return " ".join(parts)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="qnn ablation", description=__doc__.split("\n")[0])
    p.add_argument("--tasks", nargs="+", default=["mnist", "fashion", "kmnist"])
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    p.add_argument(
        "--variants",
        nargs="+",
        choices=VARIANTS,
        default=list(VARIANTS),
        help="which models to train per task and seed (default all: hybrid, classical-only and the "
        "three fairer controls)",
    )
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--subset", type=int, default=20000, help="train on the first N images of the train split")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument(
        "--jobs",
        type=positive_int,
        default=1,
        help="train this many models at once, each in its own process (results are the same)",
    )
    p.add_argument("--max-batches", type=int, help="stop each epoch after N batches (tests)")
    add_limit(p, "test images")
    p.add_argument("--out", type=Path, default=DEFAULT_JSON, help="results JSON; ABLATION.md is written next to it")
    p.add_argument("--work-dir", type=Path, help="where the trained checkpoints go (default: runs/ablation)")
    p.add_argument(
        "--readme", action="store_true", help="also rewrite the block between the ablation markers in docs/quantum.md"
    )
    p.add_argument(
        "--report-only",
        action="store_true",
        help="train and measure nothing; rewrite the reports (and with --readme docs/quantum.md) from the JSON",
    )
    add_device(p, default="cpu")
    return p


def main(argv: list[str] | None = None) -> int:
    a = build_parser().parse_args(argv)
    for t in a.tasks:
        get_task(t)
    budget = {
        "epochs": a.epochs,
        "subset": a.subset,
        "threads": a.threads,
        "max_batches": a.max_batches,
        "test_limit": a.limit,
        "batch_size": 128,
    }
    data = load_results(a.out) or {}
    if data and data.get("budget") != budget:
        print(
            f"error: {a.out} holds runs with another budget ({data.get('budget')}); use another --out", file=sys.stderr
        )
        return 2
    if not (a.report_only and data):  # a report-only pass keeps the record of where the runs were made
        data.update(budget=budget, command=command_line(a), machine=machine(), json_name=a.out.name)
    data.setdefault("runs", [])
    work = a.work_dir or REPO_ROOT / "runs" / "ablation"
    done = {(r["task"], r["variant"], r["seed"]) for r in data["runs"]}
    todo = [(t, v, s) for s in a.seeds for t in a.tasks for v in a.variants if (t, v, s) not in done]
    if a.report_only:
        todo = []
    for i, r in enumerate(run_all(todo, budget, work, a.device, a.jobs), 1):
        data["runs"].append(r)
        data["summary"] = summarise(data["runs"])
        write_json_atomic(data, a.out)
        print(
            f"[{i}/{len(todo)}] {r['task']} {r['variant']} seed {r['seed']}: test {r['test_accuracy']:.4f}  "
            f"train {r['train_time_s']:.0f} s  eval {r['eval_time_s']:.0f} s",
            file=sys.stderr,
            flush=True,
        )
    data["summary"] = summarise(data["runs"])
    write_json_atomic(data, a.out)
    md = a.out.with_name(a.out.stem.upper() + ".md") if a.out.stem.islower() else a.out.with_suffix(".md")
    md.write_text(markdown(data))
    if a.readme and not update_readme(readme_block(data, md.name)):
        print(f"note: {PAGE} has no {BLOCK_START} markers; not changed", file=sys.stderr)
    print(json.dumps(data["summary"], ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
