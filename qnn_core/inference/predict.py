"""Classify user images with a task's shipped (or given) checkpoint: the Predictor that the CLIs (predict.py,
read.py), the sequence reader and the service all call, and the CLIs' shared loop over files.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from qnn_core.cli_args import model_path
from qnn_core.devices import DeviceError, resolve
from qnn_core.inference.quantum_readout import CircuitInput
from qnn_core.inference.unsure import UnsureRule
from qnn_core.models.checkpoint import CheckpointError, check_fits_task, load_checkpoint
from qnn_core.preprocess.image import ImageInputError, Prepared, prepare
from qnn_core.tasks import TaskSpec, get_task


@dataclass
class Prediction:
    index: int
    label: str
    probs: np.ndarray  # (num_classes,)
    top: list[tuple[str, float]]
    expvals: np.ndarray | None  # the qubits' <Z> for this input (hybrid models; mean over the mirrored pair if any)
    prepared: Prepared
    quantum: bool = True  # whether the quantum branch was on for this prediction
    circuit_input: CircuitInput | None = None  # what the head and the circuit got (hybrid models), for the quantum view
    logits: np.ndarray | None = None  # (num_classes,) as served (the views' mean), for the unsure score
    features: np.ndarray | None = None  # the backbone's pooled features (the views' mean), for the unsure score
    unsure: bool = False  # the checkpoint's calibrated rule (inference/unsure.py) finds this input unlike its classes


class Predictor:
    """A loaded model plus its task, for inference only: what the CLIs, the sequence reader and the service call.

    The model is frozen and in eval mode from the start, and the circuit's unitary is built here, so that
    threads sharing one Predictor only ever read it: nothing a call does changes the model. It lives on
    `device` (a devices.resolve spelling, or a torch.device); images go there and results come back to the CPU.
    """

    def __init__(
        self, task: TaskSpec | str, checkpoint: str | Path | None = None, device: str | torch.device = "cpu"
    ) -> None:
        self.task = get_task(task) if isinstance(task, str) else task
        self.checkpoint = Path(checkpoint) if checkpoint else self.task.checkpoint()
        self.device = resolve(device) if isinstance(device, str) else device
        self.model, self.meta = load_checkpoint(self.checkpoint)
        check_fits_task(self.checkpoint, self.meta, self.task)
        self.model.requires_grad_(False).eval().to(self.device)
        if self.model_is_hybrid:
            self.model.quantum.layer_unitary()  # cached now, never built by two threads at once
        self.unsure_rule = UnsureRule.from_meta(self.meta)  # None: no calibrated "I'm not sure" for this model

    @property
    def model_is_hybrid(self) -> bool:
        return bool(self.model.config.quantum)

    @torch.no_grad()
    def predict_prepared(self, prepared: Prepared, quantum: bool = True, k: int = 5) -> Prediction:
        return self.predict_switched(prepared, (quantum,), k)[0]

    @torch.no_grad()
    def predict_switched(self, prepared: Prepared, switches: tuple[bool, ...], k: int = 5) -> list[Prediction]:
        """One prediction per quantum switch, from one backbone pass: the switch only changes the head's input."""
        x = prepared.tensor.to(self.device)
        if self.task.test_time_mirror:  # as evaluate measures it: the image and its mirror image, averaged
            x = torch.cat([x, x.flip(-1)])
        features = self.model.backbone(x)
        branches = self.model.branches_from_features(features)
        # Kept so that the quantum view re-runs only the circuit and the head (shots, noise), never the backbone.
        classical = None if branches[0] is None else branches[0].cpu().numpy()  # None: a bottleneck head
        circuit_input = (
            CircuitInput(self.model.circuit_angles(features).cpu().numpy(), classical) if self.model_is_hybrid else None
        )
        mean_features = features.mean(0).cpu().numpy()
        return [
            self._prediction(
                prepared, *self.model.fuse(*branches, quantum=quantum), quantum, k, circuit_input, mean_features
            )
            for quantum in switches
        ]

    def _prediction(
        self,
        prepared: Prepared,
        logits: torch.Tensor,
        expvals: torch.Tensor | None,
        quantum: bool,
        k: int,
        circuit_input: CircuitInput | None = None,
        features: np.ndarray | None = None,
    ) -> Prediction:
        served = logits.float().mean(0).cpu().numpy()
        probs = torch.softmax(logits.mean(0, keepdim=True), 1)[0].cpu().numpy()
        order = np.argsort(-probs)[:k]
        unsure = self.unsure_rule is not None and bool(
            self.unsure_rule.is_unsure(served[None], None if features is None else features[None])[0]
        )
        return Prediction(
            index=int(order[0]),
            label=self.task.label(int(order[0])),
            probs=probs,
            top=[(self.task.label(int(i)), float(probs[i])) for i in order],
            expvals=None if expvals is None else expvals.mean(0).cpu().numpy(),
            prepared=prepared,
            quantum=quantum,
            circuit_input=circuit_input,
            logits=served,
            features=features,
            unsure=unsure,
        )

    def predict(self, source, quantum: bool = True, k: int = 5) -> Prediction:
        """source: a path, bytes, a file object or a PIL image. Raises ImageInputError for bad input."""
        return self.predict_prepared(prepare(source, self.task), quantum=quantum, k=k)


def run_over_files(
    a: argparse.Namespace,
    handle: Callable[[Predictor, str], None],
    errors: tuple[type[Exception], ...] = (ImageInputError,),
) -> int:
    """The CLIs' shared loop: the model `a.task` + `a.model` / `a.checkpoint` name, each of `a.files` handled; a
    bad file is one line on stderr, never a traceback.

    Exit status: 2 when the model cannot be loaded, 1 when some file failed, else 0.
    """
    try:
        predictor = Predictor(a.task, model_path(get_task(a.task), a), device=getattr(a, "device", "cpu"))
    except (KeyError, CheckpointError, DeviceError) as err:
        print(f"error: {err.args[0]}", file=sys.stderr)
        return 2
    status = 0
    for f in a.files:
        try:
            handle(predictor, f)
        except errors as err:
            print(f"error: {f}: {err}", file=sys.stderr)
            status = 1
    return status
