"""Evaluate every shipped checkpoint and regenerate what is derived from it.

    qnn report [--tasks mnist fashion ...] [--report-only]

Writes checkpoints/eval/<task>_<variant>.json (+ confusion and error PNGs),
the model card checkpoints/<task>_<variant>.md, the full results table in
docs/results.md and the short one in README.md, each between its markers
(evaluation/readme.py). Every number there comes from this run.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from qnn_core.data import font_letters, hiragana, letters, rendered
from qnn_core.data.letters import TEST_WRITERS
from qnn_core.data.loaders import DataNotFoundError, Split, has_split, load_holdout, load_split, load_train_val
from qnn_core.data.proxies import STYLES
from qnn_core.devices import DeviceError, add_device, resolve
from qnn_core.evaluation import bottleneck_report, unsure_report
from qnn_core.evaluation.committed import eval_path, load_eval, variant  # noqa: F401  (re-exported)
from qnn_core.evaluation.evaluate import evaluate, proxy_split, proxy_styles, public, write_report
from qnn_core.evaluation.photo_eval import photo_accuracy, read_labels
from qnn_core.evaluation.readme import percent_cell, replace_block
from qnn_core.fileio import write_json_atomic
from qnn_core.inference.predict import Predictor
from qnn_core.models import lineage
from qnn_core.models.checkpoint import load_checkpoint
from qnn_core.models.hybrid import ModelConfig
from qnn_core.paths import EVAL_DIR
from qnn_core.preprocess.augment import renders
from qnn_core.tasks import CHECKPOINT_DIR, SHARED_DATA, TASKS, TaskSpec, get_task

HOLDOUT_PHOTOS = {"animals": SHARED_DATA / "holdout" / "animal-photos"}


def top_confusions(result: dict, names: list[str], k: int = 5) -> list[tuple[str, str, int]]:
    conf = np.array(result["confusion"])
    np.fill_diagonal(conf, 0)
    order = np.dstack(np.unravel_index(np.argsort(-conf.ravel(), kind="stable"), conf.shape))[0][:k]
    return [(names[i], names[j], int(conf[i, j])) for i, j in order if conf[i, j] > 0]


def proxy_path(task: TaskSpec, quantum: bool, split: str) -> Path:
    """`evaluate --proxy` of a shipped model: split "test" (measured) or "val" (the one to choose on)."""
    return EVAL_DIR / f"{task.name}_{variant(quantum)}_proxy_{split}.json"


def takes_drawings(task: TaskSpec) -> bool:
    """The handwriting tasks, whose users draw or photograph their own characters: they get the proxy."""
    return task.input.kind == "ink" and task.augment.startswith("handwriting")


def measure_proxies(model, task: TaskSpec, quantum: bool, splits: dict[str, Split]) -> dict[str, dict]:
    """The model on the proxy splits (the same re-made images for every model of the task), written as JSON."""
    out = {}
    for name, split in splits.items():
        result = evaluate(model, task, split)
        result.update(
            proxy=proxy_styles(result, split),
            checkpoint=task.checkpoint(quantum).name,
            split="validation" if name == "val" else "test",
            command=f"qnn evaluate --task {task.name}"
            f"{'' if quantum else ' --model classical'} --proxy"
            f"{' --split val' if name == 'val' else ''} --json",
        )
        out[name] = public(result)
        write_json_atomic(out[name], proxy_path(task, quantum, name))
    return out


def proxy_row(proxy: dict[str, dict]) -> str:
    test, val = proxy["test"], proxy.get("val")
    styles = ", ".join(f"{style} {test['proxy'][style]:.2%}" for style in STYLES)
    return (
        f"| the same images re-made as people's pictures (a canvas, a pen on paper, a phone photo; "
        f"`evaluate --proxy`) | {test['accuracy']:.2%} ({styles})"
        + (f"; validation {val['accuracy']:.2%}" if val else "")
        + " |"
    )


def holdout_path(task: TaskSpec, quantum: bool) -> Path:
    return EVAL_DIR / f"{task.name}_{variant(quantum)}_holdout.json"


def _stroke_data_rows(task: TaskSpec, meta: dict, result: dict, holdout: dict | None) -> list[str]:
    """What a letters model was trained, chosen and tested on (letters.py), in the card's words."""
    n_test_writers, n_val, n_train = len(letters.TEST_WRITERS), len(letters.VAL_WRITERS), len(letters.TRAIN_WRITERS)
    real = n_train * 52 * letters.REAL_COPIES
    in_fonts = round(letters.N_SYNTHETIC * letters.FONT_SHARE)
    synthetic = (
        f"{letters.N_SYNTHETIC:,} synthetic letters ({letters.N_SYNTHETIC - in_fonts:,} Hershey, "
        f"{in_fonts:,} in handwriting fonts)"
    )
    mix = {
        "mixed": f"{synthetic} + {real:,} drawings of real letters",
        "synthetic": synthetic,
        "real": f"{real:,} drawings of real letters",
    }
    fonts = "; ".join(f"{package} ({licence})" for package, licence in sorted(set(font_letters.FONTS.values())))
    stages = [m for _, m in training_runs(task, meta)]
    trained = "; then ".join(
        f"{mix[m['train_config'].get('mix', 'mixed')]} ({m['train_size']:,} images, "
        f"{m['epochs']} epoch{'s' if m['epochs'] != 1 else ''}, lr {m['train_config']['lr']})"
        for m in stages
    )
    rows = [
        f"| **test accuracy** | **{result['accuracy']:.2%}** on the {result['n']:,} real letters (a–z and A–Z) of "
        f"{n_test_writers} Chars74K writers never trained on or used for any choice (writers {letters.TEST_WRITERS}) |",
    ]
    if "accuracy_quantum_off" in result:
        rows.append(
            f"| test accuracy, quantum branch switched off at inference | {result['accuracy_quantum_off']:.2%} |"
        )
    if holdout:
        rows.append(
            f"| independent holdout, measured only | {holdout['accuracy']:.2%} on the {holdout['n']:,} letters of "
            f"UJI Pen Characters v1 (11 other writers, another tablet) |"
        )
    rows += [
        f"| validation accuracy (chooses the kept epoch and the recipe) | {meta['val_accuracy']:.2%} "
        f"({meta['val_size']:,} drawings: the {n_val} validation writers' letters, {letters.VAL_COPIES} canvases each) |",
        f"| trained on | {trained}. Synthetic: Hershey vector-font letters, distorted (synthetic_letters.py), and "
        f"letters in {len(font_letters.FONTS)} handwriting-style fonts from Debian packages, slanted, turned and "
        f"re-weighted (font_letters.py; the packages and their font licences: {fonts}). Real: "
        f"the {n_train} train writers' {n_train * 52:,} Chars74K letters, each drawn {letters.REAL_COPIES} times on "
        f"random canvases. Every image goes through the canvas renderer and the app's preprocessing "
        f"(strokes.py); sha256 of the stroke file `{meta['train_data_sha256']}` |",
    ]
    return rows


