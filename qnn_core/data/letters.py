"""The letters task's data: real pen strokes split by writer, plus synthetic handwriting.

Real letters are the Chars74K EnglishHnd pen trajectories: 55 samples of each of
a-z and A-Z, where list position k is (very likely) one writer. The split below is
by writer, fixed once (numpy `default_rng(20261125).permutation(55)`: the first 10
positions test, the next 5 validation, the other 40 train) and written out here so
that it can never drift:

- test writers: only ever measured (`evaluate`), never trained on or used for a choice;
- validation writers: choose the kept epoch and the training recipe;
- train writers: trained on, each letter drawn several times with different canvases.

Every picture is made by `strokes.py`: the strokes drawn like a browser canvas, then
the app's own preprocessing. Generated training sets are cached under .cache/letters/.
"""

from __future__ import annotations

import json
import re
import zipfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from qnn_core.data import font_letters
from qnn_core.data.split import DataNotFoundError, Split, cached_split, orient
from qnn_core.data.strokes import Strokes, StyleRange, random_style, render_input
from qnn_core.data.synthetic_letters import LETTERS, Distortion, distort, generate
from qnn_core.tasks import REPO_ROOT, SHARED_DATA, TaskSpec

CHARS74K_FILE = "char74k.json"
TEST_WRITERS = (6, 19, 27, 28, 32, 36, 37, 41, 42, 46)
VAL_WRITERS = (2, 12, 13, 25, 47)
TRAIN_WRITERS = tuple(k for k in range(55) if k not in TEST_WRITERS + VAL_WRITERS)
WRITERS = {"train": TRAIN_WRITERS, "val": VAL_WRITERS, "test": TEST_WRITERS}

# Training recipe (what the shipped checkpoints used; see the model cards).
N_SYNTHETIC = 20_800  # synthetic letters, balanced over the 26 classes, half upper case
FONT_SHARE = 0.5  # of them made from handwriting-style outline fonts (font_letters.py), the rest Hershey
SYNTHETIC_CHUNK = 2_600  # made and cached in chunks, each balanced and seeded on its own
REAL_COPIES = 6  # each train writer's letter drawn this many times (copy 0 undistorted)
VAL_COPIES = 3  # each validation letter drawn this many times, with different canvases
REAL_DISTORTION = Distortion(rotate_deg=6.0, slant=0.15, aspect=(0.85, 1.15), elastic=(0.0, 0.03))
SEEDS = {"train": 11, "val": 12, "test": 13, "synthetic": 14, "holdout": 15}
CACHE_VERSION = 1  # bump when the renderer or the generator changes what they draw
CACHE_DIR = REPO_ROOT / ".cache" / "letters"

UJI_ZIP = SHARED_DATA / "holdout" / "uji-pen-characters-v1" / "uji-pen-characters.zip"
EMNIST_SAMPLE = SHARED_DATA / "emnist-letters" / "emnist-letters-test-sample26.npz"


@dataclass(frozen=True)
class PenSample:
    label: int  # 0..25 = a..z, case folded
    char: str  # as written, upper or lower case
    writer: int
    strokes: tuple[tuple[tuple[float, float], ...], ...]


def chars74k_path(root: str | Path | None = None) -> Path:
    return Path(root or SHARED_DATA / "handwritten-letters" / "chars74k-englishhnd-strokes") / CHARS74K_FILE


@lru_cache(maxsize=2)
def read_chars74k(path: Path) -> tuple[PenSample, ...]:
    """Every letter in the Chars74K stroke file (digits dropped); writer = list position."""
    if not path.is_file():
        raise DataNotFoundError(f"{path} not found (the Chars74K EnglishHnd strokes; see shared/data)")
    raw = json.loads(path.read_text())
    return tuple(
        PenSample(LETTERS.index(ch.lower()), ch, k, tuple(tuple(map(tuple, s)) for s in sample))
        for ch, samples in sorted(raw.items())
        if ch.isalpha()
        for k, sample in enumerate(samples)
    )


def writer_samples(split: str, root: str | Path | None = None) -> list[PenSample]:
    """The real letters of the 'train', 'val' or 'test' writers."""
    writers = set(WRITERS[split])
    return [s for s in read_chars74k(chars74k_path(root)) if s.writer in writers]


def render_samples(
    samples: list[PenSample],
    task: TaskSpec,
    seed: int,
    copies: int = 1,
    distortion: Distortion | None = None,
    spread: StyleRange = StyleRange(),
) -> Split:
    """Each sample drawn `copies` times on random canvases (copy 0 undistorted); deterministic for a seed."""
    rng = np.random.default_rng(seed)
    images, labels = [], []
    for copy in range(copies):
        for s in samples:
            strokes: Strokes = s.strokes
            if distortion is not None and copy > 0:
                strokes = distort(strokes, rng, distortion)
            images.append(render_input(strokes, task, random_style(rng, spread)))
            labels.append(s.label)
    size = task.input.size
    return Split(np.array(images, np.uint8).reshape(-1, size, size), np.array(labels, np.int64))


