"""The "I'm not sure" verdict's calibration in words: a model card section per checkpoint and docs/results.md's table.

Everything is read from the committed checkpoints/eval/*_unsure.json that `qnn ood --task T`
writes (evaluation/unsure_calibration.py); nothing is measured here.
"""

from __future__ import annotations

import json

from qnn_core.data.scribbles import KINDS as DRAWN_KINDS
from qnn_core.evaluation.readme import replace_block
from qnn_core.evaluation.unsure_calibration import unsure_eval_path
from qnn_core.tasks import TASKS, TaskSpec, get_task

SCORE_NAMES = {
    "msp": "maximum softmax probability",
    "energy": "energy (−logsumexp of the logits)",
    "mahalanobis": "Mahalanobis distance of the backbone features to the nearest class mean",
}
MODEL_WORDS = {
    "hybrid": "hybrid",
    "classical": "classical-only",
    "bottleneck": "quantum bottleneck",
    "bottleneck-twin": "bottleneck's classical twin",
}


def load(task: TaskSpec, kind: str) -> dict | None:
    p = unsure_eval_path(task, kind)
    return json.loads(p.read_text()) if p.is_file() else None


def _source(name: str) -> str:
    return name if name in DRAWN_KINDS else get_task(name).title


def card_section(task: TaskSpec, kind: str) -> list[str]:
    """The card's "I'm not sure" section, or nothing for a model not calibrated this way."""
    r = load(task, kind)
    if r is None:
        return []
    val, test = r["val"], r["test"]
    compared = ", ".join(f"{s} {a:.4f}" for s, a in r["val_auroc_by_score"].items())
    lines = [
        "",
        '## "I\'m not sure"',
        "",
        f'The page says "This doesn\'t look like {task.noun}" when the **{SCORE_NAMES[r["score"]]}** is above '
        f"**{r['threshold']:.4g}**, the threshold that flags {r['val_false_alarm_target']:.0%} of the validation "
        f"images. The score was chosen on validation by AUROC against other tasks' training images, scribbles "
        f"and near-blank drawings ({compared}); the class Gaussian is fitted on {r['fit_images']:,} training "
        f"images. Measured once on the test splits:",
        "",
        "| | validation | test |",
        "|---|---|---|",
        f"| false alarms on {task.title}'s own images | {val['false_alarms']:.2%} of {val['positives']:,} | "
        f"**{test['false_alarms']:.2%}** of {test['positives']:,} |",
    ]
    if "test_proxy_flags" in r:
        lines += [
            f"| the same re-made as people's pictures (canvas, pen, phone photo): flagged | {r['val_proxy_flags']:.2%} | "
            f"{r['test_proxy_flags']:.2%} of {r['test_proxy_images']:,} |",
            f"| — of those the model reads right | {r['val_proxy_flags_right']:.2%} | "
            f"{r['test_proxy_flags_right']:.2%} |",
        ]
    lines += [
        f"| other tasks' images detected (pooled) | {val['other_tasks']['detection']:.2%} of "
        f"{val['other_tasks']['n']:,} | **{test['other_tasks']['detection']:.2%}** of {test['other_tasks']['n']:,} |",
        f"| scribbles and near-blank drawings detected | {val['drawn']['detection']:.2%} | "
        f"{test['drawn']['detection']:.2%} |",
        f"| AUROC, all negatives | {val['auroc']:.4f} | {test['auroc']:.4f} |",
    ]
    lines += [
        f"| — {_source(n)} detected | {val['per_source'][n]['detection']:.2%} | {s['detection']:.2%} "
        f"(AUROC {s['auroc']:.4f}) |"
        for n, s in test["per_source"].items()
    ]
    if "holdout_false_alarms" in r:
        lines.append(
            f"| false alarms on the UJI holdout ({r['holdout_images']:,} letters by other writers, measured "
            f"only) | | {r['holdout_false_alarms']:.2%} |"
        )
    for other, shapes in r.get("shared_shapes", {}).items():
        lines += [
            "",
            f"Shapes that {task.title} and {get_task(other).title} really share ({shapes}) are expected "
            "misses: such a drawing is both.",
        ]
    if r.get("undetected_pairs"):
        pairs = ", ".join(f"{a} → {b} ({n})" for a, b, n in r["undetected_pairs"])
        lines += ["", f"Other tasks' test images it does not flag, by (their class → read as), most often: {pairs}."]
    lines += ["", f"Recalibrate (writes the rule into the checkpoint and this JSON): `qnn ood --task {task.name}`."]
    return lines


def table() -> str:
    rows = [
        "| task | model | score | test false alarms | the same as people's pictures, read right: flagged | other tasks detected | "
        "scribbles, near-blank detected | AUROC | UJI false alarms |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for task in TASKS.values():
        for kind in task.models:
            r = load(task, kind)
            if r is None:
                continue
            t = r["test"]
            uji = f"{r['holdout_false_alarms']:.2%}" if "holdout_false_alarms" in r else "–"
            proxy = f"{r['test_proxy_flags_right']:.2%}" if "test_proxy_flags_right" in r else "–"
            rows.append(
                f"| {task.title} | {MODEL_WORDS[kind]} | {r['score']} | {t['false_alarms']:.2%} | {proxy} | "
                f"{t['other_tasks']['detection']:.2%} | {t['drawn']['detection']:.2%} | {t['auroc']:.4f} | {uji} |"
            )
    return "\n".join(rows)


def update_page() -> bool:
    """Rewrite the table on its page (evaluation/readme.py's PAGES)."""
    return replace_block("unsure", table())