def _kana_data_rows(task: TaskSpec, meta: dict, result: dict) -> list[str]:
    """What a hiragana model was trained, chosen and tested on (data/hiragana.py), and the data's licences."""
    val_font = ", ".join(Path(f).stem for f in hiragana.VAL_FONTS)
    test_font = ", ".join(Path(f).stem for f in hiragana.TEST_FONTS)
    held_out = hiragana.STROKES_PER_CLASS // 10
    rows = [
        f"| **test accuracy** | **{result['accuracy']:.2%}** on {result['n']:,} synthetic kana never trained on or "
        f"used for any choice: {held_out} KanjiVG renderings per kana from their own seed and distortion draws, and "
        f"the whole held-out font {test_font} ({hiragana.HELD_OUT_FONT_PER_CLASS} per kana) |",
    ]
    if "accuracy_quantum_off" in result:
        rows.append(
            f"| test accuracy, quantum branch switched off at inference | {result['accuracy_quantum_off']:.2%} |"
        )
    rows += [
        f"| validation accuracy (chooses the kept epoch and the recipe) | {meta['val_accuracy']:.2%} "
        f"({meta['val_size']:,} images: {held_out} KanjiVG renderings per kana from the validation seed, and the "
        f"whole held-out font {val_font}) |",
        f"| trained on | {hiragana.mix_description()} ({meta['train_size']:,} images). Strokes: KanjiVG's paths with "
        "per-stroke jitter, hooks and tails, joined strokes (kana_strokes.py), then rotation, slant, width and "
        "elastic waves (synthetic_letters.py) and a random canvas (strokes.py). Fonts: bent and re-weighted like "
        f"the letter fonts (font_letters.py); sha256 of the KanjiVG files `{meta['train_data_sha256']}` |",
        "| data licences | " + " ".join(hiragana.licence_lines()) + " |",
    ]
    return rows


