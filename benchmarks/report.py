"""RESULTS.md and docs/performance.md's block, written from results.json (never by hand)."""

from __future__ import annotations

from qnn_core.evaluation.readme import link, markers, page_of, replace_block
from qnn_core.tasks import TASKS

PAGE = page_of("performance")  # docs/performance.md
BLOCK_START, BLOCK_END = markers("performance")


def _title(task: str) -> str:
    return TASKS[task].title if task in TASKS else task


def _ok(sec: dict | None) -> bool:
    return bool(sec) and "failed" not in sec and "skipped" not in sec


def _meets(value: float, goal: float, higher_is_better: bool) -> str:
    met = value >= goal if higher_is_better else value <= goal
    return "meets the goal" if met else "**misses the goal**"


def _load(sec: dict) -> str:
    return f"load average {sec['load_avg_start'][0]:.2f} → {sec['load_avg_end'][0]:.2f}, {sec['wall_s']:.0f} s"


def latency_md(sec: dict) -> list[str]:
    rows = [
        "| task | predict p50 | predict p95 | predict + Grad-CAM p50 | predict + Grad-CAM p95 | checkpoint |",
        "|---|---|---|---|---|---|",
    ]
    for task, r in sec["tasks"].items():
        p, g = r["predict"], r["predict_gradcam"]
        size = goal_p50 = ""
        if "goals" in r:  # sections measured before the serving goals were set have neither
            goals = r["goals"]
            goal_p50 = f" (≤ {goals['predict_p50_ms']:.0f} ms: {_meets(p['p50_ms'], goals['predict_p50_ms'], False)})"
            size = (
                f"{r['checkpoint_mb']:.1f} MB (≤ {goals['checkpoint_mb']:.0f} MB: "
                f"{_meets(r['checkpoint_mb'], goals['checkpoint_mb'], False)})"
            )
        rows.append(
            f"| {_title(task)} | {p['p50_ms']:.1f} ms{goal_p50} | {p['p95_ms']:.1f} ms | {g['p50_ms']:.1f} ms "
            f"| {g['p95_ms']:.1f} ms | {size} |"
        )
    return rows + ["", f"{sec['tasks'][next(iter(sec['tasks']))]['predict']['n']} timed calls each."]


def batch_md(sec: dict) -> list[str]:
    rows = ["| batch | median time | images/s |", "|---|---|---|"]
    rows += [f"| {bs} | {r['p50_ms']:.1f} ms | {r['images_per_s']:,.0f} |" for bs, r in sec["batches"].items()]
    return rows


