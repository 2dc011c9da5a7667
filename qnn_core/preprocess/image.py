"""Any image a user gives -> the task's model input, and the map back for overlays.

The steps mirror how the training images were made: find the ink (either
polarity, or the alpha channel of a transparent canvas), crop to it, fit its
longest side into the task's box keeping the aspect ratio, and centre it
(MNIST-style by centre of mass, or by bounding box). Every bad input raises an
`ImageInputError` whose message can be shown to a person as it is.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

from qnn_core.preprocess.tensor import normalise, upsample
from qnn_core.tasks import InputSpec, TaskSpec

MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_PIXELS = 40_000_000  # larger images are refused (decompression bombs, absurd sizes)
ALLOWED_FORMATS = {"PNG", "JPEG", "WEBP", "BMP", "GIF", "MPO", "TIFF"}
UPLOAD_EXTENSIONS = (
    "png",
    "jpg",
    "jpeg",
    "webp",
    "bmp",
    "gif",
    "tif",
    "tiff",
)  # what the uploaders offer: the formats above
FORMAT_NAMES = "PNG, JPEG, WebP, BMP, GIF or TIFF"
FULL_SCALES = tuple(float(2**bits - 1) for bits in (8, 10, 12, 14, 16))  # high-bit-depth greyscale, see eight_bit
INK_THRESHOLD = 0.2  # fraction of full contrast that counts as ink
UNEVEN_PAPER = 0.04  # a fitted paper brightness that varies more than this across the image is taken out
MIN_INK_PIXELS = 12  # fewer ink pixels than this is an empty canvas or a lone dot
MIN_INK_EXTENT = 0.04  # ...and so is ink spanning less than this fraction of the image
WORK_MAX_SIDE = 1024  # larger images are shrunk first: a 28x28 input loses nothing, overlays stay cheap


class ImageInputError(ValueError):
    """A problem with the user's image, with a message meant for that user."""


class EmptyImageError(ImageInputError):
    pass


def open_image(source: str | Path | bytes | io.BytesIO | Image.Image) -> Image.Image:
    """Open and fully decode an image from a path, bytes or file object, with safety limits."""
    if isinstance(source, Image.Image):
        img = source
    else:
        if isinstance(source, (str, Path)):
            path = Path(source)
            if not path.is_file():
                raise ImageInputError(f"{path}: no such file")
            if path.stat().st_size > MAX_FILE_BYTES:
                raise ImageInputError(f"{path.name}: file is larger than {MAX_FILE_BYTES // 2**20} MB")
            data = path.read_bytes()
        else:
            data = source.getvalue() if isinstance(source, io.BytesIO) else bytes(source)
            if len(data) > MAX_FILE_BYTES:
                raise ImageInputError(f"file is larger than {MAX_FILE_BYTES // 2**20} MB")
        if not data:
            raise ImageInputError("the file is empty")
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                img = Image.open(io.BytesIO(data))
                if img.format not in ALLOWED_FORMATS:
                    raise ImageInputError(f"unsupported image type {img.format}; use {FORMAT_NAMES}")
                if img.width * img.height > MAX_PIXELS:
                    raise ImageInputError(
                        f"image is too large ({img.width}x{img.height}); "
                        f"the limit is {MAX_PIXELS // 1_000_000} megapixels"
                    )
                img.seek(0)  # the first frame of a GIF or animated WebP
                img.load()
        except ImageInputError:
            raise
        except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
            raise ImageInputError(_describe(err)) from None
        except (OSError, SyntaxError, ValueError) as err:
            raise ImageInputError(f"the image is corrupt or truncated ({err})") from None
    if img.width * img.height > MAX_PIXELS:
        raise ImageInputError(f"image is too large ({img.width}x{img.height})")
    if img.width < 1 or img.height < 1:
        raise ImageInputError("the image has no pixels")
    return eight_bit(img)


def eight_bit(img: Image.Image) -> Image.Image:
    """16-bit, 32-bit integer and float greyscale (TIFF's I;16, I and F modes) -> 8-bit "L", scaled, not clipped.

    PIL's own conversion clips (a 16-bit scan turns white, a float image in [0, 1] black). Here the values are
    divided by the full scale of the smallest common bit depth that holds them (8, 10, 12, 14 or 16 bits: a
    12-bit camera's 0..4095 fills 0..1 as a 16-bit one's 0..65535 does), float images in [0, 1] are taken as
    they are, and anything else (negative values, larger ones) is stretched from its minimum to its maximum.
    Other modes are returned as they are.
    """
    if not (img.mode in ("I", "F") or img.mode.startswith("I;16")):
        return img
    img = ImageOps.exif_transpose(img)  # the new image has no EXIF: turn it upright first
    a = np.asarray(img).astype(np.float64)
    finite = a[np.isfinite(a)]
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 0.0)
    scales = ((1.0,) if img.mode == "F" else ()) + FULL_SCALES
    full = next((f for f in scales if lo >= 0 and hi <= f), None)
    if full is not None:
        x = a / full
    else:
        x = (a - lo) / (hi - lo) if hi > lo else np.zeros_like(a)
    x = np.nan_to_num(x, nan=0.0, posinf=1.0, neginf=0.0)
    return Image.fromarray(np.round(np.clip(x, 0.0, 1.0) * 255).astype(np.uint8))  # uint8 (H, W): mode L