def backbone_text(cfg: dict, meta: dict, n_params: int) -> str:
    if cfg.get("backbone", "resnet") == "resnet":
        kind = "pre-activation ResNet" if cfg.get("preact") else "ResNet-style"
        return f"{kind}, widths {cfg['widths']}, blocks {cfg['blocks']}, {n_params:,} parameters in all"
    frozen = meta["train_config"].get("freeze_backbone")
    tuned = cfg.get("tuned_stages", 1)
    stages = "last stage" if tuned == 1 else f"last {tuned} stages"
    return (
        f"{cfg['backbone']}, ImageNet-pretrained (weights sha256 `{str(meta.get('backbone_sha256'))[:16]}…`, rebuilt "
        f"from the installed package at load time and not stored in the checkpoint); trunk frozen, {stages} "
        f"{'frozen too' if frozen else 'fine-tuned'}; input {meta['input']['size']} px; {n_params:,} parameters in all"
    )


def augment_text(task: TaskSpec, train_config: dict) -> str:
    if task.input.kind != "photo":
        kind = train_config.get("augment") or task.augment
        if renders(kind):
            return (
                f"{kind} (preprocess/augment.py){cutmix_text(train_config)}: half of every batch swapped for the images re-made as a canvas, "
                f"a pen on paper or a phone photo would give them, {rendered.VIEWS} renderings per image "
                "(data/rendered.py)"
            )
        return f"{kind} (preprocess/augment.py){cutmix_text(train_config)}"
    views = train_config.get("views")
    if views:
        return f"{views} random crop + mirror views of each training image, cached; one version per image each epoch (training/features.py)"
    return "half the cached activation maps mirrored (training/features.py)"


def cutmix_text(train_config: dict) -> str:
    share = train_config.get("cutmix")
    return f", then CutMix on {share:.0%} of the images (labels weighted by area)" if share else ""


def blocks_flag(cfg: dict) -> str:
    """`--blocks` where the checkpoint's resnet has other than the default blocks (every run of a chain alike)."""
    blocks = tuple(cfg.get("blocks", ModelConfig.blocks))
    return (
        f" --blocks {','.join(map(str, blocks))}"
        if cfg.get("backbone", "resnet") == "resnet" and blocks != ModelConfig.blocks
        else ""
    )


def preact_flag(cfg: dict) -> str:
    """`--preact` where the checkpoint's resnet has pre-activation blocks."""
    return " --preact" if cfg.get("backbone", "resnet") == "resnet" and cfg.get("preact") else ""


def extra_train_flags(meta: dict) -> str:
    tc = meta["train_config"]
    flags = " --freeze-backbone" if tc.get("freeze_backbone") else ""
    flags += f" --lr {tc['lr']:g}" if tc.get("lr") != 3e-3 else ""
    flags += f" --epochs {meta['epochs']}"
    flags += " --swa" if tc.get("swa") else ""
    flags += f" --augment {tc['augment']}" if tc.get("augment") else ""
    flags += f" --cutmix {tc['cutmix']:g}" if tc.get("cutmix") else ""
    if meta.get("config", {}).get("backbone") == "efficientnet_lite0":  # older checkpoints: 1 stage, no views
        flags += f" --views {tc.get('views') or 0} --tuned-stages {meta['config'].get('tuned_stages', 1)}"
    return flags + (f" --train-limit {tc['train_limit']}" if tc.get("train_limit") else "")


