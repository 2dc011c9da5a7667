"""Turn a TrainConfig into a run that can be done as asked, or refuse it in one sentence before any work.

The plan picks the pipeline (pixels for a resnet trained from scratch, cached features for a pretrained
backbone), refuses every field the config asks for that the pipeline cannot honour or that does not apply
to the task (--mix, --source, --download), checks that an --init checkpoint fits the model this run builds,
and fills in what the run will really use: the registry's defaults and the starting checkpoint's backbone
shape. It reads no data, so a refusal comes at once.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

from qnn_core.devices import AMP_CHOICES, DeviceError, resolve
from qnn_core.models.checkpoint import CheckpointError, read_meta
from qnn_core.models.hybrid import RESNET_SHAPE, ModelConfig
from qnn_core.preprocess.augment import AUGMENTATIONS, EXTRAS, RENDER, augment_kind_known
from qnn_core.settings import MIXES
from qnn_core.tasks import CIRCUIT_PATHS, TASKS, TaskSpec
from qnn_core.training.bottleneck import Bottleneck
from qnn_core.training.config import ConfigError, TrainConfig, asked_for, flag
from qnn_core.training.features import CachedFeatures
from qnn_core.training.pipeline import Pipeline
from qnn_core.training.pixels import Pixels

EFFICIENTNET_STAGES = 7  # EfficientNet-Lite0's stages; at least the first stays in the frozen trunk
# What must agree between an --init checkpoint and the model a run builds, and the flag that sets it.
INIT_MUST_MATCH = {
    "in_channels": "--task",
    "num_classes": "--task",
    "backbone": "--resnet18-weights",
    "quantum": "--model",
    "n_qubits": "--qubits",
    "q_depth": "--depth",
    "widths": "widths",
    "blocks": "--blocks",
    "preact": "--preact",
    "tuned_stages": "--tuned-stages",
    "classical_dim": "classical_dim",
}
# The backbone shape a run started with --init takes from its checkpoint unless asked otherwise.
INHERITED = {Pixels: RESNET_SHAPE, CachedFeatures: ("tuned_stages",), Bottleneck: ()}
DEFAULTS = ModelConfig().to_dict()


@dataclass(frozen=True)
class Plan:
    task: TaskSpec  # with its --source data set
    cfg: TrainConfig  # as the run uses it (and the checkpoint records it)
    pipeline: type[Pipeline]
    epochs: int


def model_config(task: TaskSpec, cfg: TrainConfig) -> ModelConfig:
    """The model a config asks for: the task's backbone unless `cfg.model` names other fields."""
    extra = {"backbone": task.backbone, "tuned_stages": task.tuned_stages, **cfg.model}
    return ModelConfig(
        in_channels=task.input.channels,
        num_classes=task.num_classes,
        quantum=cfg.quantum,
        n_qubits=cfg.n_qubits,
        q_depth=cfg.q_depth,
        **extra,
    )


def plan(cfg: TrainConfig, asked: frozenset[str] = frozenset()) -> Plan:
    """Check and complete a config; `asked` adds fields set explicitly to their default (typed flags)."""
    task = source_task(cfg)
    asked = asked | asked_for(cfg)
    pipeline = pick_pipeline(task, cfg)
    for name in sorted(asked):
        if name not in pipeline.honours:
            why = pipeline.refuses.get(name, "cannot apply to {task}'s training")
            raise ConfigError(f"{flag(name)} {why.format(task=task.name)}")
    check_applies(task, cfg, asked)
    model = dict(cfg.model)
    if pipeline is Bottleneck:  # the backbone's shape is the shipped hybrid's, whose weights it borrows
        donor = read_init(str(task.checkpoint(True)), "the shipped hybrid, whose backbone a bottleneck borrows")
        model = {**{k: donor.get(k, DEFAULTS[k]) for k in RESNET_SHAPE}, **model}
    if cfg.init:
        init_config = read_init(cfg.init)
        model = {**{k: init_config.get(k, DEFAULTS[k]) for k in INHERITED[pipeline]}, **model}
        check_init_fits(cfg.init, init_config, model_config(task, replace(cfg, model=model)))
    resolved = pipeline.resolve(replace(cfg, model=model), task)
    return Plan(task=task, cfg=resolved, pipeline=pipeline, epochs=cfg.epochs or pipeline.epochs or task.epochs)


def resumed_plan(cfg: TrainConfig, epochs: int) -> Plan:
    """The plan of a run a resume file continues: its config was checked and completed when it started, so
    only what this machine must provide is checked again (the device)."""
    task = source_task(cfg)
    check_device(cfg)
    return Plan(task=task, cfg=cfg, pipeline=pick_pipeline(task, cfg), epochs=epochs)


def source_task(cfg: TrainConfig) -> TaskSpec:
    if cfg.task not in TASKS:
        raise ConfigError(f"--task {cfg.task!r} is not a task; one of {', '.join(TASKS)}")
    task = TASKS[cfg.task]
    if cfg.source is None:
        return task
    named = dict(task.sources)
    if not named:
        raise ConfigError(f"--source does not apply to {task.name}: it has one data set (no other sources)")
    if cfg.source not in named:
        raise ConfigError(f"--source {cfg.source!r}: {task.name} has no such data set; one of {', '.join(named)}")
    return task.with_source(cfg.source)