def quantum_cost_md(sec: dict) -> list[str]:
    goals = sec["goals"]
    rows = [
        "| measurement | hybrid | classical-only | hybrid / classical (p50) | paired | goal |",
        "|---|---|---|---|---|---|",
    ]

    def row(what: str, key: str | None, hybrid: str, classical: str, ratio: float, paired: float) -> str:
        goal = f"≤ {goals[key]}: {_meets(ratio, goals[key], False)}" if key else "(the way it was)"
        return f"| {what} | {hybrid} | {classical} | {ratio:.2f}× | {paired:.2f}× | {goal} |"

    for key, what in (
        ("predict", "single image, predict (p50)"),
        ("predict_gradcam", "single image, predict + Grad-CAM (p50)"),
    ):
        r = sec[key]
        rows.append(
            row(
                what,
                key,
                f"{r['hybrid']['p50_ms']:.2f} ms",
                f"{r['classical']['p50_ms']:.2f} ms",
                r["ratio_p50"],
                r["ratio_paired"],
            )
        )
    for key in (k for k in sec if k.startswith("batch_")):
        r = sec[key]
        rows.append(
            row(
                f"forward, batch {key[6:]} (images/s)",
                key,
                f"{r['hybrid_images_per_s']:,.0f}",
                f"{r['classical_images_per_s']:,.0f}",
                r["ratio_p50"],
                r["ratio_paired"],
            )
        )
    t = sec["train_step"]
    for path, what, key in (
        ("fused", "circuit fused", "train_step"),
        ("tq", "circuit gate by gate in TorchQuantum", None),
    ):
        rows.append(
            row(
                f"training step, batch {t['batch']}, {what} (p50)",
                key,
                f"{t['hybrid_' + path]['p50_ms']:.0f} ms",
                f"{t['classical']['p50_ms']:.0f} ms",
                t[f"ratio_p50_{path}"],
                t[f"ratio_paired_{path}"],
            )
        )
    e = sec["epoch_12_qubits"]
    rows += [
        "",
        "Each pair timed alternately; *paired* is the median over pairs of hybrid ÷ classical (the steadier "
        f"estimate on a shared machine). {t['classical']['n']} training steps of each model. One MNIST "
        f"training epoch ({e['train_images']:,} images, {e['batches_per_epoch']} batches of {t['batch']}) with a "
        f"{e['qubits']}-qubit circuit of depth {e['depth']}, estimated from the median step: "
        f"**{e['fused']['epoch_s']:.0f} s fused** ({e['fused']['n']} steps timed, {e['fused']['ratio_paired']:.2f}× "
        f"the classical-only step), {e['tq']['epoch_s']:.0f} s gate by gate in TorchQuantum ({e['tq']['n']} "
        f"steps, {e['tq']['ratio_paired']:.2f}×); the 8-qubit hybrid {e['hybrid_8_qubits_epoch_s']:.0f} s, the "
        f"classical-only model {e['classical_epoch_s']:.0f} s.",
    ]
    return rows


def _grid(rows: list[dict], value) -> list[str]:
    depths = sorted({r["depth"] for r in rows})
    out = ["| qubits \\ depth | " + " | ".join(str(d) for d in depths) + " |", "|---" * (len(depths) + 1) + "|"]
    for n in sorted({r["qubits"] for r in rows}):
        cells = {r["depth"]: value(r) for r in rows if r["qubits"] == n}
        out.append(f"| {n} | " + " | ".join(cells[d] for d in depths) + " |")
    return out


def scaling_md(sec: dict) -> list[str]:
    rows = ["Fused (the training default), ms:", ""] + _grid(sec["rows"], lambda r: f"{r['fused']['p50_ms']:.1f}")
    rows += ["", "TorchQuantum gate by gate, ms:", ""] + _grid(sec["rows"], lambda r: f"{r['tq']['p50_ms']:.1f}")
    rows += ["", "Speedup, gate by gate ÷ fused:", ""] + _grid(sec["rows"], lambda r: f"{r['speedup']:.1f}×")
    rows += [
        "",
        f"Milliseconds (median) for forward + backward of a batch of {sec['batch']}, the two timed alternately.",
    ]
    cells = {(r["qubits"], r["depth"]): r for r in sec["rows"]}
    goals = [
        f"{g['qubits']}×{g['depth']} {cells[g['qubits'], g['depth']]['speedup']:.1f}× (goal {g['tq_ms_before']:.0f} → "
        f"≤ {g['goal_ms']:.0f} ms, i.e. ≥ {g['speedup_needed']}×: "
        f"{_meets(cells[g['qubits'], g['depth']]['speedup'], g['speedup_needed'], True)})"
        for g in sec.get("goals", [])
        if (g["qubits"], g["depth"]) in cells
    ]
    if goals:
        rows += [
            "",
            "The goals were set in ms on the machine of the earlier (gate by gate) numbers; on another machine "
            "they are the speedups they ask for. Measured here: " + "; ".join(goals) + ".",
        ]
    if sec.get("plot"):
        rows += ["", f"![QNN scaling]({sec['plot']})"]
    return rows