def photo_section(task: TaskSpec, meta: dict, photos: list[dict] | None) -> list[str]:
    """Real photographs and the "none of these?" threshold (photo tasks only)."""
    if task.input.kind != "photo":
        return []
    lines = ["", "## Real photographs", ""]
    if meta.get("unsure_below") is not None:
        lines.append(
            f'"None of these?" is shown below a top probability of **{meta["unsure_below"]:.2f}**, calibrated on '
            f"the validation split{' (predicted as served, mirrored pair averaged)' if task.test_time_mirror else ''}: it flags {meta['unsure_flags_right']:.1%} of the correctly classified and "
            f"{meta['unsure_flags_wrong']:.1%} of the misclassified validation images."
        )
        lines.append("")
    if meta.get("animal_share_below") is not None:
        lines.append(
            f"It is also shown when the backbone's own ImageNet head puts less than "
            f"**{meta['animal_share_below']:.3f}** of its probability on its 398 animal classes (the 5% "
            f"quantile on the validation split; median there {meta['animal_share_val_median']:.3f}); "
            f"see `qnn_core/evaluation/ood_calibration.py`, which writes it into the checkpoints: `qnn ood --task {task.name}`."
        )
        lines.append("")
    if meta.get("other_animal_above") is not None:
        lines.append(
            f"A photo is flagged as another animal (\u201cThis looks like a cow, which is not one of the six\u201d) when the "
            f"ImageNet head's likeliest animal group (its 398 animal classes grouped, `inference/imagenet_groups.py`) "
            f"is not one of the six and holds at least **{meta['other_animal_above']:.3f}** of its probability; "
            f"calibrated on the validation split, where it flags {meta['other_animal_flags_val']:.1%} of the "
            f"images ({meta['other_animal_new_flags_val']:.1%} not already flagged by the checks above)."
        )
        lines.append("")
    if meta.get("garment_share_below") is not None:
        lines.append(
            f"\"This doesn't look like a garment\" is also shown when the backbone's own ImageNet head puts less than "
            f"**{meta['garment_share_below']:.4f}** of its probability on its garment, shoe and hat classes "
            f"(`inference/imagenet_groups.py`; median on validation garments {meta['garment_share_val_median']:.3f}). "
            f"Both checks together flag {meta['garment_flags_val']:.1%} of the validation garments "
            f"(calibrated there: `qnn ood --task {task.name}`)."
        )
        lines.append("")
    if not task.input.native:
        lines.append(
            f'Served preprocessing (registry): `photo_resize = "{task.input.photo_resize}"`: a photo is resized '
            f"straight to {task.input.size} px, as the training photos were when loaded."
        )
        return lines
    lines.append(
        f'Served preprocessing (registry): `photo_resize = "{task.input.photo_resize}"`; '
        f'"match" shrinks a photo to {task.input.native} px before the {task.input.size} px upsampling, '
        'as the training images were; "full" resizes it straight to the input size. It was chosen on the '
        "licensed non-holdout photos in `assets/animals/` (`qnn photo-eval --task "
        f"{task.name} assets/animals`), never on the held-out photos below."
    )
    if photos:
        lines += [
            "",
            f"Held-out real photos (`shared/data/holdout/animal-photos`, measurement only, {photos[0]['n']} photos):",
            "",
            "| preprocessing | correct | accuracy |",
            "|---|---|---|",
        ]
        lines += [
            f"| {r['resize']}{' (served)' if r['resize'] == task.input.photo_resize else ''} | "
            f"{r['correct']}/{r['n']} | {r['accuracy']:.2%} |"
            for r in photos
        ]
    return lines


def kept_text(run: dict) -> str:
    if run.get("best_epoch") == "swa":
        swa = run["swa"]
        return (
            f"kept: the average of its {swa['averaged_epochs']} epochs' weights (SWA), validation "
            f"{swa['val_acc']:.2%} against {swa['best_single_val_acc']:.2%} for the best single weights"
        )
    if run.get("best_epoch") == 0:  # no epoch beat the weights it started from
        return "kept: none, no epoch beat the previous run's weights on validation"
    return f"kept: epoch {run.get('best_epoch')}"


def training_runs(task: TaskSpec, meta: dict) -> list[tuple[str, dict]]:
    """The runs behind a checkpoint, oldest first, with their names: each later one started (`--init`) from
    the weights the one before it kept."""
    chain = lineage.training_runs(meta)
    if len(chain) == 1:
        return [("", meta)]
    if task.data.kind == "strokes" and len(chain) == 2:  # letters: other data in the second run
        return list(zip(("pretraining", "fine-tuning"), chain))
    return [(f"run {i}", m) for i, m in enumerate(chain, 1)]