def pick_pipeline(task: TaskSpec, cfg: TrainConfig) -> type[Pipeline]:
    unknown = sorted(set(cfg.model) - {f.name for f in fields(ModelConfig)})
    if unknown:
        raise ConfigError(f"model field(s) {', '.join(unknown)} are not ModelConfig fields")
    backbone = cfg.model.get("backbone", task.backbone)
    photo = task.input.kind == "photo"
    if cfg.model.get("head", "fused") == "bottleneck":
        if photo:
            raise ConfigError(f"--model bottleneck is for the handwriting tasks; {task.name} has no bottleneck model")
        return Bottleneck
    if backbone != "resnet" and not photo:
        raise ConfigError(f"{flag('model.backbone')} is for photo tasks; {task.name} trains a resnet on drawings")
    if backbone == "resnet" and photo:
        raise ConfigError(f"{task.name} has no resnet trained from scratch; it uses a pretrained backbone")
    return Pixels if backbone == "resnet" else CachedFeatures


def check_applies(task: TaskSpec, cfg: TrainConfig, asked: frozenset[str]) -> None:
    """Flags that depend on the task's data set rather than on the pipeline, and the values of a few others."""
    data = task.name + (f" --source {cfg.source}" if cfg.source else "")
    if "download" in asked and (task.data.torchvision_name is None or task.data.kind == "strokes"):
        raise ConfigError(
            f"--download does not apply to {data}: torchvision cannot fetch its data; "
            "pass --data-root DIR with the files"
        )
    if "mix" in asked and task.data.kind != "strokes":
        raise ConfigError(
            f"--mix does not apply to {data}: it chooses between the synthetic and the real writers "
            "of pen-stroke data (letters)"
        )
    if cfg.mix not in MIXES:
        raise ConfigError(f"--mix {cfg.mix!r}: one of {', '.join(MIXES)}")
    if cfg.augment and not augment_kind_known(cfg.augment):
        raise ConfigError(
            f"unknown augmentation {cfg.augment!r}: one of {', '.join(AUGMENTATIONS)}, then optional "
            f"+{' +'.join([*EXTRAS, RENDER])}"
        )
    if not 0.0 <= cfg.cutmix <= 1.0:
        raise ConfigError(f"--cutmix is the share of images mixed, 0 to 1, not {cfg.cutmix:g}")
    check_device(cfg)
    if cfg.circuit_path not in CIRCUIT_PATHS:
        raise ConfigError(f"--circuit-path {cfg.circuit_path!r}: one of {', '.join(CIRCUIT_PATHS)}")
    if "circuit_path" in asked and not cfg.quantum:
        raise ConfigError("--circuit-path chooses how the circuit is simulated; a classical model has no circuit")
    if cfg.views is not None and cfg.views < 0:
        raise ConfigError(f"--views wants 0 or more, not {cfg.views}")
    if "model.tuned_stages" in asked:
        if cfg.model.get("backbone", task.backbone) != "efficientnet_lite0":
            raise ConfigError("--tuned-stages is for the efficientnet_lite0 backbone; --resnet18-weights tunes none")
        if not 1 <= cfg.model["tuned_stages"] < EFFICIENTNET_STAGES:
            raise ConfigError(f"--tuned-stages wants 1 to {EFFICIENTNET_STAGES - 1}, not {cfg.model['tuned_stages']}")


def check_device(cfg: TrainConfig) -> None:
    """The device must be on this machine, and bf16 autocast is offered where it pays: CUDA."""
    try:
        device = resolve(cfg.device)
    except DeviceError as err:
        raise ConfigError(str(err)) from None
    if cfg.amp not in AMP_CHOICES:
        raise ConfigError(f"--amp {cfg.amp!r}: one of {', '.join(AMP_CHOICES)}")
    if cfg.amp != "off" and device.type != "cuda":
        raise ConfigError(f"--amp {cfg.amp} is mixed precision for CUDA; this run is on {device} (--device)")


def read_init(path: str, what: str = "--init") -> dict:
    try:
        return read_meta(path)["config"]
    except (CheckpointError, KeyError) as err:
        raise ConfigError(f"{what}: {err}") from None


def check_init_fits(path: str, init_config: dict, run: ModelConfig) -> None:
    """The starting weights must load into the model this run builds; say which flag disagrees if not."""
    want = run.to_dict()
    for name, flag_name in INIT_MUST_MATCH.items():
        have = init_config.get(name, DEFAULTS[name])  # older checkpoints lack fields added since
        if have == want[name]:
            continue
        if name == "quantum":
            raise ConfigError(
                f"--init {path} does not fit this run: it is a {'hybrid' if have else 'classical'} "
                f"model, this run trains a {'hybrid' if want[name] else 'classical'} one (--model)"
            )
        raise ConfigError(
            f"--init {path} does not fit this run: it has {name} {have}, this run asks for {want[name]} ({flag_name})"
        )