def simulators_md(sec: dict) -> list[str]:
    f, b, s = sec["forward_ms"], sec["forward_backward_ms"], sec["speedup"]
    goal, fused_goal = sec["goal_loop_speedup"], sec["goal_fused_vs_broadcast"]
    rows = [
        "| route | forward (batch) | forward + backward (batch) |",
        "|---|---|---|",
        f"| TorchQuantum, fused (training default) | {f['fused']['p50_ms']:.2f} ms | {b['fused']['p50_ms']:.2f} ms |",
        f"| TorchQuantum, batched (gate by gate) | {f['torchquantum_batched']['p50_ms']:.1f} ms | {b['torchquantum_batched']['p50_ms']:.1f} ms |",
        f"| TorchQuantum, cached unitary (inference path) | {f['torchquantum_unitary_cached']['p50_ms']:.2f} ms | – |",
        f"| PennyLane default.qubit, broadcast batch | {f['pennylane_batched']['p50_ms']:.1f} ms | {b['pennylane_batched']['p50_ms']:.1f} ms |",
        f"| PennyLane default.qubit, per-sample QNode loop | {f['pennylane_loop']['p50_ms']:.1f} ms | {b['pennylane_loop']['p50_ms']:.1f} ms |",
        "",
        f"Batch {sec['batch']}; the batched routes timed alternately. Largest |difference| of the expectation values: "
        + ", ".join(f"{k.replace('_', ' ')} {v:.1e}" for k, v in sec["max_abs_diff"].items())
        + f" (all within {sec['tolerance']:.0e}, asserted); of the gradients: PennyLane vs TorchQuantum "
        f"{sec['max_abs_grad_diff']:.1e}, fused vs TorchQuantum {sec['max_abs_grad_diff_fused_vs_torchquantum']:.1e} "
        f"(within {sec['grad_tolerance']:.0e}, asserted).",
        "",
        f"Fused against PennyLane's broadcast batch: **{s['train_fused_vs_pennylane_batched']}×** faster forward + "
        f"backward (goal ≥ {fused_goal:.0f}×: {_meets(s['train_fused_vs_pennylane_batched'], fused_goal, True)}), "
        f"{s['forward_fused_vs_pennylane_batched']}× forward; {s['train_fused_vs_torchquantum']}× TorchQuantum gate "
        f"by gate. TorchQuantum (batched, gate by gate) against the per-sample loop: "
        f"**{s['forward_vs_pennylane_loop']}×** faster forward, **{s['train_vs_pennylane_loop']}×** forward + "
        f"backward (goal ≥ {goal:.0f}×: "
        f"{_meets(min(s['forward_vs_pennylane_loop'], s['train_vs_pennylane_loop']), goal, True)}); against "
        f"PennyLane's broadcast batch: {s['forward_vs_pennylane_batched']}× forward, "
        f"{s['train_vs_pennylane_batched']}× forward + backward. The cached-unitary inference path is "
        f"{s['forward_unitary_vs_pennylane_loop']}× faster than the loop.",
    ]
    return rows


def training_md(sec: dict) -> list[str]:
    rows = ["| task | hybrid img/s | classical img/s | hybrid time / classical time |", "|---|---|---|---|"]
    rows += [
        f"| {_title(t)} | {r['hybrid_images_per_s']:.0f} | {r['classical_images_per_s']:.0f} | {r['ratio_time']:.2f}× |"
        for t, r in sec["tasks"].items()
    ]
    return rows


def memory_md(sec: dict) -> list[str]:
    return [
        f"Peak RSS **{sec['peak_rss_mb']:.0f} MB** with {len(sec['models'])} models loaded and one prediction + "
        f"Grad-CAM served from each (current RSS after the imports: {sec['rss_mb_after_import']:.0f} MB; after "
        f"loading the models: {sec['rss_mb_after_load']:.0f} MB; after serving: {sec['rss_mb_after_serving']:.0f} MB). Models: {', '.join(sec['models'])}."
    ]