@lru_cache(maxsize=4)
def load_stroke_split(task: TaskSpec, split: str, root: str | Path | None = None) -> Split:
    """`data.load_split` for the letters: 'test' is the 10 test writers' 520 real letters, each drawn once.

    Deterministic, so kept in memory after the first call (pages, evaluation and tests ask for it often).
    """
    return render_samples(writer_samples(split, root), task, SEEDS[split])


def _cached(name: str, build) -> Split:
    return cached_split(CACHE_DIR / f"{name}-v{CACHE_VERSION}.npz", build)


def synthetic(task: TaskSpec, n: int | None = None, seed: int | None = None, fonts: int | None = None) -> Split:
    """n synthetic letters, `fonts` of them from outline fonts and the rest Hershey, made (and cached) in chunks of
    SYNTHETIC_CHUNK, each from its own seed."""
    n, seed = n or N_SYNTHETIC, SEEDS["synthetic"] if seed is None else seed
    fonts = round(n * FONT_SHARE) if fonts is None else fonts
    chunks = []
    font_tag = f"-{len(font_letters.available())}f"  # the fonts a run had: another set is another cache entry
    for kind, count, make, tag in (
        ("synthetic", n - fonts, generate, ""),
        ("fonts", fonts, font_letters.generate, font_tag),
    ):
        for k in range(-(-count // SYNTHETIC_CHUNK)):
            size = min(SYNTHETIC_CHUNK, count - k * SYNTHETIC_CHUNK)
            chunk_seed = seed * 100_000 + k
            chunks.append(_cached(f"{kind}-n{size}-s{chunk_seed}{tag}", lambda: Split(*make(size, task, chunk_seed))))
    return Split(np.concatenate([c.images for c in chunks]), np.concatenate([c.labels for c in chunks]))


def train_val(task: TaskSpec, root: str | Path | None = None, mix: str = "mixed") -> tuple[Split, Split]:
    """mix: 'mixed' (synthetic + train writers), 'synthetic' or 'real'. Validation: the validation writers."""
    if mix not in ("mixed", "synthetic", "real"):
        raise ValueError(f"mix must be 'mixed', 'synthetic' or 'real', got {mix!r}")
    real = _cached(
        f"real-train-c{REAL_COPIES}",
        lambda: render_samples(
            writer_samples("train", root), task, SEEDS["train"], copies=REAL_COPIES, distortion=REAL_DISTORTION
        ),
    )
    val = _cached(
        f"real-val-c{VAL_COPIES}",
        lambda: render_samples(writer_samples("val", root), task, SEEDS["val"], copies=VAL_COPIES),
    )
    parts = ([synthetic(task)] if mix != "real" else []) + ([real] if mix != "synthetic" else [])
    return Split(np.concatenate([p.images for p in parts]), np.concatenate([p.labels for p in parts])), val


def read_uji(path: Path = UJI_ZIP) -> list[PenSample]:
    """The letters of UJI Pen Characters v1 (11 writers x 2 sessions; digits dropped). Measurement only."""
    samples: list[PenSample] = []
    with zipfile.ZipFile(path) as z:
        for name in sorted(n for n in z.namelist() if re.fullmatch(r"UJIpenchars-w\d\d", n)):
            writer, char, strokes, stroke = int(name[-2:]), None, [], None
            lines = z.read(name).decode("ascii").splitlines() + [".SEGMENT END"]
            for line in (ln.strip() for ln in lines):
                if line.startswith(".SEGMENT"):
                    if char and char.isalpha():
                        samples.append(
                            PenSample(LETTERS.index(char.lower()), char, writer, tuple(tuple(s) for s in strokes))
                        )
                    found = re.search(r'"(.)"\s*$', line)
                    char, strokes, stroke = (found.group(1) if found else None), [], None
                elif line == ".PEN_DOWN":
                    stroke = []
                    strokes.append(stroke)
                elif line == ".PEN_UP":
                    stroke = None
                elif stroke is not None and line and not line.startswith("."):
                    x, y = line.split()
                    stroke.append((float(x), float(y)))
    return samples


@lru_cache(maxsize=2)
def load_holdout(task: TaskSpec, path: Path = UJI_ZIP) -> Split:
    """UJI's 1,144 letters drawn once each: an independent measurement, never trained or tuned on."""
    return render_samples(read_uji(path), task, SEEDS["holdout"])


def load_emnist_sample(task: TaskSpec, path: Path = EMNIST_SAMPLE) -> Split:
    """The 26 real EMNIST Letters test images, oriented and labelled by the registry's EMNIST source."""
    source = task.with_source("emnist").data
    with np.load(path) as z:
        return Split(orient(z["images"], source.orientation), z["labels"].astype(np.int64) - source.label_offset)
