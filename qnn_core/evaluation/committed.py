"""What the app reads of the committed evaluations: the JSON files that `qnn evaluate`, `qnn ablation` and
`qnn curves` write, and the sentences made from them.

Only readers here, and nothing heavier than json: the pages and the service import this, and must not import the
writers (report, ablation, readout_curves, bottleneck_report), which pull in the trainer, the data sets and
matplotlib. The writers import their readers from here.
"""

from __future__ import annotations

import json
from pathlib import Path

from qnn_core.paths import EVAL_DIR
from qnn_core.tasks import REPO_ROOT, TaskSpec, get_task

ABLATION_JSON = REPO_ROOT / "benchmarks" / "ablation.json"
CURVES_JSON = REPO_ROOT / "benchmarks" / "readout_curves.json"


def variant(quantum: bool) -> str:
    return "hybrid" if quantum else "classical"


def eval_path(task: TaskSpec, quantum: bool) -> Path:
    return EVAL_DIR / f"{task.name}_{variant(quantum)}.json"


def load_eval(task: TaskSpec, quantum: bool) -> dict | None:
    """The committed evaluation of a shipped checkpoint (what pages show), or None."""
    p = eval_path(task, quantum)
    return json.loads(p.read_text()) if p.is_file() else None


def stem(task: TaskSpec, kind: str) -> str:
    return task.model_checkpoint(kind).stem


def load_result(task: TaskSpec, kind: str) -> dict | None:
    path = EVAL_DIR / f"{stem(task, kind)}.json"
    return json.loads(path.read_text()) if path.is_file() else None


CONTROLS = {
    "classical": "classical-only (no quantum branch)",
    "matched": "circuit replaced by its parameter-matched classical layer (bias-free 8→3→8 tanh, 48 weights)",
    "frozen": "circuit's trainable layers frozen at their random initialisation",
    "no-entangle": "circuit without the CNOT ring (no entanglement)",
}


def verdict(s: dict, key: str = "difference", gain: str = "the quantum branch adds") -> str:
    """The plain-words sentence for one task, from the paired differences' 95% interval."""
    d = s.get(key)
    if not d:
        return "not measured yet"
    if "ci95" not in d:
        return f"one seed only: {d['mean']:+.2f} points, no spread to judge it by"
    lo, hi = d["ci95"]
    if lo > 0:
        return f"{gain} {d['mean']:+.2f} ± {d['std']:.2f} points (95% interval {lo:+.2f} to {hi:+.2f})"
    if hi < 0:
        return f"the hybrid is worse by {d['mean']:+.2f} ± {d['std']:.2f} points (95% interval {lo:+.2f} to {hi:+.2f})"
    return (
        f"no measurable difference: {d['mean']:+.2f} ± {d['std']:.2f} points, "
        f"95% interval {lo:+.2f} to {hi:+.2f} includes 0"
    )


# What the hybrid's advantage over each fairer control would mean, for the verdict sentence.
CONTROL_GAIN = {
    "matched": "the circuit beats a classical layer of the same size by",
    "frozen": "training the circuit's layers adds",
    "no-entangle": "entanglement adds",
}


def budget_words(b: dict) -> str:
    words = (
        f"{b['epochs']} epoch{'s' if b['epochs'] != 1 else ''} on the first {b['subset']:,} images of the train split"
    )
    words += f" (after the fixed 5,000-image validation hold-out), batch 128, AdamW + one-cycle, {b['threads']} thread"
    if b.get("max_batches"):
        words += f", at most {b['max_batches']} batches per epoch"
    if b.get("test_limit"):
        words += f", test limited to the first {b['test_limit']} images"
    return words


def load_results(path: str | Path = ABLATION_JSON) -> dict | None:
    p = Path(path)
    return json.loads(p.read_text()) if p.is_file() else None


def task_summary(task: str, path: str | Path = ABLATION_JSON) -> dict | None:
    """What the app quotes for a task: its summary, the verdict sentence and the budget, or None if not measured."""
    data = load_results(path)
    if not data or task not in data.get("summary", {}):
        return None
    s = data["summary"][task]
    return {**s, "verdict": verdict(s), "budget": budget_words(data["budget"])}