def train_commands(task: TaskSpec, runs: list[tuple[str, dict]], flag: str) -> str:
    mix = lambda m: f" --mix {m['train_config']['mix']}" if task.data.kind == "strokes" and len(runs) > 1 else ""
    cmds = [
        f"`qnn train --task {task.name}{flag}{extra_train_flags(m)}{mix(m)} --threads 1"
        + (f" --init run{i - 1}.pt" if i > 1 else "")
        + (f" --out run{i}.pt" if i < len(runs) else "")
        + "`"
        for i, (_, m) in enumerate(runs, 1)
    ]
    return ", then ".join(cmds)


def model_card(
    task: TaskSpec,
    meta: dict,
    result: dict,
    n_params: int,
    holdout: dict | None = None,
    photos: list[dict] | None = None,
    proxy: dict[str, dict] | None = None,
) -> str:
    cfg = meta["config"]
    names = [task.label(i) for i in range(task.num_classes)]
    stages = training_runs(task, meta)
    init = len(stages) > 1  # trained in several runs, each from the weights the one before kept
    epoch_times = [h["epoch_time_s"] for _, m in stages for h in m["history"]]
    train_time_s = sum(m["train_time_s"] or 0 for _, m in stages)
    flag = "" if cfg["quantum"] else " --model classical"
    train_cmd = train_commands(task, stages, flag + blocks_flag(cfg) + preact_flag(cfg))
    kind = "Hybrid (classical + 8-qubit quantum branch)" if cfg["quantum"] else "Classical-only ablation"
    if cfg["quantum"]:
        kind = f"Hybrid (classical branch + {cfg['n_qubits']}-qubit, depth-{cfg['q_depth']} quantum branch)"
    lines = [
        f"# Model card: {task.title}, {variant(cfg['quantum'])}",
        "",
        "Generated by `qnn report` from the checkpoint and its evaluation; do not edit by hand.",
        "",
        "| | |",
        "|---|---|",
        f"| checkpoint | `checkpoints/{task.name}_{variant(cfg['quantum'])}.pt` |",
        f"| model | {kind} |",
        f"| backbone | {backbone_text(cfg, meta, n_params)} |",
    ]
    if task.data.kind == "strokes":
        lines += _stroke_data_rows(task, meta, result, holdout) + ([proxy_row(proxy)] if proxy else [])
    elif task.data.kind == "kanjivg":
        lines += _kana_data_rows(task, meta, result) + ([proxy_row(proxy)] if proxy else [])
    elif result.get("split") == "validation":  # a data set whose test split is kept apart (clothes)
        lines.append(
            f"| **validation accuracy** | **{result['accuracy']:.2%}** on the data set's own validation split "
            f"({result['n']:,} photos; its test split is kept apart and measured elsewhere, so this is the "
            "split the recipe was chosen on) |"
        )
        if "accuracy_quantum_off" in result:
            lines.append(
                "| validation accuracy, quantum branch switched off at inference | "
                f"{result['accuracy_quantum_off']:.2%} |"
            )
        if result.get("test_time_mirror"):
            lines.append(
                "| test-time mirroring | on: the logits of the photo and of its mirror image are averaged "
                f"(registry `test_time_mirror`); one view only: {result['accuracy_single_view']:.2%} on validation |"
            )
        lines += [
            f"| validation accuracy of the kept epoch (during training) | {meta['val_accuracy']:.2%} |",
            *([f"| data | {task.data.credit} |"] if task.data.credit else []),
            f"| trained on | {meta['train_size']:,} photos of the data set's train split, sha256 of the files "
            f"`{meta['train_data_sha256']}` |",
        ]
    else:
        lines.append(
            f"| **test accuracy** | **{result['accuracy']:.2%}** on the official test split ({result['n']:,} images) |"
        )
        if "accuracy_quantum_off" in result:
            lines.append(
                f"| test accuracy, quantum branch switched off at inference | {result['accuracy_quantum_off']:.2%} |"
            )
        if result.get("test_time_mirror"):
            val = result.get("validation", {})
            lines.append(
                "| test-time mirroring | on: the logits of the image and of its mirror image are averaged "
                f"(registry `test_time_mirror`); one view only: test {result['accuracy_single_view']:.2%}"
                + (
                    f"; chosen on validation, where it gives {val['accuracy']:.2%} against "
                    f"{val['accuracy_single_view']:.2%}"
                    if val
                    else ""
                )
                + " |"
            )
        if proxy:
            lines.append(proxy_row(proxy))
        lines += [
            f"| validation accuracy (chooses the kept epoch) | {meta['val_accuracy']:.2%} ({meta['val_size']:,} images held out of train) |",
            f"| trained on | {meta['train_size']:,} images of the official train split, sha256 of the files `{meta['train_data_sha256']}` |",
        ]
    lines += [
        "| epochs | "
        + "; ".join(
            f"{name + ': ' if name else ''}{m['epochs']} ({kept_text(m)}), "
            f"lr {m['train_config']['lr']}{' constant (SWA)' if m['train_config'].get('swa') else ''}"
            for name, m in stages
        )
        + f"; seed {meta['seed']}, batch {meta['train_config']['batch_size']}, AdamW + one-cycle |",
        "| augmentation | "
        + "; ".join(f"{name + ': ' if name else ''}{augment_text(task, m['train_config'])}" for name, m in stages)
        + " |",
        f"| training time | {train_time_s / 60:.1f} min wall-clock, one thread, on a 2-core CPU shared with the twin model's training; "
        f"{np.median(epoch_times):.0f} s per epoch (median) |",
        "| libraries | " + ", ".join(f"{k} {v}" for k, v in meta["versions"].items()) + " |",
        "",
        f"Reproduce the training: {train_cmd}; the evaluation: "
        f"`qnn evaluate --task {task.name}{flag} --json`" + (" (and `--holdout` for the holdout)." if holdout else "."),
        "",
        f"## Per-class {'validation' if result.get('split') == 'validation' else 'test'} accuracy",
        "",
        "| class | accuracy |",
        "|---|---|",
    ]
    lines += [f"| {names[i]} | {acc:.2%} |" for i, acc in enumerate(result["per_class_accuracy"].values())]
    lines += ["", "## Most confused pairs (true → predicted, count)", ""]
    lines += [f"- {a} → {b}: {n}" for a, b, n in top_confusions(result, names, k=5 if task.num_classes <= 10 else 10)]
    lines += photo_section(task, meta, photos)
    lines += unsure_report.card_section(task, variant(cfg["quantum"]))
    lines += ["", "## Training history", ""]
    if init:
        lines += [
            "Each later run starts from the weights the run before it kept, and keeps its own only where they "
            "beat those on validation.",
            "",
        ]
    lines += [
        "| stage | epoch | train loss | train acc | val acc | s |"
        if init
        else "| epoch | train loss | train acc | val acc | s |",
        "|---|---|---|---|---|---|" if init else "|---|---|---|---|---|",
    ]
    lines += [
        f"| {name + ' | ' if name else ''}{h['epoch']} | {h['loss']:.4f} | {h['train_acc']:.2%} | {h['val_acc']:.2%} | "
        f"{h['epoch_time_s']:.0f} |"
        for name, m in stages
        for h in m["history"]
    ]
    stem = f"{task.name}_{variant(cfg['quantum'])}"
    lines += [
        "",
        f"![confusion matrix](eval/{stem}_confusion.png)",
        "",
        f"![misclassified](eval/{stem}_errors.png)",
        "",
    ]
    return "\n".join(lines)