def app_md(sec: dict) -> list[str]:
    parts = [
        f"Method: {sec['method']}.",
        "",
        f"First prediction on screen **{sec['first_prediction_s']:.1f} s** after the start "
        f"(label shown: {sec['label_shown']}, true: {sec['label_true']}).",
    ]
    if "server_healthy_s" in sec:
        parts += [
            "",
            f"Server healthy at {sec['server_healthy_s']:.1f} s, Digits page ready at {sec['page_ready_s']:.1f} s, "
            f"Grad-CAM shown at {sec['first_gradcam_s']:.1f} s.",
        ]
    return parts


def concurrency_md(sec: dict) -> list[str]:
    rows = [
        "| task | Grad-CAM, hooks on the model (p50) | Grad-CAM, per-call view (p50) | ratio |",
        "|---|---|---|---|",
    ]
    rows += [
        f"| {_title(t)} | {r['hooked_on_model']['p50_ms']:.1f} ms | {r['per_call_view']['p50_ms']:.1f} ms | "
        f"{r['ratio_p50']:.2f}× |"
        for t, r in sec["gradcam"].items()
    ]
    m = sec["memory"]
    rows += [
        "",
        f"Peak RSS with 1 session: **{m['sessions_1']['peak_rss_mb']:.0f} MB**; with 3 sessions at once: "
        f"**{m['sessions_3']['peak_rss_mb']:.0f} MB** ({m['ratio_3_to_1']:.2f}×; goal ≤ 1.5×: "
        f"{'met' if m['ratio_3_to_1'] <= 1.5 else 'missed'}).",
    ]
    return rows


def data_parallel_md(sec: dict) -> list[str]:
    rows = ["| configuration | images/s (median) | each run | × one thread |", "|---|---|---|---|"]
    rows += [
        f"| {name} | {sec['median_images_per_s'][name]:.0f} | "
        f"{', '.join(f'{s:.0f}' for s in sec['images_per_s'][name])} | {sec['ratio_to_one_thread'][name]:.2f}× |"
        for name in sec["median_images_per_s"]
    ]
    ddp = sec["ratio_to_one_thread"]["2 DDP processes x 1 thread"]
    loads = ", ".join(f"{x[0]:.2f}" for x in sec["load_avg_during"] if x)
    rows += [
        "",
        f"MNIST hybrid, {sec['batches']} steps of {sec['batch_per_process']} images per process, "
        f"{sec['repeats']} runs of each, alternated; {sec['cores']} cores. Two DDP processes: "
        f"**{ddp:.2f}×** one process with one thread (goal ≥ {sec['goal_ddp_ratio']}×: "
        f"{'met' if ddp >= sec['goal_ddp_ratio'] else 'missed'}). Load average (1 min) before each run: {loads}.",
    ]
    return rows


def quantum_views_md(sec: dict) -> list[str]:
    goals = sec["goals_ms"]
    rows = ["| task | qubits × views | state, Bloch, entanglement | shots | noise |", "|---|---|---|---|---|"]
    rows += [
        f"| {_title(t)} | {r['qubits']} × {r['views']} | {r['state']['p50_ms']:.1f} ms | {r['shots']['p50_ms']:.1f} ms "
        f"| {r['noise']['p50_ms']:.1f} ms |"
        for t, r in sec["served"].items()
    ]
    worst = {k: max(r[k]["p50_ms"] for r in sec["served"].values()) for k in ("state", "noise")}
    rows += [
        "",
        f"Goals per prediction: state views ≤ {goals['state']:.0f} ms ({_meets(worst['state'], goals['state'], False)}), "
        f"noise at 8 qubits ≤ {goals['noise']:.0f} ms ({_meets(worst['noise'], goals['noise'], False)}).",
        "",
        "| qubits | state, 1 view | noise, 1 view | noise, 2 views | layers' unitaries (once) |",
        "|---|---|---|---|---|",
    ]

    def cell(r: dict, key: str) -> str:
        return f"{r[key]['p50_ms']:.1f} ms" if key in r else "not offered"

    rows += [
        f"| {r['qubits']} | {cell(r, 'state_1')} | {cell(r, 'noise_1')} | {cell(r, 'noise_2')} | "
        f"{str(r['layer_unitaries_s']) + ' s' if 'layer_unitaries_s' in r else '–'} |"
        for r in sec["scaling"]
    ]
    rows += [
        "",
        f"The noise view is offered up to **{sec['noise_max_qubits']} qubits**; the largest circuit measured "
        f"within {goals['noise']:.0f} ms for a mirrored pair: {sec['largest_noise_within_goal']} qubits.",
    ]
    return rows


