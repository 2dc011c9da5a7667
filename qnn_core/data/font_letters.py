"""Synthetic letters from handwriting-style outline fonts, shaped like people's print rather than a plotter's.

The Hershey faces (synthetic_letters.py) are few and regular; real writers differ from them and from each
other in proportion, roundness and the way they make an a, g or t. These Debian font packages imitate
real hands (a marker, a felt pen, a brush, a school print). Each sample: a font and a case, the glyph
rendered large, a random affine map (rotation, slant, width), a random stroke weight, then the app's own
fitting (`fit_ink`), so it reaches the model as an upload would. (Outline-only faces such as
fonts-femkeklaver's capitals are left out: nobody writes hollow letters.)

Fonts and their licences (from each package's debian/copyright; the fonts are read, never shipped):
FONTS below. setup.sh installs the packages; a font that is missing is left out, and `available()` says
which are there, so the model card records the mix a run really had.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from qnn_core.preprocess.image import ImageInputError, fit_ink
from qnn_core.tasks import TaskSpec

LETTERS = "abcdefghijklmnopqrstuvwxyz"
FONT_DIRS = (Path("/usr/share/fonts/truetype"), Path("/usr/share/fonts/opentype"))
# file (under FONT_DIRS) -> (Debian package, licence of the font files)
FONTS: dict[str, tuple[str, str]] = {
    "fifthhorseman/dkg.ttf": ("fonts-dkg-handwriting", "GPL-3+ (font sources also OFL-1.1)"),
    "fifthhorseman/dkgIt.ttf": ("fonts-dkg-handwriting", "GPL-3+ (font sources also OFL-1.1)"),
    "breip/Breip.ttf": ("fonts-breip", "OFL-1.0"),
    "bwht/BecauseWeLearn-Regular.otf": ("fonts-bwht", "OFL-1.1"),
    "bwht/BecauseWeOrganize-Regular.otf": ("fonts-bwht", "OFL-1.1"),
    "bwht/BecauseWeMentor-Regular.otf": ("fonts-bwht", "OFL-1.1"),
    "bwht/BecauseWeConnect-Regular.otf": ("fonts-bwht", "OFL-1.1"),
    "bwht/BecauseWeBuild-Regular.otf": ("fonts-bwht", "OFL-1.1"),
    "bwht/BecauseWeCreate-Regular.otf": ("fonts-bwht", "OFL-1.1"),
    "humor-sans/Humor-Sans.ttf": ("fonts-humor-sans", "OFL-1.1"),
    "comic-neue/ComicNeue-Regular.otf": ("fonts-comic-neue", "OFL-1.1"),
    "comic-neue/ComicNeue-Italic.otf": ("fonts-comic-neue", "OFL-1.1"),
    "comic-neue/ComicNeue-Light.otf": ("fonts-comic-neue", "OFL-1.1"),
    "kaushanscript/KaushanScript-Regular.otf": ("fonts-kaushanscript", "OFL-1.1"),
    "dancingscript/DancingScript-Regular.otf": ("fonts-dancingscript", "OFL-1.1"),
}
PACKAGES = tuple(sorted({package for package, _ in FONTS.values()}))
GLYPH_PX = 120  # font size the glyphs are drawn at, before the model's 28 pixels


def font_path(name: str) -> Path | None:
    return next((d / name for d in FONT_DIRS if (d / name).is_file()), None)


def available() -> tuple[str, ...]:
    """The fonts of FONTS installed here."""
    return tuple(name for name in FONTS if font_path(name) is not None)


@cache
def _font(name: str) -> ImageFont.FreeTypeFont:
    path = font_path(name)
    if path is None:
        raise FileNotFoundError(f"font {name} is not installed (Debian package {FONTS[name][0]})")
    return ImageFont.truetype(str(path), GLYPH_PX)


def glyph(name: str, char: str) -> np.ndarray:
    """One character of a font, ink bright, float (H, W) in [0, 1] with a margin around it."""
    font = _font(name)
    left, top, right, bottom = font.getbbox(char)
    if right - left < 2 or bottom - top < 2:
        raise ValueError(f"font {name} draws nothing for {char!r}")
    img = Image.new("L", (right - left + GLYPH_PX, bottom - top + GLYPH_PX), 0)
    ImageDraw.Draw(img).text((GLYPH_PX // 2 - left, GLYPH_PX // 2 - top), char, fill=255, font=font)
    return np.asarray(img, np.float32) / 255


def bend(
    ink: np.ndarray,
    rng: np.random.Generator,
    rotate_deg: float = 10.0,
    slant: float = 0.35,
    aspect: tuple[float, float] = (0.75, 1.25),
) -> np.ndarray:
    """A random rotation, slant and width about the centre, and a random stroke weight."""
    h, w = ink.shape
    angle = np.deg2rad(rng.uniform(-rotate_deg, rotate_deg))
    cos, sin = np.cos(angle), np.sin(angle)
    forward = (
        np.array([[cos, -sin], [sin, cos]])
        @ np.array([[1.0, rng.uniform(-slant, slant)], [0.0, 1.0]])
        @ np.diag([rng.uniform(*aspect), 1.0])
    )
    inverse = np.linalg.inv(forward)  # PIL maps output pixels back to input pixels
    centre = np.array([w / 2, h / 2])
    offset = centre - inverse @ centre
    coeffs = (inverse[0, 0], inverse[0, 1], offset[0], inverse[1, 0], inverse[1, 1], offset[1])
    img = Image.fromarray(np.round(ink * 255).astype(np.uint8)).transform(
        (w, h), Image.Transform.AFFINE, coeffs, resample=Image.Resampling.BILINEAR
    )
    weight = rng.random()
    if weight < 0.3:  # a broader pen
        img = img.filter(ImageFilter.MaxFilter(int(rng.choice([3, 5, 7]))))
    elif weight < 0.45:  # a finer one
        img = img.filter(ImageFilter.MinFilter(3))
    return np.asarray(img, np.float32) / 255


def generate(n: int, task: TaskSpec, seed: int, fonts: tuple[str, ...] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """n font letters as (uint8 images (n, size, size), int64 labels); classes balanced, cases mixed, fonts
    taken evenly from `fonts` (default: every installed one)."""
    fonts = fonts or available()
    if not fonts:
        raise FileNotFoundError(f"no handwriting font is installed (Debian packages {', '.join(PACKAGES)})")
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % len(LETTERS)
    rng.shuffle(labels)
    images = np.zeros((n, task.input.size, task.input.size), np.uint8)
    for i, label in enumerate(labels):
        char = LETTERS[label].upper() if rng.random() < 0.5 else LETTERS[label]
        for _ in range(len(fonts)):  # a font without this glyph gives way to another
            try:
                pixels, _ = fit_ink(bend(glyph(fonts[int(rng.integers(len(fonts)))], char), rng), task.input)
                break
            except (ValueError, ImageInputError):
                continue
        else:
            raise ValueError(f"none of the fonts draws {char!r}")
        images[i] = np.round(pixels * 255).astype(np.uint8)
    return images, labels.astype(np.int64)
