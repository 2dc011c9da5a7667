"""Many threads, one shared TaskService: predictions and Grad-CAMs, quantum on and off, checked against one thread.

Run as a script (the thread-safety test runs it in a subprocess, so that a crash fails the test instead of
killing pytest):

    python tests/inference/thread_harness.py --task mnist --threads 4 --rounds 3

Exit status 0: every threaded result equals the single-threaded one; 1: some differ; a crash: a signal.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import threading

import numpy as np
from PIL import Image

from qnn_core.service import TaskService


def run_op(service: TaskService, image: Image.Image, quantum: bool, explain: bool) -> tuple[np.ndarray, ...]:
    result = service.classify(image, quantum=quantum)
    if not explain:
        return (result.probs,)
    return result.probs, service.explain(result).heat


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--task", default="mnist")
    p.add_argument("--threads", type=int, default=4)
    p.add_argument("--rounds", type=int, default=3)
    a = p.parse_args(argv)
    service = TaskService.get(a.task)
    images = [Image.fromarray(img) for img, _ in service.examples()[:6]]
    ops = [(i, q, e) for i in range(len(images)) for q in (True, False) for e in (False, True)]
    reference = {op: run_op(service, images[op[0]], op[1], op[2]) for op in ops}
    barrier = threading.Barrier(a.threads)
    mismatches: list[str] = []
    errors: list[str] = []

    def worker(seed: int) -> None:
        order = ops * a.rounds
        random.Random(seed).shuffle(order)
        barrier.wait()
        try:
            for op in order:
                got = run_op(service, images[op[0]], op[1], op[2])
                for want, have in zip(reference[op], got):
                    if want.shape != have.shape or not np.allclose(want, have, atol=1e-5):
                        mismatches.append(f"image {op[0]} quantum={op[1]} explain={op[2]}")
        except Exception as err:  # noqa: BLE001  (any failure in a thread is a failure of the test)
            errors.append(f"{type(err).__name__}: {err}")

    threads = [threading.Thread(target=worker, args=(s,)) for s in range(a.threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(
        json.dumps(
            {
                "calls": len(ops) * a.rounds * a.threads,
                "mismatches": len(mismatches),
                "errors": errors,
                "examples": sorted(set(mismatches))[:5],
            }
        )
    )
    return 0 if not mismatches and not errors else 1


if __name__ == "__main__":
    sys.exit(main())
