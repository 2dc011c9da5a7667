"""Classify user images with a task's shipped (or given) checkpoint.

    qnn predict --task mnist FILE [FILE ...] [--model classical | --checkpoint PATH] [--quantum off]
                               [--top K]

One JSON line per file: {"file": ..., "label": ..., "top": [[label, prob], ...], "unsure": false,
"unsure_reason": "", "looks_like": null}. `unsure` is the model's calibrated "I'm not sure", the same verdict the app shows
(service/verdict.py), and the reason says why in a sentence ("This doesn't look like a digit: ...").
`looks_like` names another animal than the six for the animals task ("cow"), and is null otherwise.
A bad file gets a one-line error on stderr and the exit status is non-zero.
"""

from __future__ import annotations

import argparse
import json
import sys

from qnn_core.cli_args import add_model, add_quantum_switch, positive_int
from qnn_core.devices import add_device
from qnn_core.inference.predict import Predictor, run_over_files
from qnn_core.service.verdict import verdict


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="qnn predict", description=__doc__.split("\n")[0])
    p.add_argument("--task", required=True)
    p.add_argument("files", nargs="+")
    add_model(p)
    add_quantum_switch(p)
    p.add_argument("--top", type=positive_int, default=3, help="how many labels to list (default %(default)s)")
    add_device(p)
    return p


def main(argv: list[str] | None = None) -> int:
    a = build_parser().parse_args(argv)

    def handle(predictor: Predictor, f: str) -> None:
        pred = predictor.predict(f, quantum=a.quantum == "on", k=a.top)
        top = [[label, round(prob, 4)] for label, prob in pred.top]
        said = verdict(predictor, pred)
        print(
            json.dumps(
                {
                    "file": f,
                    "label": pred.label,
                    "top": top,
                    "unsure": said.unsure,
                    "unsure_reason": said.message,
                    "looks_like": said.looks_like,  # another animal than the task's classes ("cow"), else null
                },
                ensure_ascii=False,
            ),
            flush=True,
        )

    return run_over_files(a, handle)


if __name__ == "__main__":
    sys.exit(main())