def target_text(task: TaskSpec, result: dict | None) -> str:
    if task.target is None:
        return "–"
    if not result:
        return f"≥ {task.target:.1%}"
    gap = (result["accuracy"] - task.target) * 100
    return f"≥ {task.target:.1%}: " + ("**met**" if gap >= 0 else f"**missed** by {-gap:.2f} pts")


def summary_table(rows: list[tuple[TaskSpec, dict | None, dict | None]]) -> str:
    """README's one short table: test accuracy per task of the hybrid, its classical twin, and the hybrid with
    its quantum branch switched off (docs/results.md has the rest)."""
    out = ["| task | hybrid | classical twin | hybrid, quantum off |", "|---|---|---|---|"]
    out += [
        f"| {task.title} | {percent_cell(h)} | {percent_cell(c)} | {percent_cell(h, 'accuracy_quantum_off')} |"
        for task, h, c in rows
    ]
    return "\n".join(out)


def results_table(rows: list[tuple[TaskSpec, dict | None, dict | None]]) -> str:
    """docs/results.md's table and notes: targets, differences, the letters holdout, people's pictures."""
    out = [
        "| task | test images | hybrid | target (hybrid) | hybrid, quantum off | classical-only | hybrid − classical |",
        "|---|---|---|---|---|---|---|",
    ]
    for task, h, c in rows:
        diff = f"{(h['accuracy'] - c['accuracy']) * 100:+.2f} pts" if h and c else "–"
        n = (h or c or {}).get("n")
        on_val = (h or c or {}).get("split") == "validation"  # test split kept apart (clothes)
        out.append(
            f"| {task.title} | {f'{n:,}' if n else '–'}{' (validation)' if on_val else ''} | {percent_cell(h)} | {target_text(task, h)} | "
            f"{percent_cell(h, 'accuracy_quantum_off')} | {percent_cell(c)} | {diff} |"
        )
    pairs = [(h, c) for _, h, c in rows if h and c]
    if pairs:
        gap = max(abs(h["accuracy"] - c["accuracy"]) for h, c in pairs) * 100
        off = max(abs(h["accuracy"] - h["accuracy_quantum_off"]) for h, _ in pairs) * 100
        out += [
            "",
            f"In plain words: with one seed per model, hybrid and classical-only differ by at most {gap:.2f} "
            f"points, and switching the trained hybrid's quantum branch off changes its test accuracy by at "
            f"most {off:.2f} points. "
            + (
                "So far there is no sign that the quantum branch adds accuracy on these tasks; telling "
                "differences this small from seed-to-seed noise needs a multi-seed ablation."
                if max(gap, off) < 0.3
                else "One seed cannot tell such a difference from seed-to-seed noise; a multi-seed ablation can."
            ),
        ]
    for task, h, c in rows:
        if task.data.kind == "strokes" and (h or c):
            out += ["", _stroke_note(task, h, c)]
        if task.data.kind == "kanjivg" and (h or c):
            out += [
                "",
                f"{task.title}: its test images are synthetic (KanjiVG strokes drawn with their own seeds, and a "
                "whole font never trained on; see the model cards), not real handwriting.",
            ]
    pictures = [
        f"{task.title} hybrid {r['accuracy']:.2%}" + (f", classical-only {c['accuracy']:.2%}" if c else "")
        for task, *_ in rows
        if takes_drawings(task)
        for r, c in [(_read_json(proxy_path(task, True, "test")), _read_json(proxy_path(task, False, "test")))]
        if r
    ]
    if pictures:
        out += [
            "",
            "People's own pictures: the same test images re-made the way a canvas, a pen on paper and a "
            "phone photo would give them (thick or thin strokes, off-centre, any size, blur, uneven light, "
            "JPEG, either polarity; `evaluate --proxy`, per style in the cards): " + "; ".join(pictures) + ".",
        ]
    return "\n".join(out)


