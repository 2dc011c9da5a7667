"""Evaluate every shipped checkpoint and regenerate what is derived from it.

    python -m qnn_core.report [--tasks mnist fashion ...]

Writes checkpoints/eval/<task>_<variant>.json (+ confusion and error PNGs),
the model card checkpoints/<task>_<variant>.md, and the results table in
README.md between its markers. Every number there comes from this run.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import numpy as np

from .checkpoint import load_checkpoint
from .data import load_split
from .evaluate import evaluate, public, write_report
from .tasks import CHECKPOINT_DIR, REPO_ROOT, SHARED_DATA, TASKS, TaskSpec, get_task

EVAL_DIR = CHECKPOINT_DIR / "eval"
README = REPO_ROOT / "README.md"
HOLDOUT_PHOTOS = {"animals": SHARED_DATA / "holdout" / "animal-photos"}
TABLE_START, TABLE_END = "<!-- results:start -->", "<!-- results:end -->"


def variant(quantum: bool) -> str:
    return "hybrid" if quantum else "classical"


def eval_path(task: TaskSpec, quantum: bool) -> Path:
    return EVAL_DIR / f"{task.name}_{variant(quantum)}.json"


def load_eval(task: TaskSpec, quantum: bool) -> dict | None:
    """The committed evaluation of a shipped checkpoint (what pages show), or None."""
    p = eval_path(task, quantum)
    return json.loads(p.read_text()) if p.is_file() else None


def top_confusions(result: dict, names: list[str], k: int = 5) -> list[tuple[str, str, int]]:
    conf = np.array(result["confusion"])
    np.fill_diagonal(conf, 0)
    order = np.dstack(np.unravel_index(np.argsort(-conf.ravel()), conf.shape))[0][:k]
    return [(names[i], names[j], int(conf[i, j])) for i, j in order if conf[i, j] > 0]


def backbone_text(cfg: dict, meta: dict, n_params: int) -> str:
    if cfg.get("backbone", "resnet") == "resnet":
        return f"ResNet-style, widths {cfg['widths']}, blocks {cfg['blocks']}, {n_params:,} parameters in all"
    frozen = meta["train_config"].get("freeze_backbone")
    return (f"{cfg['backbone']}, ImageNet-pretrained (weights sha256 `{str(meta.get('backbone_sha256'))[:16]}…`, rebuilt "
            f"from the installed package at load time and not stored in the checkpoint); trunk frozen, last stage "
            f"{'frozen too' if frozen else 'fine-tuned'}; input {meta['input']['size']} px; {n_params:,} parameters in all")


def extra_train_flags(meta: dict) -> str:
    tc = meta["train_config"]
    flags = " --freeze-backbone" if tc.get("freeze_backbone") else ""
    flags += f" --lr {tc['lr']:g}" if tc.get("lr") != 3e-3 else ""
    flags += f" --epochs {meta['epochs']}"
    return flags + (f" --train-limit {tc['train_limit']}" if tc.get("train_limit") else "")


def photo_section(task: TaskSpec, meta: dict, photos: list[dict] | None) -> list[str]:
    """Real photographs and the "none of these?" threshold (photo tasks only)."""
    if task.input.kind != "photo":
        return []
    lines = ["", "## Real photographs", ""]
    if meta.get("unsure_below") is not None:
        lines.append(f"\"None of these?\" is shown below a top probability of **{meta['unsure_below']:.2f}**, calibrated on "
                     f"the validation split: it flags {meta['unsure_flags_right']:.1%} of the correctly classified and "
                     f"{meta['unsure_flags_wrong']:.1%} of the misclassified validation images.")
        lines.append("")
    if meta.get("animal_share_below") is not None:
        lines.append(f"It is also shown when the backbone's own ImageNet head puts less than "
                     f"**{meta['animal_share_below']:.3f}** of its probability on its 398 animal classes (the 5% "
                     f"quantile on the validation split; median there {meta['animal_share_val_median']:.3f}); "
                     f"see `qnn_core/ood.py`, which writes it into the checkpoints: `python -m qnn_core.ood --task {task.name}`.")
        lines.append("")
    lines.append(f"Served preprocessing (registry): `photo_resize = \"{task.input.photo_resize}\"`; "
                 f"\"match\" shrinks a photo to {task.input.native} px before the {task.input.size} px upsampling, "
                 "as the training images were; \"full\" resizes it straight to the input size. It was chosen on the "
                 "licensed non-holdout photos in `assets/animals/` (`python -m qnn_core.photo_eval --task "
                 f"{task.name} assets/animals`), never on the held-out photos below.")
    if photos:
        lines += ["", f"Held-out real photos (`shared/data/holdout/animal-photos`, measurement only, {photos[0]['n']} photos):",
                  "", "| preprocessing | correct | accuracy |", "|---|---|---|"]
        lines += [f"| {r['resize']}{' (served)' if r['resize'] == task.input.photo_resize else ''} | "
                  f"{r['correct']}/{r['n']} | {r['accuracy']:.2%} |" for r in photos]
    return lines


def model_card(task: TaskSpec, meta: dict, result: dict, n_params: int, photos: list[dict] | None = None) -> str:
    cfg = meta["config"]
    names = [task.label(i) for i in range(task.num_classes)]
    hist = meta["history"]
    epoch_times = [h["epoch_time_s"] for h in hist]
    kind = "Hybrid (classical + 8-qubit quantum branch)" if cfg["quantum"] else "Classical-only ablation"
    if cfg["quantum"]:
        kind = f"Hybrid (classical branch + {cfg['n_qubits']}-qubit, depth-{cfg['q_depth']} quantum branch)"
    lines = [
        f"# Model card: {task.title}, {variant(cfg['quantum'])}",
        "",
        "Generated by `python -m qnn_core.report` from the checkpoint and its evaluation; do not edit by hand.",
        "",
        "| | |", "|---|---|",
        f"| checkpoint | `checkpoints/{task.name}_{variant(cfg['quantum'])}.pt` |",
        f"| model | {kind} |",
        f"| backbone | {backbone_text(cfg, meta, n_params)} |",
        f"| **test accuracy** | **{result['accuracy']:.2%}** on the official test split ({result['n']:,} images) |",
    ]
    if "accuracy_quantum_off" in result:
        lines.append(f"| test accuracy, quantum branch switched off at inference | {result['accuracy_quantum_off']:.2%} |")
    lines += [
        f"| validation accuracy (chooses the kept epoch) | {meta['val_accuracy']:.2%} ({meta['val_size']:,} images held out of train) |",
        f"| trained on | {meta['train_size']:,} images of the official train split, sha256 of the files `{meta['train_data_sha256']}` |",
        f"| epochs | {meta['epochs']} (kept: epoch {meta.get('best_epoch')}), seed {meta['seed']}, "
        f"batch {meta['train_config']['batch_size']}, AdamW + one-cycle lr {meta['train_config']['lr']} |",
        f"| augmentation | {task.augment} |",
        f"| training time | {meta['train_time_s'] / 60:.1f} min wall-clock, one thread, on a 2-core CPU shared with the twin model's training; "
        f"{np.median(epoch_times):.0f} s per epoch (median) |",
        f"| libraries | " + ", ".join(f"{k} {v}" for k, v in meta["versions"].items()) + " |",
        "",
        "Reproduce the training: `python -m qnn_core.train --task "
        f"{task.name}{'' if cfg['quantum'] else ' --no-quantum'}{extra_train_flags(meta)} --threads 1`; the evaluation: "
        f"`python -m qnn_core.evaluate --task {task.name}{'' if cfg['quantum'] else ' --no-quantum'} --json`.",
        "",
        "## Per-class test accuracy", "", "| class | accuracy |", "|---|---|",
    ]
    lines += [f"| {names[i]} | {acc:.2%} |" for i, acc in enumerate(result["per_class_accuracy"].values())]
    lines += ["", "## Most confused pairs (true → predicted, count)", ""]
    lines += [f"- {a} → {b}: {n}" for a, b, n in top_confusions(result, names)]
    lines += photo_section(task, meta, photos)
    lines += ["", "## Training history", "", "| epoch | train loss | train acc | val acc | s |", "|---|---|---|---|---|"]
    lines += [f"| {h['epoch']} | {h['loss']:.4f} | {h['train_acc']:.2%} | {h['val_acc']:.2%} | {h['epoch_time_s']:.0f} |"
              for h in hist]
    stem = f"{task.name}_{variant(cfg['quantum'])}"
    lines += ["", f"![confusion matrix](eval/{stem}_confusion.png)", "", f"![misclassified](eval/{stem}_errors.png)", ""]
    return "\n".join(lines)


def results_table(rows: list[tuple[TaskSpec, dict | None, dict | None]]) -> str:
    out = ["| task | test images | hybrid | hybrid, quantum off | classical-only | hybrid − classical |",
           "|---|---|---|---|---|---|"]
    for task, h, c in rows:
        fmt = lambda r, k="accuracy": f"{r[k]:.2%}" if r and k in r else "–"  # noqa: E731
        diff = f"{(h['accuracy'] - c['accuracy']) * 100:+.2f} pts" if h and c else "–"
        n = (h or c or {}).get("n")
        out.append(f"| {task.title} | {f'{n:,}' if n else '–'} | {fmt(h)} | {fmt(h, 'accuracy_quantum_off')} | {fmt(c)} | {diff} |")
    pairs = [(h, c) for _, h, c in rows if h and c]
    if pairs:
        gap = max(abs(h["accuracy"] - c["accuracy"]) for h, c in pairs) * 100
        off = max(abs(h["accuracy"] - h["accuracy_quantum_off"]) for h, _ in pairs) * 100
        out += ["", f"In plain words: with one seed per model, hybrid and classical-only differ by at most {gap:.2f} "
                    f"points, and switching the trained hybrid's quantum branch off changes its test accuracy by at "
                    f"most {off:.2f} points. "
                    + ("So far there is no sign that the quantum branch adds accuracy on these tasks; telling "
                       "differences this small from seed-to-seed noise needs a multi-seed ablation."
                       if max(gap, off) < 0.3 else
                       "One seed cannot tell such a difference from seed-to-seed noise; a multi-seed ablation can.")]
    return "\n".join(out)


def holdout_photos(task: TaskSpec, ckpt: Path) -> list[dict] | None:
    """Accuracy on the held-out real photos under both photo preprocessings (measured, never tuned on)."""
    folder = HOLDOUT_PHOTOS.get(task.name)
    if task.input.kind != "photo" or folder is None or not (folder / "labels.csv").is_file():
        return None
    from .photo_eval import photo_accuracy, read_labels
    from .predict import Predictor

    predictor, labels = Predictor(task, ckpt), read_labels(folder / "labels.csv")
    return [photo_accuracy(predictor, folder, labels, resize) for resize in ("match", "full")]


def update_readme(table: str) -> None:
    text = README.read_text()
    block = f"{TABLE_START}\n{table}\n{TABLE_END}"
    pattern = re.compile(re.escape(TABLE_START) + ".*?" + re.escape(TABLE_END), re.S)
    README.write_text(pattern.sub(lambda _: block, text))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m qnn_core.report", description=__doc__.split("\n")[0])
    p.add_argument("--tasks", nargs="*", default=list(TASKS))
    a = p.parse_args(argv)
    EVAL_DIR.mkdir(parents=True, exist_ok=True)
    for name in a.tasks:
        task = get_task(name)
        split = load_split(task, "test")
        for quantum in (True, False):
            ckpt = task.checkpoint(quantum)
            if not ckpt.is_file():
                print(f"skip {ckpt.name}: not trained", file=sys.stderr)
                continue
            model, meta = load_checkpoint(ckpt)
            result = evaluate(model, task, split)
            result["checkpoint"] = ckpt.name
            stem = f"{task.name}_{variant(quantum)}"
            write_report(result, task, split, EVAL_DIR, stem)
            eval_path(task, quantum).write_text(json.dumps(public(result), indent=1, ensure_ascii=False) + "\n")
            n_params = sum(p.numel() for p in model.parameters())
            photos = holdout_photos(task, ckpt)
            if photos:
                (EVAL_DIR / f"{stem}_photos.json").write_text(json.dumps(photos, indent=1) + "\n")
            (CHECKPOINT_DIR / f"{stem}.md").write_text(model_card(task, meta, result, n_params, photos))
            print(f"{stem}: {result['accuracy']:.4f}", file=sys.stderr)
    rows = [(t, load_eval(t, True), load_eval(t, False)) for t in TASKS.values()]
    update_readme(results_table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
