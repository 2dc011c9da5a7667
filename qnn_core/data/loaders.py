"""Loaders for the real data sets named in the task registry.

Images come back as uint8 arrays (N, H, W) with light ink on a dark background,
already in the task's canonical orientation. A user may point `root` at their
own copy of the original files; torchvision's download is used only when asked.
"""

from __future__ import annotations

import gzip
import io
import zipfile
from pathlib import Path

import numpy as np

from qnn_core.data import hiragana, letters
from qnn_core.data.split import DataNotFoundError, Split, orient, validation_split
from qnn_core.tasks import TaskSpec


def _find(root: Path, name: str, torchvision_name: str | None) -> Path:
    """A data file under root, gzipped or not, also in torchvision's <Name>/raw layout."""
    stems = [name, name[:-3]] if name.endswith(".gz") else [name, name + ".gz"]
    folders = [root] + ([root / torchvision_name / "raw"] if torchvision_name else [])
    for folder in folders:
        for stem in stems:
            if (folder / stem).is_file():
                return folder / stem
    raise DataNotFoundError(f"{name} not found under {root}")


def _read_idx(path: Path) -> np.ndarray:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        raw = f.read()
    ndim = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim).reshape(shape)


def _read(path: Path, kind: str) -> np.ndarray:
    if kind == "idx":
        return _read_idx(path)
    if kind == "npz":
        with np.load(path) as z:
            return z["arr_0"]
    raise ValueError(f"unknown data kind {kind!r}")


def _read_zip_jpeg(path: Path, split: str, classes: tuple[str, ...], size: int = 0) -> Split:
    """Colour images (N, H, W, 3) from `<split>/<class>/<name>.jpg` entries, in sorted-name order.

    size 0: stored as they are (CIFAR's, all 32 px); otherwise each photo is stretched to size x size exactly as
    a served photo is (preprocess.image.photo_pixels, "full"), since photos of many shapes cannot be stacked and a
    model must learn from the pixels it will be served.
    """
    from PIL import Image, ImageOps

    def read(data: bytes) -> np.ndarray:
        img = Image.open(io.BytesIO(data))
        if not size:
            return np.asarray(img.convert("RGB"))
        rgb = ImageOps.exif_transpose(img).convert("RGB")
        return np.asarray(rgb.resize((size, size), Image.Resampling.LANCZOS))

    with zipfile.ZipFile(path) as z:
        names = sorted(n for n in z.namelist() if n.startswith(split + "/") and n.lower().endswith((".jpg", ".jpeg")))
        if not names:
            raise DataNotFoundError(f"{path} has no {split}/<class>/*.jpg entries")
        unknown = sorted({n.split("/")[1] for n in names} - set(classes))
        if unknown:
            raise ValueError(f"{path}: {split}/ holds folders that are not classes of the task: {', '.join(unknown)}")
        images = np.stack([read(z.read(n)) for n in names])
    labels = np.array([classes.index(n.split("/")[1]) for n in names], dtype=np.int64)
    return Split(images, labels)


def _zip_size(task: TaskSpec) -> int:
    """The side a zip's photos are stored at: their own for a data set of one size (`native`), else the input's."""
    return 0 if task.input.native else task.input.size


def data_files(task: TaskSpec, split: str, root: str | Path | None = None) -> tuple[Path, ...]:
    if task.data.kind == "kanjivg":  # synthetic: the stroke files it is drawn from
        return hiragana.data_files()
    root = Path(root) if root else task.data.default_root
    names = {"train": task.data.train, "val": task.data.val}.get(split) or task.data.test
    if task.data.kind == "zip_jpeg":  # one zip holds both splits
        return (_find(root, names[0], None),)
    return tuple(_find(root, n, task.data.torchvision_name) for n in names)  # type: ignore[return-value]


def has_split(task: TaskSpec, split: str, root: str | Path | None = None) -> bool:
    """Whether a split's files are here (a data set may keep its test split apart, as clothes does)."""
    try:
        data_files(task, split, root)
    except DataNotFoundError:
        return False
    return True


def _download(task: TaskSpec, split: str, root: Path) -> Split:
    import torchvision.datasets as tvd  # only for users with internet who asked for it

    cls = getattr(tvd, task.data.torchvision_name)
    extra = {"split": "letters"} if task.data.torchvision_name == "EMNIST" else {}
    ds = cls(str(root), train=(split == "train"), download=True, **extra)
    images = orient(ds.data.numpy().astype(np.uint8), task.data.orientation)
    return Split(images, ds.targets.numpy().astype(np.int64) - task.data.label_offset)


def load_split(task: TaskSpec, split: str, root: str | Path | None = None, download: bool = False) -> Split:
    """The official 'train' or 'test' split of a task's data set."""
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    if task.data.kind == "strokes":  # pen strokes drawn like a canvas (letters.py)
        return letters.load_stroke_split(task, split, root)
    if task.data.kind == "kanjivg":  # synthetic kana from strokes and fonts (hiragana.py)
        return hiragana.load_split(task, split)
    try:
        files = data_files(task, split, root)
        img_path, lbl_path = files if len(files) == 2 else (files[0], files[0])
    except DataNotFoundError as err:
        if not download:
            hint = " (install it with: apt-get install dataset-fashion-mnist)" if task.name == "fashion" else ""
            raise DataNotFoundError(
                f"{err}{hint}; pass a data root with the original files, or --download to fetch them with torchvision"
            ) from None
        if task.data.torchvision_name is None:
            raise
        return _download(task, split, Path(root or ".cache/data"))
    if task.data.kind == "zip_jpeg":
        return _read_zip_jpeg(
            files[0], (task.data.test if split == "test" else task.data.train)[1], task.classes, _zip_size(task)
        )
    images = orient(_read(img_path, task.data.kind), task.data.orientation)
    labels = _read(lbl_path, task.data.kind).astype(np.int64) - task.data.label_offset
    if len(images) != len(labels):
        raise ValueError(f"{img_path} has {len(images)} images but {lbl_path} has {len(labels)} labels")
    return Split(images, labels)


def load_train_val(
    task: TaskSpec, root: str | Path | None = None, download: bool = False, mix: str = "mixed"
) -> tuple[Split, Split]:
    """Training and validation data: for stroke tasks writer-disjoint and with synthetic letters (letters.py)."""
    if task.data.kind == "strokes":
        return letters.train_val(task, root, mix=mix)
    if task.data.kind == "kanjivg":
        return hiragana.train_val(task)
    if task.data.val is not None:  # the data set's own validation split (clothes)
        path = data_files(task, "val", root)[0]
        return load_split(task, "train", root), _read_zip_jpeg(path, task.data.val[1], task.classes, _zip_size(task))
    return validation_split(task, load_split(task, "train", root, download))


def load_holdout(task: TaskSpec) -> Split:
    """A task's held-out real set, for measurement only (letters: UJI Pen Characters v1, 11 other writers)."""
    if task.data.kind == "strokes":
        if not letters.UJI_ZIP.is_file():
            raise DataNotFoundError(f"{letters.UJI_ZIP} not found")
        return letters.load_holdout(task)
    raise DataNotFoundError(f"task {task.name!r} has no held-out set")
