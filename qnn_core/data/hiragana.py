"""The hiragana task's data: synthetic handwriting of the 71 modern hiragana, from strokes and from fonts.

No multi-writer modern-hiragana data set may be used here (ETL forbids redistribution; Kuzushiji is cursive),
so every image is made:

- **strokes**: KanjiVG's stroke paths (kana_strokes.py) with kana handwriting's own wobble (per-stroke jitter,
  hooks and tails, joined strokes), then the letters' global distortions (rotation, slant, width, elastic
  waves: synthetic_letters.distort) and a random canvas (width, size, position, polarity: strokes.py);
- **fonts**: handwriting-like Japanese fonts from Debian packages, bent and re-weighted like the letter fonts
  (font_letters.bend) and fitted like an upload.

Splits, each from its own seeds and distortion draws, so that validation and test are shapes training never
drew: train = the stroke renderings of SEEDS["train"] + the TRAIN_FONTS; validation = stroke renderings from
SEEDS["val"], 10% as many as training's, + the whole VAL_FONTS; test = the same from SEEDS["test"] + the
whole TEST_FONTS. Generated splits are cached under .cache/hiragana/ (never committed).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np

from qnn_core.data import font_letters
from qnn_core.data.kana_strokes import KanaDistortion, kana_distort, kana_strokes, svg_path
from qnn_core.data.split import DataNotFoundError, Split, cached_split
from qnn_core.data.strokes import StyleRange, random_style, render_input
from qnn_core.data.synthetic_letters import Distortion, distort
from qnn_core.preprocess.image import ImageInputError, fit_ink
from qnn_core.tasks import REPO_ROOT, TaskSpec

# The 71 classes, in gojūon order: 46 basic, 20 with dakuten, 5 with handakuten.
BASIC = "あいうえおかきくけこさしすせそたちつてとなにぬねのはひふへほまみむめもやゆよらりるれろわをん"
DAKUTEN = "がぎぐげござじずぜぞだぢづでどばびぶべぼ"
HANDAKUTEN = "ぱぴぷぺぽ"
KANA = BASIC + DAKUTEN + HANDAKUTEN
# Hepburn, except を wo, ぢ di, づ du, so that no two classes share a romaji.
ROMAJI = (
    "a i u e o ka ki ku ke ko sa shi su se so ta chi tsu te to na ni nu ne no ha hi fu he ho "
    "ma mi mu me mo ya yu yo ra ri ru re ro wa wo n "
    "ga gi gu ge go za ji zu ze zo da di du de do ba bi bu be bo pa pi pu pe po"
).split()

# Debian font packages (file under font_letters.FONT_DIRS -> (package, licence of the font files, from the
# package's debian/copyright)). Read at training time, never shipped.
FONTS: dict[str, tuple[str, str]] = {
    "yozvox-yozfont/YOzRE_.ttf": ("fonts-yozvox-yozfont-edu", "OFL-1.1"),
    "yozvox-yozfont/YOzBE_.ttf": ("fonts-yozvox-yozfont-edu", "OFL-1.1"),
    "yozvox-yozfont/YOzREF.ttf": ("fonts-yozvox-yozfont-edu", "OFL-1.1"),
    "kiloji/kiloji.ttf": ("fonts-kiloji", "BSD-3-Clause"),
    "kiloji/kiloji_b.ttf": ("fonts-kiloji", "BSD-3-Clause"),
    "kiloji/kiloji_d.ttf": ("fonts-kiloji", "BSD-3-Clause"),
    "klee/KleeOne-Regular.ttf": ("fonts-klee", "OFL-1.1"),
    "aoyagi-soseki/aoyagi-soseki.ttf": ("fonts-aoyagi-soseki", "public domain"),
    "yusei-magic/YuseiMagic-Regular.ttf": ("fonts-yusei-magic", "OFL-1.1"),
    "seto/setofont.ttf": ("fonts-seto", "OFL-1.1"),
}
PACKAGES = tuple(sorted({p for p, _ in FONTS.values()}))
# Whole fonts held out: one for validation (choices), another for test (measured only).
VAL_FONTS = ("yusei-magic/YuseiMagic-Regular.ttf",)
TEST_FONTS = ("seto/setofont.ttf",)
TRAIN_FONTS = tuple(f for f in FONTS if f not in VAL_FONTS + TEST_FONTS)

# Training recipe (the shipped checkpoints' mix; the model cards repeat it).
STROKES_PER_CLASS = 400  # KanjiVG renderings per kana in train; validation and test get 10% of that each
FONT_PER_CLASS = 200  # font renderings per kana in train
HELD_OUT_FONT_PER_CLASS = 20  # renderings per kana of each held-out font (validation, test)
CHUNK_PER_CLASS = 40  # made and cached in chunks of 71 x this, each balanced and seeded on its own
SEEDS = {"train": 21, "val": 22, "test": 23}
DISTORTION = Distortion(rotate_deg=10.0, slant=0.3, aspect=(0.75, 1.25), elastic=(0.0, 0.05))
KANA_DISTORTION = KanaDistortion()
CACHE_VERSION = 1  # bump when the generator changes what it draws
CACHE_DIR = REPO_ROOT / ".cache" / "hiragana"


def stroke_image(char: str, task: TaskSpec, rng: np.random.Generator, spread: StyleRange = StyleRange()) -> np.ndarray:
    """One KanjiVG kana, written by a random hand on a random canvas, prepared like a user's drawing."""
    strokes = distort(kana_distort(kana_strokes(char), rng, KANA_DISTORTION), rng, DISTORTION)
    return render_input(strokes, task, random_style(rng, spread))