SHOTS = (10, 30, 100, 300, 1000)  # and exact (0), measured once as the reference


NOISE = (0.0, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2)


MODEL_WORDS = {"hybrid": "hybrid (classical + quantum)", "bottleneck": "quantum bottleneck"}


def plain_words(data: dict) -> str:
    """Why the two models react so differently, worded from the measured numbers."""
    rows = {(r["task"], r["model"]): r for r in data["results"]}
    pairs = [
        (rows[(t, "hybrid")], rows[(t, "bottleneck")])
        for t in dict.fromkeys(t for t, _ in rows)
        if (t, "hybrid") in rows and (t, "bottleneck") in rows
    ]
    text = (
        "A real quantum computer never returns ⟨Z⟩ itself: it returns bitstrings, and ⟨Z⟩ is estimated as the "
        "average of ±1 over N shots, off by up to 1/√N (±0.32 at 10 shots, ±0.03 at 1,000). Depolarizing noise "
        "pulls every ⟨Z⟩ towards 0."
    )
    if not pairs:
        return text
    few, p = str(min(SHOTS)), f"{max(NOISE):g}"

    def span(models: list[dict], value) -> str:
        lo, hi = min(map(value, models)), max(map(value, models))
        return f"{lo:+.2f}" if abs(hi - lo) < 0.005 else f"{lo:+.2f} to {hi:+.2f}"

    hybrids, bottlenecks = [h for h, _ in pairs], [b for _, b in pairs]
    text += (
        f" The **hybrid** barely notices: at {few} shots its accuracy changes by "
        f"{span(hybrids, lambda r: (r['shots'][few]['mean'] - r['exact']) * 100)} points, because its head "
        "decides mostly from 64 classical features and the 8 ⟨Z⟩ only nudge it. The **quantum bottleneck** "
        "decides from the 8 ⟨Z⟩ alone, so every sampling error goes straight into its decision: at "
        f"{few} shots it changes by {span(bottlenecks, lambda r: (r['shots'][few]['mean'] - r['exact']) * 100)} "
        "points"
    )
    needed = [next((n for n in SHOTS if b["exact"] - b["shots"][str(n)]["mean"] <= 0.01), None) for b in bottlenecks]
    if all(needed):
        text += (
            f", and it needs {max(needed):,} shots per image to come within a point of its exact accuracy on every task"
        )
    text += (
        f". Under noise p = {p} after every gate layer the hybrid changes by "
        f"{span(hybrids, lambda r: (r['noise'][p] - r['exact']) * 100)} points and the bottleneck by "
        f"{span(bottlenecks, lambda r: (r['noise'][p] - r['exact']) * 100)}: the noise shrinks all its ⟨Z⟩ "
        "together while the head's biases stay as they were, so where the biases win the bottleneck gives "
        f"one answer for most images ({share_words(bottlenecks)} of its predictions at p = {p} are its most "
        "frequent class)."
    )
    return text


def share_words(models: list[dict]) -> str:
    shares = [r["noise_one_answer_share"] * 100 for r in models]
    return f"{min(shares):.0f}%" if max(shares) - min(shares) < 0.5 else f"{min(shares):.0f}–{max(shares):.0f}%"


def load_curves(path: str | Path = CURVES_JSON) -> dict | None:
    p = Path(path)
    return json.loads(p.read_text()) if p.is_file() else None