def classroom_md(sec: dict) -> list[str]:
    """python -m benchmarks.classroom: start-up ratio, three browsers drawing at once, the cost of a loaded model."""
    apps = sec.get("apps", {})

    def who(name: str) -> str:
        commit = apps.get(name, {}).get("commit")
        return f"{name} ({commit})" if commit else name

    command = sec.get("command", "python -m benchmarks.run --only classroom")
    rows = [f"Command: `{command}`. {sec.get('shared_machine_note', '')}.", ""]
    if len(apps) > 1:
        rows += [
            "The baseline is a plain copy of the commit before this work (`git archive <commit> | tar -x -C DIR`), "
            "served and measured in the same run as this checkout.",
            "",
        ]
    st = sec.get("startup")
    if st:
        rows += [
            "**Start-up.** Seconds from opening `/digits` in a fresh headless Chromium (right after the server's "
            "health check first answered) to the drawing canvas on the page, divided by the seconds "
            f'`python -c "import torch"` took in the same run (median of {len(st["torch_import_s"])}: '
            f"**{st['torch_import_median_s']:.2f} s**; each: {', '.join(f'{x:.2f}' for x in st['torch_import_s'])}).",
            "",
            "| app | first canvas, median | each | ratio to `import torch` | goal ≤ 2.2 |",
            "|---|---|---|---|---|",
        ]
        rows += [
            f"| {who(name)} | {r['median_s']:.2f} s | {', '.join(f'{x:.2f}' for x in r['digits_canvas_s'])} | "
            f"**{r['ratio']:.2f}** | {_meets(r['ratio'], 2.2, False)} |"
            for name, r in st.items()
            if isinstance(r, dict)
        ]
        rows.append("")
    load = sec.get("load")
    if load:
        any_run = next(iter(load.values()))
        rows += [
            f"**Three browsers drawing at once** on one server: each round every session clears its canvas, all "
            f"draw a different digit at the same moment; seconds from the end of the stroke to the label and to "
            f"the Grad-CAM on screen ({any_run['samples']} strokes per app: {any_run['sessions']} sessions, after "
            "one round not counted).",
            "",
            "| app | label p50 | label p95 (goal ≤ 0.8 s) | Grad-CAM p50 | Grad-CAM p95 (goal ≤ 1.5 s) |",
            "|---|---|---|---|---|",
        ]
        rows += [
            f"| {who(name)} | {r['label_p50_s']:.2f} s | {r['label_p95_s']:.2f} s: {_meets(r['label_p95_s'], 0.8, False)} "
            f"| {r['gradcam_p50_s']:.2f} s | {r['gradcam_p95_s']:.2f} s: {_meets(r['gradcam_p95_s'], 1.5, False)} |"
            for name, r in load.items()
        ]
        rows.append("")
    mem = sec.get("model_memory_mib")
    if mem:
        rows += [
            "**What a loaded model costs** (resident memory of a fresh serving process, after one prediction and "
            f"one Grad-CAM each): the imports {mem['after_import_mib']:.0f} MiB; the first digits model "
            f"{mem['mnist_mib']:.0f} MiB (with its task's one-off costs: the examples' data, the imports its backbone "
            "and Grad-CAM need); "
            f"**one more digits-sized model {mem['mnist_job_copy_mib']:.1f} MiB**; the first animals model "
            f"{mem['animals_mib']:.0f} MiB; **one more animals-sized model {mem['animals_job_copy_mib']:.1f} MiB**. "
            "The server keeps at most `QNN_MODEL_CACHE` (16) loaded, least recently used first out.",
        ]
    return rows