def _stroke_note(task: TaskSpec, h: dict | None, c: dict | None) -> str:
    n = (h or c)["n"]
    held = {
        name: json.loads(p.read_text())
        for name, p in (("hybrid", holdout_path(task, True)), ("classical-only", holdout_path(task, False)))
        if p.is_file()
    }
    text = (
        f"{task.title}: the test images are the {n:,} real letters (a–z and A–Z) of {len(TEST_WRITERS)} "
        f"Chars74K writers whom training never saw (pen strokes drawn like a canvas; see the model cards)."
    )
    if held:
        n_held = next(iter(held.values()))["n"]
        text += (
            f" Measured, never tuned, on {n_held:,} letters of 11 other writers (UJI Pen Characters v1): "
            + ", ".join(f"{name} {r['accuracy']:.2%}" for name, r in held.items())
            + "."
        )
    return text


def measure_holdout(model, task: TaskSpec, quantum: bool) -> dict | None:
    """Accuracy on the task's held-out real set, written beside the test evaluation (measured, never tuned on)."""
    try:
        split = load_holdout(task)
    except DataNotFoundError:
        return None
    result = public(evaluate(model, task, split))
    result.update(split="holdout", checkpoint=task.checkpoint(quantum).name)
    holdout_path(task, quantum).write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n")
    return result