def device_words(data: dict) -> str:
    """The device column in plain words, from the measured numbers (empty before it is measured)."""
    rows = [r for r in data["results"] if "device" in r]
    if not rows:
        return ""
    d = rows[0]["device"]
    route = d["routing"]
    hybrids = [r for r in rows if r["model"] == "hybrid"]
    bottlenecks = [r for r in rows if r["model"] == "bottleneck"]

    def change(r: dict, key: str = "accuracy") -> float:
        return (r["device"][key] - r["device"]["exact"]) * 100

    def span(values) -> str:
        values = list(values)
        lo, hi = min(values), max(values)
        return f"{lo:+.2f}" if hi - lo < 0.005 else f"{lo:+.2f} to {hi:+.2f}"

    def pct(values) -> str:
        values = list(values)
        lo, hi = min(values), max(values)
        return f"{lo:.0%}" if hi - lo < 0.005 else f"{lo:.0%}–{hi:.0%}"

    text = (
        f"**On a simulated real device.** The same circuits, routed onto `{d['qpu']}` (qiskit's snapshot of an IBM "
        f"device's calibration of {route['snapshot']}, simulated here by qiskit-aer: not a run on hardware) and read "
        f"from {d['shots']:,} shots per image, on the first {d['images']:,} test images. The routing turns the "
        f"circuit's {route['cnots'][0]} CNOTs into {route['cnots'][1]} (its CNOT ring does not fit the heavy-hex "
        f"chip), each failing about {route['median_cx_error']:.2%} of the time, so every ⟨Z⟩ keeps only about "
        f"{pct(r['device']['kept'] for r in rows)} of its size."
    )
    if hybrids:
        text += (
            f" The **hybrid** shrugs: {span(change(r) for r in hybrids)} points against its exact accuracy on the "
            "same images."
        )
    if bottlenecks:
        worst = min(change(r) for r in bottlenecks)
        text += (
            " The **quantum bottleneck**, whose head reads nothing but those ⟨Z⟩, "
            + ("suffers" if worst <= -2 else "suffers only a little, if at all" if worst < -0.2 else "holds")
            + f": {span(change(r) for r in bottlenecks)} points, where {d['shots']:,} ideal shots alone move it by "
            f"{span(change(r, 'ideal_shots') for r in bottlenecks)}. Shrinking every ⟨Z⟩ to about "
            f"{pct(r['device']['kept'] for r in bottlenecks)} of its size lowers its confidence more than it reorders "
            "its classes: only the head's biases, which do not shrink, turn a decision"
        )
        losing = [next((p for p in NOISE if r["exact"] - r["noise"][f"{p:g}"] > 0.01), None) for r in bottlenecks]
        if all(losing):
            text += (
                f", as under the noise view's channel, which costs a bottleneck a point only from p = "
                f"{min(losing):g} on (the curves above)"
            )
        text += "."
    same = [r for r in rows if r["device"].get("p_same_shrink") is not None]
    if same:
        gaps = [r["device"]["gap_depolarizing"] for r in same]
        scatter = max(r["device"]["shot_scatter"] for r in same)
        text += (
            " **Against the idealised channel** of the noise view: depolarizing noise of p = "
            f"{plain_span(r['device']['p_same_shrink'] for r in same)} per gate layer shrinks the ⟨Z⟩ as much as "
            f"the device does; at that p the two agree on {pct(r['device']['agreement_depolarizing'] for r in same)} "
            f"of the labels, and their ⟨Z⟩ differ by {min(gaps):.3f}–{max(gaps):.3f} on average, where "
            f"{d['shots']:,} ideal shots alone scatter them by up to {scatter:.3f}. "
            + (
                "So for these decisions the device acts much like the uniform channel, "
                if max(gaps) <= 2 * scatter
                else "So the device's noise is further from the uniform channel than the shots alone explain, "
            )
            + "though it is not uniform itself: each qubit relaxes at its own rate, the CNOTs' errors differ, and "
            "the readout errors differ from qubit to qubit and between reading 0 and reading 1."
        )
    matched = [r for r in rows if r["device"].get("p_equivalent") is not None]
    if matched:
        lost = [round((r["device"]["exact"] - r["device"]["accuracy"]) * r["device"]["images"]) for r in matched]
        text += (
            " Matched by accuracy instead, the channel costs as much as the device at p = "
            + ", ".join(
                f"{r['device']['p_equivalent']:.3f} ({get_task(r['task']).title} {r['model']}, "
                f"{k} image{'s' if k != 1 else ''} of {r['device']['images']:,} lost)"
                for r, k in zip(matched, lost)
            )
            + ("; the other models lose nothing on the device" if len(matched) < len(rows) else "")
            + ": so few images pin p down poorly, and the shrink of the ⟨Z⟩ is the steadier match."
        )
    return text


def plain_span(values) -> str:
    values = list(values)
    lo, hi = min(values), max(values)
    return f"{lo:.3f}" if hi - lo < 0.0005 else f"{lo:.3f} to {hi:.3f}"