def font_image(char: str, font: str, task: TaskSpec, rng: np.random.Generator) -> np.ndarray:
    """One kana in a font, bent, re-weighted and fitted like an upload."""
    pixels, _ = fit_ink(font_letters.bend(font_letters.glyph(font, char), rng), task.input)
    return np.round(pixels * 255).astype(np.uint8)


def _balanced_labels(per_class: int, rng: np.random.Generator) -> np.ndarray:
    labels = np.repeat(np.arange(len(KANA)), per_class)
    rng.shuffle(labels)
    return labels


def make_strokes(per_class: int, task: TaskSpec, seed: int) -> Split:
    rng = np.random.default_rng(seed)
    labels = _balanced_labels(per_class, rng)
    images = np.stack([stroke_image(KANA[k], task, rng) for k in labels])
    return Split(images, labels.astype(np.int64))


def make_fonts(per_class: int, task: TaskSpec, seed: int, fonts: tuple[str, ...]) -> Split:
    """per_class renderings of every kana, fonts taken at random from `fonts` (installed ones only)."""
    fonts = tuple(f for f in fonts if font_letters.font_path(f) is not None)
    if not fonts:
        raise DataNotFoundError(f"none of the Japanese fonts is installed (Debian packages {', '.join(PACKAGES)})")
    rng = np.random.default_rng(seed)
    labels = _balanced_labels(per_class, rng)
    images = np.zeros((len(labels), task.input.size, task.input.size), np.uint8)
    for i, k in enumerate(labels):
        for _ in range(3 * len(fonts)):  # a font without this glyph gives way to another
            try:
                images[i] = font_image(KANA[k], fonts[int(rng.integers(len(fonts)))], task, rng)
                break
            except (ValueError, ImageInputError):
                continue
        else:
            raise ValueError(f"none of the fonts draws {KANA[k]!r}")
    return Split(images, labels.astype(np.int64))


def _cached(name: str, build) -> Split:
    return cached_split(CACHE_DIR / f"{name}-v{CACHE_VERSION}.npz", build)


def _chunked(kind: str, per_class: int, seed: int, make) -> list[Split]:
    chunks = []
    for k in range(-(-per_class // CHUNK_PER_CLASS)):
        n = min(CHUNK_PER_CLASS, per_class - k * CHUNK_PER_CLASS)
        s = seed * 100_000 + k
        chunks.append(_cached(f"{kind}-n{n}-s{s}", lambda n=n, s=s: make(n, s)))
    return chunks


def _join(parts: list[Split]) -> Split:
    return Split(np.concatenate([p.images for p in parts]), np.concatenate([p.labels for p in parts]))


def build_split(task: TaskSpec, split: str, strokes_per_class: int | None = None) -> Split:
    """'train', 'val' or 'test' as described in the module's docstring."""
    if split not in SEEDS:
        raise ValueError(f"split must be one of {', '.join(SEEDS)}, got {split!r}")
    seed = SEEDS[split]
    per_class = strokes_per_class or (STROKES_PER_CLASS if split == "train" else STROKES_PER_CLASS // 10)
    fonts, font_n = (
        (TRAIN_FONTS, FONT_PER_CLASS)
        if split == "train"
        else (VAL_FONTS if split == "val" else TEST_FONTS, HELD_OUT_FONT_PER_CLASS)
    )
    parts = _chunked(f"{split}-strokes", per_class, seed, lambda n, s: make_strokes(n, task, s))
    font_tag = "-".join(sorted(Path(f).stem for f in fonts))
    parts += _chunked(f"{split}-fonts-{font_tag}", font_n, seed + 50, lambda n, s: make_fonts(n, task, s, fonts))
    return _join(parts)


@lru_cache(maxsize=4)
def load_split(task: TaskSpec, split: str) -> Split:
    """`data.load_split` for hiragana: 'train' or 'test' (validation comes from `train_val`)."""
    return build_split(task, split)


def train_val(task: TaskSpec) -> tuple[Split, Split]:
    return load_split(task, "train"), build_split(task, "val")


def data_files() -> tuple[Path, ...]:
    """The KanjiVG files the synthetic data is drawn from (their hash goes into the checkpoint)."""
    return tuple(svg_path(c) for c in KANA)


def mix_description() -> str:
    """The training mix in the card's words."""
    n_strokes, n_fonts = STROKES_PER_CLASS * len(KANA), FONT_PER_CLASS * len(KANA)
    return (
        f"{n_strokes + n_fonts:,} synthetic kana: {n_strokes:,} KanjiVG stroke renderings ({STROKES_PER_CLASS} per "
        f"kana) and {n_fonts:,} font renderings in {len(TRAIN_FONTS)} fonts"
    )


def licence_lines() -> list[str]:
    """Where the data comes from and under which licences (the card and the docs repeat these)."""
    from qnn_core.data.kana_strokes import KANJIVG_NOTICE

    fonts = "; ".join(f"{package} ({licence})" for package, licence in sorted(set(FONTS.values())))
    return [KANJIVG_NOTICE, f"Fonts (Debian packages, read at training time, not shipped): {fonts}."]