def device_md(sec: dict) -> list[str]:
    rows = [
        "| device | qubits | calibration | CNOTs before → after | depth before → after | SWAPs | physical qubits "
        "| left free: CNOTs, depth, qubits | first use (routing + noise model) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, d in sec["devices"].items():
        free = d["free"]
        rows.append(
            f"| {name} | {d['qubits']} | {d['snapshot']} | {d['cnots'][0]} → **{d['cnots'][1]}** | "
            f"{d['depth'][0]} → {d['depth'][1]} | {d['swaps']} | {', '.join(f'Q{q}' for q in d['physical_qubits'])} | "
            f"{free['cnots']}, {free['depth']}, {len(free['qubits'])} | {d['build_wall_s']:.1f} s "
            f"({d['build_cpu_s']:.1f} s CPU) |"
        )
    device = next(iter(sec["devices"]))
    rows += [
        "",
        f"On {device}, per prediction (p50; Aer on {sec['threads']} thread, density matrix of the 8 qubits the "
        "routing is confined to; the view's run is 1,000 shots × 5 re-runs, the ideal shots and the head included):",
        "",
        "| task | circuits | the view's run | simulation alone: 100 × 5 | 1,000 × 5 | 4,000 × 5 | CPU, 1,000 × 5 |",
        "|---|---|---|---|---|---|---|",
    ]
    for t, r in sec["served"].items():
        sim = r["simulation"]
        rows.append(
            f"| {_title(t)} | {r['views']} | **{r['view_run']['p50_ms'] / 1000:.2f} s** | "
            f"{sim['100']['p50_ms']:.0f} ms | {sim['1000']['p50_ms']:.0f} ms | {sim['4000']['p50_ms']:.0f} ms | "
            f"{r['simulation_cpu_ms_1000']:.0f} ms |"
        )
    worst = max(r["view_run"]["p50_ms"] for r in sec["served"].values()) / 1000
    e = sec["evaluate"]
    rows += [
        "",
        f"Goal: the view's run of 1,000 shots ≤ {sec['goal_s']:.0f} s ({_meets(worst, sec['goal_s'], False)}).",
        "",
        f"`evaluate --qpu {device} --shots 1000`: {e['images']} test images in {e['wall_s']:.1f} s "
        f"({e['cpu_s']:.1f} s CPU), {e['per_image_ms']:.0f} ms an image; 200 images take about "
        f"{e['projected_200_s']:.0f} s (goal ≤ {sec['eval_goal_s']:.0f} s: "
        f"{_meets(e['projected_200_s'], sec['eval_goal_s'], False)}).",
    ]
    if "alternatives" in sec:
        a = sec["alternatives"]
        rows += [
            "",
            f"The choices not taken, one input on {device}: left free, the routed circuit touches {a['qubits']} "
            f"qubits ({a['cnots']} CNOTs); Aer takes {a['density_matrix']['wall_s']:.1f} s "
            f"({a['density_matrix']['cpu_s']:.1f} s CPU) for its density matrix and "
            f"{a['statevector']['wall_s']:.1f} s ({a['statevector']['cpu_s']:.1f} s CPU) for 1,000 shots as noisy "
            "statevector trajectories. Hence the view confines the routing to 8 qubits.",
        ]
    return rows


RENDER = {
    "latency": ("1. Single-image latency", latency_md),
    "batch": ("2. Batch inference throughput", batch_md),
    "quantum_cost": ("3. What the quantum branch costs", quantum_cost_md),
    "qnn_scaling": ("4. Scaling of the QNN layer", scaling_md),
    "simulators": ("5. Simulator choice: TorchQuantum vs PennyLane", simulators_md),
    "training": ("6. Training throughput", training_md),
    "memory": ("7. Peak memory", memory_md),
    "app": ("8. The app: start to first prediction", app_md),
    "concurrency": ("9. Serving several sessions at once", concurrency_md),
    "data_parallel": ("10. Data-parallel training (torchrun DDP)", data_parallel_md),
    "quantum_views": ("11. The quantum view: state, shots, noise", quantum_views_md),
    "classroom": ("12. A class on one server: start-up, three browsers, memory", classroom_md),
    "device": ("13. The circuit on a simulated real device", device_md),
}


def markdown(data: dict) -> str:
    m = data.get("machine", {})
    lines = [
        "# Benchmarks",
        "",
        f"Generated by `python -m benchmarks.run` (last: `{data.get('last_command', '')}`) from `results.json`; "
        "do not edit by hand."
        + (" **QUICK MODE: tiny repeats, the numbers mean nothing.**" if data.get("quick") else ""),
        "",
        f"Machine: {m.get('cpu')}, {m.get('cores')} cores, {m.get('memory_gb')} GB; torch threads "
        f"{m.get('torch_threads')}; {m.get('platform')}.",
        "Versions: " + ", ".join(f"{k} {v}" for k, v in m.get("versions", {}).items()) + ".",
        "",
    ]
    lines += [
        "The machine is shared with other work: a 1-minute load average above its "
        f"{m.get('cores')} cores means the timings include waiting for a core. When and under what load each "
        "section was measured, and on which CPU (sections from different CPUs do not compare):",
        "",
        "| section | measured (UTC, end) | CPU | wall | load average (1 min), start → end |",
        "|---|---|---|---|---|",
    ]
    timed = sorted((sec["measured"], name, sec) for name, sec in data["sections"].items() if "measured" in sec)
    lines += [
        f"| {name} | {when.replace('T', ' ').split('+')[0]} | {sec.get('cpu', m.get('cpu'))} | {sec['wall_s']:.0f} s | "
        f"{sec['load_avg_start'][0]:.2f} → {sec['load_avg_end'][0]:.2f} |"
        for when, name, sec in timed
    ]
    lines += [""] + [f"Run: `{r['command']}`, {r['started']} → {r['finished']}." for r in data.get("runs", [])] + [""]
    for name, (title, render) in RENDER.items():
        sec = data["sections"].get(name)
        lines += [f"## {title}", ""]
        if not sec:
            lines += ["Not measured in this file.", ""]
            continue
        if "failed" in sec or "skipped" in sec:
            lines += [f"{'Failed' if 'failed' in sec else 'Skipped'}: {sec.get('failed') or sec.get('skipped')}", ""]
            continue
        lines += (
            ([f"*{sec['what']}*", ""] if "what" in sec else [])
            + render(sec)
            + ["", f"<sub>Measured {sec['measured']}, {_load(sec)}.</sub>", ""]
        )
    return "\n".join(lines)


def readme_block(data: dict) -> str:
    """A few lines for docs/performance.md: the headline numbers; RESULTS.md has every table."""
    s = data["sections"]
    m = data.get("machine", {})
    out = [
        f"Measured by `python -m benchmarks.run` on {m.get('cpu')} ({m.get('cores')} cores, torch threads "
        f"{m.get('torch_threads')}), on a machine shared with other work (load averages in "
        f"[`benchmarks/RESULTS.md`]({link('benchmarks/RESULTS.md', PAGE)}), which has every table).",
        "",
        "| what | measured |",
        "|---|---|",
    ]
    if _ok(s.get("latency")):
        p = ", ".join(f"{_title(t)} {r['predict']['p50_ms']:.0f} ms" for t, r in s["latency"]["tasks"].items())
        g = ", ".join(f"{r['predict_gradcam']['p50_ms']:.0f} ms" for r in s["latency"]["tasks"].values())
        out.append(f"| one image, file → prediction (p50) | {p} |")
        out.append(f"| one image, + Grad-CAM overlay (p50) | {g} |")
    if _ok(s.get("batch")):
        out.append(
            "| batch inference, hybrid | "
            + ", ".join(f"{r['images_per_s']:,.0f} img/s at batch {bs}" for bs, r in s["batch"]["batches"].items())
            + " |"
        )
    if _ok(s.get("quantum_cost")):
        q = s["quantum_cost"]
        t = q["train_step"]
        out.append(
            "| quantum branch cost, hybrid ÷ classical time | predict "
            f"{q['predict']['ratio_p50']:.2f}× (goal ≤ {q['goals']['predict']}), predict + Grad-CAM "
            f"{q['predict_gradcam']['ratio_p50']:.2f}×, "
            + ", ".join(f"batch {k[6:]} {q[k]['ratio_p50']:.2f}×" for k in q if k.startswith("batch_"))
            + f", training step {t['ratio_p50_fused']:.2f}× (goal ≤ {q['goals']['train_step']}; "
            f"{t['ratio_p50_tq']:.2f}× with the circuit gate by gate) |"
        )
        e = q["epoch_12_qubits"]
        out.append(
            f"| one MNIST training epoch, {e['qubits']}-qubit circuit (estimated) | {e['fused']['epoch_s']:.0f} s "
            f"fused, {e['tq']['epoch_s']:.0f} s gate by gate (8 qubits: {e['hybrid_8_qubits_epoch_s']:.0f} s, "
            f"classical-only {e['classical_epoch_s']:.0f} s) |"
        )
    if _ok(s.get("training")):
        out.append(
            "| training, hybrid ÷ classical time | "
            + ", ".join(
                f"{_title(t)} {r['ratio_time']:.2f}× ({r['hybrid_images_per_s']:.0f} vs {r['classical_images_per_s']:.0f} img/s)"
                for t, r in s["training"]["tasks"].items()
            )
            + " |"
        )
    if _ok(s.get("qnn_scaling")):
        rows = {(r["qubits"], r["depth"]): r for r in s["qnn_scaling"]["rows"]}
        lo, hi = min(rows), max(rows)
        mid = rows.get((8, 3))

        def both(r: dict) -> str:
            return f"{r['fused']['p50_ms']:.1f} ms fused ({r['tq']['p50_ms']:.0f} ms gate by gate)"

        out.append(
            f"| QNN layer alone, forward + backward, batch {s['qnn_scaling']['batch']} | "
            + (f"8 qubits × depth 3 (the shipped circuit) {both(mid)}; " if mid else "")
            + f"{lo[0]}×{lo[1]} {both(rows[lo])} … {hi[0]}×{hi[1]} {both(rows[hi])} |"
        )
    if _ok(s.get("simulators")):
        sp = s["simulators"]["speedup"]
        out.append(
            f"| TorchQuantum vs PennyLane default.qubit (same circuit, agree to 1e-5; goal ≥ 50× the loop) | "
            f"{sp['forward_vs_pennylane_loop']}× forward, {sp['train_vs_pennylane_loop']}× forward + backward "
            f"faster than the per-sample loop; {sp['forward_vs_pennylane_batched']}× / "
            f"{sp['train_vs_pennylane_batched']}× against its broadcast batch gate by gate, "
            f"{sp['train_fused_vs_pennylane_batched']}× forward + backward fused |"
        )
    if _ok(s.get("memory")):
        out.append(
            f"| peak RSS, all {len(s['memory']['models'])} models loaded, one prediction each | "
            f"{s['memory']['peak_rss_mb']:.0f} MB |"
        )
    if _ok(s.get("app")):
        out.append(
            f"| app: `streamlit run` to first prediction on screen | {s['app']['first_prediction_s']:.1f} s "
            f"({s['app']['method'].split(':')[0]}) |"
        )
    return "\n".join(out)


def update_readme(block: str) -> bool:
    return replace_block("performance", block, PAGE)