def holdout_photos(task: TaskSpec, ckpt: Path, device: str = "cpu") -> list[dict] | None:
    """Accuracy on the held-out real photos under both photo preprocessings (measured, never tuned on)."""
    folder = HOLDOUT_PHOTOS.get(task.name)
    if task.input.kind != "photo" or folder is None or not (folder / "labels.csv").is_file():
        return None
    predictor, labels = Predictor(task, ckpt, device), read_labels(folder / "labels.csv")
    return [photo_accuracy(predictor, folder, labels, resize) for resize in ("match", "full")]


def update_pages(rows: list[tuple[TaskSpec, dict | None, dict | None]]) -> None:
    """The full table on docs/results.md, the short one on README.md."""
    replace_block("results", results_table(rows))
    replace_block("summary", summary_table(rows))


def _read_json(path: Path):
    return json.loads(path.read_text()) if path.is_file() else None


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="qnn report", description=__doc__.split("\n")[0])
    p.add_argument("--tasks", nargs="*", default=list(TASKS))
    p.add_argument(
        "--report-only",
        action="store_true",
        help="measure nothing; re-write the model cards and the tables (README.md, docs/results.md, "
        "docs/quantum.md) from the committed evaluations",
    )
    p.add_argument(
        "--bottleneck-only",
        action="store_true",
        help="measure only the quantum-bottleneck models and their twins (after retraining them)",
    )
    add_device(p, default="cpu")
    return p


def main(argv: list[str] | None = None) -> int:
    p = build_parser()
    a = p.parse_args(argv)
    try:
        device = resolve(a.device)
    except DeviceError as err:
        p.error(str(err))
    EVAL_DIR.mkdir(parents=True, exist_ok=True)
    for name in a.tasks:
        task = get_task(name)
        on_val = task.data.val is not None and not has_split(task, "test")  # its test split is kept apart
        split = None if a.report_only else (load_train_val(task)[1] if on_val else load_split(task, "test"))
        proxy_splits = None
        for quantum in () if a.bottleneck_only else (True, False):
            ckpt = task.checkpoint(quantum)
            if not ckpt.is_file():
                print(f"skip {ckpt.name}: not trained", file=sys.stderr)
                continue
            model, meta = load_checkpoint(ckpt)
            model.to(device)
            stem = f"{task.name}_{variant(quantum)}"
            n_params = sum(p.numel() for p in model.parameters())
            if a.report_only:
                result = load_eval(task, quantum)
                holdout = _read_json(holdout_path(task, quantum))
                photos = _read_json(EVAL_DIR / f"{stem}_photos.json")
                proxy = {s: r for s in ("test", "val") if (r := _read_json(proxy_path(task, quantum, s)))} or None
            else:
                result = evaluate(model, task, split)
                result["checkpoint"] = ckpt.name
                if on_val:
                    result["split"] = "validation"
                elif task.test_time_mirror:  # the evidence for mirroring, on the split where it was chosen
                    val = evaluate(model, task, load_train_val(task)[1], mirror=True)
                    result["validation"] = {k: val[k] for k in ("n", "accuracy", "accuracy_single_view")}
                write_report(result, task, split, EVAL_DIR, stem)
                eval_path(task, quantum).write_text(json.dumps(public(result), indent=1, ensure_ascii=False) + "\n")
                holdout = measure_holdout(model, task, quantum)
                photos = holdout_photos(task, ckpt, a.device)
                if photos:
                    (EVAL_DIR / f"{stem}_photos.json").write_text(json.dumps(photos, indent=1) + "\n")
                if takes_drawings(task) and proxy_splits is None:  # made once, for both models of the task
                    proxy_splits = {"test": proxy_split(split, task), "val": proxy_split(load_train_val(task)[1], task)}
                proxy = measure_proxies(model, task, quantum, proxy_splits) if takes_drawings(task) else None
            (CHECKPOINT_DIR / f"{stem}.md").write_text(model_card(task, meta, result, n_params, holdout, photos, proxy))
            print(f"{stem}: {result['accuracy']:.4f}", file=sys.stderr)
        if "bottleneck" in task.models:
            if a.report_only:
                bottleneck_report.rewrite_cards(task)
            else:
                bottleneck_report.measure(task, split, a.device)
    rows = [(t, load_eval(t, True), load_eval(t, False)) for t in TASKS.values()]
    if not a.bottleneck_only:
        update_pages(rows)
    bottleneck_report.update_page()
    unsure_report.update_page()
    return 0


if __name__ == "__main__":
    sys.exit(main())