def _describe(err: Exception) -> str:
    if isinstance(err, UnidentifiedImageError):
        return f"not an image file ({FORMAT_NAMES} expected)"
    return f"image is too large to open safely ({err})"


def ink_map(img: Image.Image) -> np.ndarray:
    """Float (H, W) in [0, 1]: 1 where there is ink, 0 on the background, whatever the polarity."""
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = np.asarray(img.convert("RGBA"), dtype=np.float32) / 255.0
        alpha = rgba[..., 3]
        if alpha.min() < 0.95:  # a transparent background: the strokes are what is opaque
            return alpha
    grey = np.asarray(img.convert("L"), dtype=np.float32) / 255.0
    border = np.concatenate([grey[0], grey[-1], grey[:, 0], grey[:, -1]])
    background = float(np.median(border))
    dark_ink = background > 0.5
    ink = background - grey if dark_ink else grey - background
    surface = uneven_background(grey, ink, dark_ink)
    if surface is not None:
        ink = surface - grey if dark_ink else grey - surface
    peak = float(ink.max())
    if peak < 0.08:
        raise EmptyImageError("the image is blank: no strokes or object found")
    return np.clip(ink / peak, 0.0, 1.0)


def uneven_background(grey: np.ndarray, ink: np.ndarray, dark_ink: bool) -> np.ndarray | None:
    """The paper's brightness under uneven light (a lamp or a window to one side of a photo), as a smooth
    quadratic surface fitted to the pixels that are not ink; None where the paper is even, which keeps a canvas
    drawing's ink exactly as its single background level gives it.

    Without it, the darker side of the paper counts as faint ink: the crop then takes in the shadow and
    shrinks the character within it.
    """
    h, w = grey.shape
    step = max(1, int(np.sqrt(h * w / 4000)))  # a few thousand pixels decide a six-term fit
    g, k = grey[::step, ::step], ink[::step, ::step]
    ys, xs = np.indices(g.shape, dtype=np.float32) * step / max(h, w)
    basis = np.stack([np.ones_like(xs), xs, ys, xs * xs, xs * ys, ys * ys], -1).reshape(-1, 6)
    paper = (k < 0.5 * max(float(k.max()), 1e-6)).reshape(-1)
    for _ in range(3):  # refit on what is not ink under the last fit
        if paper.sum() < 12:
            return None
        a = basis[paper].astype(np.float64)  # normal equations: lstsq's LAPACK threads cost far more here
        try:
            coef = np.linalg.solve(a.T @ a, a.T @ g.reshape(-1)[paper])
        except np.linalg.LinAlgError:  # the paper seen along one line only: nothing to fit a surface to
            return None
        fit = basis @ coef
        resid = fit - g.reshape(-1) if dark_ink else g.reshape(-1) - fit
        paper = resid < max(0.05, 0.3 * float(resid.max()))
    if float(fit.max() - fit.min()) < UNEVEN_PAPER:
        return None
    x = np.arange(w, dtype=np.float32)[None, :] / max(h, w)
    y = np.arange(h, dtype=np.float32)[:, None] / max(h, w)
    c = coef.astype(np.float32)
    return c[0] + c[1] * x + c[3] * x * x + y * (c[2] + c[4] * x) + c[5] * y * y


@dataclass
class Placement:
    """Where the model's input came from in the user's image (for overlays)."""

    crop_box: tuple[int, int, int, int]  # (left, top, right, bottom) in the user's image
    scale: float  # model pixels per user pixel
    offset: tuple[float, float]  # (x, y) of the crop's top-left corner in model pixels
    image_size: tuple[int, int]  # (width, height) of the user's image
    # Photos: the whole image was stretched onto the model's square input (crop_box is the whole image).
    stretch: bool = False


def _bbox(ink: np.ndarray) -> tuple[int, int, int, int]:
    mask = ink > INK_THRESHOLD
    n = int(mask.sum())
    if n == 0:
        raise EmptyImageError("the canvas is empty: draw something first")
    rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
    top, bottom, left, right = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
    extent = max(bottom - top, right - left) / max(ink.shape)
    if n < MIN_INK_PIXELS or (extent < MIN_INK_EXTENT and max(ink.shape) > 40):
        raise EmptyImageError("only a dot was found: draw a whole character")
    return int(left), int(top), int(right), int(bottom)


