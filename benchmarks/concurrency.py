"""What thread-safe serving costs: Grad-CAM through a per-call view against pytorch-grad-cam hooked on the
model (the old way, unsafe when sessions share a model), and peak memory with 1 and with 3 sessions at once."""

from __future__ import annotations

import copy
import itertools
import json
import subprocess
import sys
import threading

import torch
from pytorch_grad_cam import GradCAM
from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

from benchmarks.timing import interleaved, summary_ms
from qnn_core.service import TaskService
from qnn_core.tasks import REPO_ROOT

TASKS = ("mnist", "animals")


def hooked_gradcam(model, prepared, index: int):
    """The old way: pytorch-grad-cam's hooks on the model's own last layer (here a private copy of it)."""
    with torch.enable_grad(), GradCAM(model=model, target_layers=[model.backbone.last_conv_layer]) as cam:
        return cam(input_tensor=prepared.tensor, targets=[ClassifierOutputTarget(index)])[0]


def gradcam_cost(repeats: int, files: dict[str, list[bytes]]) -> dict:
    out = {}
    for name in TASKS:
        service = TaskService(name)
        private = copy.deepcopy(service._predictor.model).requires_grad_(True)
        results = [service.classify(f) for f in files[name]]
        it_old, it_new = itertools.cycle(results), itertools.cycle(results)

        def old() -> None:
            r = next(it_old)
            hooked_gradcam(private, r.prepared, r.index)

        def new() -> None:
            r = next(it_new)
            service.explain(r)

        times = interleaved({"hooked_on_model": old, "per_call_view": new}, repeats)
        old_s, new_s = summary_ms(times["hooked_on_model"]), summary_ms(times["per_call_view"])
        out[name] = {
            "hooked_on_model": old_s,
            "per_call_view": new_s,
            "ratio_p50": round(new_s["p50_ms"] / old_s["p50_ms"], 3),
        }
    return out


def serve_sessions(sessions: int, calls: int, tasks: tuple[str, ...] = TASKS) -> dict:
    """Run in a fresh process: `sessions` threads share each task's service, each classifying and explaining."""
    from benchmarks.sections import peak_rss_mb, user_files

    files = {name: user_files(name, 4) for name in tasks}
    services = {name: TaskService.get(name) for name in tasks}
    barrier = threading.Barrier(sessions)

    def session(seed: int) -> None:
        barrier.wait()
        for i in range(calls):
            for name, service in services.items():
                service.explain(service.classify(files[name][(seed + i) % len(files[name])]))

    threads = [threading.Thread(target=session, args=(s,)) for s in range(sessions)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return {"sessions": sessions, "calls_per_session": calls, "tasks": list(tasks), "peak_rss_mb": peak_rss_mb()}


def session_memory(calls: int, tasks: tuple[str, ...]) -> dict:
    out = {}
    for n in (1, 3):
        code = (
            f"import json, torch; torch.set_num_threads(1); from benchmarks.concurrency import serve_sessions; "
            f"print(json.dumps(serve_sessions({n}, {calls}, {tuple(tasks)!r})))"
        )
        r = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, timeout=900)
        if r.returncode != 0:
            raise RuntimeError(f"serving process failed: {r.stderr[-2000:]}")
        out[f"sessions_{n}"] = json.loads(r.stdout.strip().splitlines()[-1])
    out["ratio_3_to_1"] = round(out["sessions_3"]["peak_rss_mb"] / out["sessions_1"]["peak_rss_mb"], 3)
    return out


def concurrency(budget) -> dict:
    from benchmarks.sections import user_files

    files = {name: user_files(name, 8) for name in TASKS}
    return {
        "what": "Grad-CAM p50 of the shipped hybrid, the old way (pytorch-grad-cam hooks on the model's own layer) "
        "and the thread-safe way (hooks on a per-call view; the shared model is only read), timed in turn "
        "on one thread; and the peak RSS (VmHWM) of a fresh process in which 1 or 3 threads (sessions) "
        "share the digits and animals services, each classifying and explaining",
        "gradcam": gradcam_cost(budget.latency_repeats, files),
        "memory": session_memory(max(2, budget.latency_repeats // 10), budget.session_tasks),
    }