def fit_ink(ink: np.ndarray, spec: InputSpec) -> tuple[np.ndarray, Placement]:
    """Crop to the ink, fit into spec.fit x spec.fit, centre in spec.size x spec.size."""
    left, top, right, bottom = _bbox(ink)
    crop = ink[top:bottom, left:right]
    h, w = crop.shape
    scale = spec.fit / max(h, w)
    new_w, new_h = max(1, round(w * scale)), max(1, round(h * scale))
    small = Image.fromarray((crop * 255).astype(np.uint8)).resize((new_w, new_h), Image.Resampling.LANCZOS)
    small_arr = np.asarray(small, dtype=np.float32) / 255.0
    out = np.zeros((spec.size, spec.size), np.float32)
    if spec.centre == "mass" and small_arr.sum() > 0:
        ys, xs = np.indices(small_arr.shape)
        cy, cx = (small_arr * ys).sum() / small_arr.sum(), (small_arr * xs).sum() / small_arr.sum()
        ox, oy = spec.size / 2 - cx - 0.5, spec.size / 2 - cy - 0.5
    else:
        ox, oy = (spec.size - new_w) / 2, (spec.size - new_h) / 2
    ox = int(round(min(max(ox, 0), spec.size - new_w)))
    oy = int(round(min(max(oy, 0), spec.size - new_h)))
    out[oy : oy + new_h, ox : ox + new_w] = small_arr
    placement = Placement((left, top, right, bottom), new_w / w, (ox, oy), (ink.shape[1], ink.shape[0]))
    return out, placement


@dataclass
class Prepared:
    tensor: torch.Tensor  # (1, C, H, W), normalised: what the model sees
    pixels: np.ndarray  # (H, W) in [0, 1], ink bright, or (H, W, 3) for photos: what a person should be shown
    placement: Placement  # relative to `image`
    image: Image.Image  # the user's image (shrunk to WORK_MAX_SIDE), for overlays


def prepare(source, task: TaskSpec) -> Prepared:
    """The whole path from a user's file, bytes or PIL image to the model's input."""
    if task.input.kind == "photo":
        return prepare_photo(source, task.input)
    img = working_copy(open_image(source))
    pixels, placement = fit_ink(ink_map(img), task.input)
    return Prepared(normalise(torch.from_numpy(pixels)[None, None], task.input), pixels, placement, img)


def photo_pixels(img: Image.Image, spec: InputSpec, resize: str | None = None) -> np.ndarray:
    """An upright RGB photo -> float (size, size, 3) in [0, 1], the whole frame stretched to a square.

    resize "match": shrink to the training images' side first (antialiased), then upsample exactly as
    the training images were, so a sharp photo is as blurry as what the model learnt from;
    "full": straight to the model's size, keeping the photo's detail.
    """
    resize = resize or spec.photo_resize
    rgb = img.convert("RGB")
    if resize == "match" and spec.native:
        small = np.asarray(
            rgb.resize(
                (spec.native, spec.native),
                Image.Resampling.BOX if min(rgb.size) >= 2 * spec.native else Image.Resampling.BICUBIC,
            )
        )
        x = upsample(small[None], InputSpec(size=spec.size, channels=3, mean=(0.0,) * 3, std=(1.0,) * 3))
        return x[0].permute(1, 2, 0).numpy()
    if resize not in ("match", "full"):
        raise ValueError(f"unknown photo resize {resize!r}")
    return np.asarray(rgb.resize((spec.size, spec.size), Image.Resampling.LANCZOS), dtype=np.float32) / 255.0


def prepare_photo(source, spec: InputSpec, resize: str | None = None) -> Prepared:
    """A photo of any size (EXIF-rotated, CMYK, greyscale, palette...) -> the RGB model input."""
    img = working_copy(open_image(source))
    if img.mode not in ("RGB", "L"):  # CMYK, palette, alpha: show and classify it as RGB on white
        rgba = img.convert("RGBA")
        img = Image.alpha_composite(Image.new("RGBA", rgba.size, (255, 255, 255, 255)), rgba).convert("RGB")
    pixels = photo_pixels(img, spec, resize)
    tensor = normalise(torch.from_numpy(pixels).permute(2, 0, 1)[None].float(), spec)
    placement = Placement((0, 0, img.width, img.height), spec.size / max(img.size), (0, 0), img.size, stretch=True)
    return Prepared(tensor, pixels, placement, img)


def working_copy(img: Image.Image) -> Image.Image:
    """Upright (EXIF), first frame, at most WORK_MAX_SIDE on its longest side."""
    img = ImageOps.exif_transpose(img)
    if max(img.size) > WORK_MAX_SIDE:
        img = img.copy()
        img.thumbnail((WORK_MAX_SIDE, WORK_MAX_SIDE), Image.Resampling.LANCZOS)
    return img


def to_user_image(heat: np.ndarray, placement: Placement) -> np.ndarray:
    """Map a (size, size) map on the model input back onto the user's image (H, W), zeros outside the crop."""
    if placement.stretch:
        w, h = placement.image_size
        return np.asarray(Image.fromarray(heat.astype(np.float32), mode="F").resize((w, h), Image.Resampling.BILINEAR))
    left, top, right, bottom = placement.crop_box
    ox, oy = placement.offset
    w, h = right - left, bottom - top
    new_w, new_h = max(1, round(w * placement.scale)), max(1, round(h * placement.scale))
    region = heat[oy : oy + new_h, ox : ox + new_w].astype(np.float32)
    back = np.asarray(Image.fromarray(region, mode="F").resize((w, h), Image.Resampling.BILINEAR))
    full = np.zeros((placement.image_size[1], placement.image_size[0]), np.float32)
    full[top:bottom, left:right] = back
    return full
