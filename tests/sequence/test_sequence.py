"""Reading a line: segmentation, the lattice, dictionary decoding, the read CLI and its errors."""

import io
import json
import subprocess
import sys

import numpy as np
import pytest
from helpers import ROOT
from PIL import Image, ImageDraw

from qnn_core.data import proxies
from qnn_core.data.compose import POLARITIES, compose_ink, compose_line, render
from qnn_core.data.loaders import load_split
from qnn_core.inference.predict import Predictor
from qnn_core.preprocess.image import EmptyImageError, ImageInputError, ink_map, open_image, to_user_image
from qnn_core.sequence import read
from qnn_core.sequence.lattice import Lattice, best_path, sequence_scores
from qnn_core.sequence.reader import SequenceInputError, format_phone, read_line
from qnn_core.sequence.segment import params_for, segment_line
from qnn_core.sequence.words import Dictionary, decode, load_words
from qnn_core.tasks import get_task

MNIST, KMNIST = get_task("mnist"), get_task("kmnist")


@pytest.fixture(scope="module")
def mnist_test():
    return load_split(MNIST, "test")


@pytest.fixture(scope="module")
def digits_model():
    return Predictor("mnist")


def cells_for(split, text: str, classes, seed: int = 0) -> tuple[list[np.ndarray], list[int]]:
    rng = np.random.default_rng(seed)
    labels = [classes.index(ch) for ch in text]
    return [split.images[rng.choice(np.flatnonzero(split.labels == c))] for c in labels], labels


def png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def iou(a, b) -> float:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    w = max(0, min(ax + aw, bx + bw) - max(ax, bx))
    h = max(0, min(ay + ah, by + bh) - max(ay, by))
    return w * h / (aw * ah + bw * bh - w * h)


# --- segmentation ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("polarity", POLARITIES)
def test_segments_a_composed_strip_in_each_look(mnist_test, polarity):
    cells, labels = cells_for(mnist_test, "3141592653", MNIST.classes, seed=1)
    line = compose_line(cells, labels, np.random.default_rng(7), polarity=polarity)
    assert Image.open(io.BytesIO(line.image)).mode == ("RGBA" if polarity == "transparent" else "RGB")
    seg = segment_line(ink_map(open_image(line.image)))
    assert len(seg.boxes) == 10
    assert [b[0] for b in seg.boxes] == sorted(b[0] for b in seg.boxes)  # left to right
    for found, true in zip(seg.boxes, line.boxes):
        assert iou(found, true) > 0.75, (found, true)


@pytest.mark.parametrize("style", proxies.STYLES)
def test_a_strip_re_made_as_a_picture_keeps_its_shape_and_is_read(mnist_test, digits_model, style):
    cells, labels = cells_for(mnist_test, "3141592653", MNIST.classes, seed=2)
    line = compose_line(cells, labels, np.random.default_rng(3), proxy=style)
    pic = Image.open(io.BytesIO(line.image))
    assert line.polarity == style and pic.width > 2 * pic.height  # a line, not squeezed into a square
    assert len(read_line(digits_model, line.image, expect=10).text) == 10


def test_sizes_heights_and_uneven_gaps(mnist_test):
    cells, labels = cells_for(mnist_test, "90210", MNIST.classes, seed=2)
    rng = np.random.default_rng(3)
    ink, boxes = compose_ink(cells, rng, gaps=[0.15, 1.6, 0.2, 0.9])
    # Make the third digit much smaller and lower, as people do.
    x, y, w, h = boxes[2]
    small = np.asarray(
        Image.fromarray((ink[y : y + h, x : x + w] * 255).astype(np.uint8)).resize((w * 2 // 3, h * 2 // 3))
    )
    ink[y : y + h, x : x + w] = 0
    ink[y + h // 3 : y + h // 3 + small.shape[0], x : x + small.shape[1]] = small / 255.0
    seg = segment_line(ink)
    assert len(seg.boxes) == 5
    assert abs(seg.boxes[2][3] - small.shape[0]) <= 3


def draw_strokes(strokes: list[list[tuple[int, int]]], size=(520, 160), width=9) -> Image.Image:
    img = Image.new("RGB", size, "white")
    d = ImageDraw.Draw(img)
    for s in strokes:
        d.line(s, fill="black", width=width, joint="curve")
    return img


def test_a_character_drawn_in_separate_strokes_stays_one_segment():
    # "1", then a "5" whose top bar does not touch its body, then a は-like kana of two side-by-side strokes.
    one = [[(60, 40), (60, 120)]]
    five = [[(170, 40), (215, 40)], [(165, 52), (160, 80), (200, 78), (210, 100), (195, 120), (160, 118)]]
    ha = [[(300, 40), (295, 120)], [(312, 60), (360, 60)], [(335, 40), (338, 115), (318, 108), (360, 95)]]
    seg = segment_line(ink_map(draw_strokes([*one, *five, *ha])))
    assert len(seg.boxes) == 3
    x, y, w, h = seg.boxes[1]
    assert x <= 160 - 4 and x + w >= 215 and y <= 40 - 4 and y + h >= 120  # the bar and the body together
    x, _, w, _ = seg.boxes[2]
    assert x <= 295 and x + w >= 360


def test_a_kana_wider_than_tall_can_be_one_character():
    # Two loops 15 px apart that make one wide character (1.9 line heights), then the next character.
    img = Image.new("L", (240, 100), 0)
    d = ImageDraw.Draw(img)
    for box in ([20, 20, 62, 80], [77, 20, 125, 80], [150, 20, 200, 80]):
        d.ellipse(box, outline=255, width=8)
    seg = segment_line(np.asarray(img, np.float32) / 255, expect=2, params=params_for("kmnist"))
    assert [(x, x + w) for x, _, w, _ in seg.boxes] == [(20, 126), (150, 201)]


def touching_strip(split, text: str, touch: int, seed: int) -> tuple[bytes, list[tuple[int, int, int, int]]]:
    """A strip where characters `touch` and `touch + 1` overlap and are joined by a stroke."""
    cells, labels = cells_for(split, text, MNIST.classes, seed=seed)
    gaps = [0.5] * (len(text) - 1)
    gaps[touch] = -0.12
    ink, boxes = compose_ink(cells, np.random.default_rng(5), gaps=gaps)
    (ax, ay, aw, ah), (bx, by, bw, bh) = boxes[touch], boxes[touch + 1]
    mid = (max(ay, by) + min(ay + ah, by + bh)) // 2
    ink[mid - 2 : mid + 3, ax + aw // 2 : bx + bw // 2] = 1.0  # a ligature: one blob for sure
    return render(ink, "dark-on-light", np.random.default_rng(0)), boxes


@pytest.mark.parametrize("seed", range(100, 105))
def test_touching_characters_are_split_when_the_count_is_known(mnist_test, digits_model, seed):
    from scipy import ndimage

    image, boxes = touching_strip(mnist_test, "4736", touch=1, seed=seed)
    ink = ink_map(open_image(image))
    assert ndimage.label(ink > 0.2, structure=np.ones((3, 3)))[1] <= 3  # 7 and 3 really are one blob
    assert len(segment_line(ink, expect=4).boxes) == 4  # geometry alone can cut it
    reading = read_line(digits_model, image, expect=4)
    assert reading.count_ok and reading.text == "4736"
    cut = reading.chars[2].box[0]
    assert boxes[1][0] + boxes[1][2] / 2 < cut < boxes[2][0] + boxes[2][2] / 2  # between the 7's and the 3's centres


# --- the lattice ---------------------------------------------------------------------------------------------


def random_lattice(rng, m=6, classes=4) -> Lattice:
    spans = [(i, j) for i in range(m) for j in range(i + 1, min(m, i + 3) + 1)]
    return Lattice(
        spans,
        np.log(rng.dirichlet(np.ones(classes), len(spans))),
        rng.normal(0, 1, len(spans)),
        np.r_[0, rng.normal(0, 1, m - 1), 0],
        m,
    )


def brute_force(lat: Lattice, labels=None, count=None) -> float:
    best = -np.inf

    def walk(pos, used, score):
        nonlocal best
        if pos == lat.n_pieces:
            if (labels is None or used == len(labels)) and (count is None or used == count):
                best = max(best, score)
            return
        for k, (i, j) in enumerate(lat.spans):
            if i == pos and (labels is None or used < len(labels)):
                gain = lat.logp[k, labels[used]] if labels is not None else lat.logp[k].max()
                walk(j, used + 1, score + lat.boundary[i] + lat.geo[k] + gain)

    walk(0, 0, 0.0)
    return best


def test_lattice_search_matches_brute_force():
    rng = np.random.default_rng(0)
    for _ in range(20):
        lat = random_lattice(rng)
        assert best_path(lat).score == pytest.approx(brute_force(lat))
        assert best_path(lat, count=3).score == pytest.approx(brute_force(lat, count=3))
        seqs = rng.integers(0, 4, (5, 3))
        scores = sequence_scores(lat, seqs)
        for s, seq in zip(scores, seqs):
            assert s == pytest.approx(brute_force(lat, labels=list(seq)))
            assert best_path(lat, labels=seq).score == pytest.approx(s)
    assert best_path(random_lattice(rng, m=2), count=5) is None


# --- dictionary decoding on hand-set probability tables --------------------------------------------------------


@pytest.fixture(scope="module")
def kana_words():
    return Dictionary(load_words(KMNIST.words), KMNIST.classes)


def table(rows: list[dict[str, float]], floor: float = 0.005) -> np.ndarray:
    """Log-probabilities from {kana: prob} rows; the rest of each row shared out evenly."""
    out = np.full((len(rows), 10), floor)
    for r, row in enumerate(rows):
        for ch, p in row.items():
            out[r, KMNIST.classes.index(ch)] = p
        rest = [i for i in range(10) if KMNIST.classes[i] not in row]
        out[r, rest] = (1 - sum(row.values())) / len(rest)
    return np.log(out)


def one_per_piece(rows) -> Lattice:
    n = len(rows)
    return Lattice([(i, i + 1) for i in range(n)], table(rows), np.zeros(n), np.zeros(n + 1), n)


def test_dictionary_corrects_a_misread_character(kana_words):
    lat = one_per_piece([{"す": 0.9}, {"き": 0.8}, {"ま": 0.5, "や": 0.45}, {"き": 0.9}])
    raw, matches = decode(lat, kana_words)
    assert "".join(KMNIST.classes[c] for c in raw.classes) == "すきまき"
    assert matches[0].word.kana == "すきやき" and matches[0].accepted
    assert matches[0].word.romaji == "sukiyaki"
    assert matches[0].cost == pytest.approx(np.log(0.5 / 0.45), abs=1e-6)


def test_a_clear_non_word_is_not_forced_into_the_dictionary(kana_words):
    lat = one_per_piece([{"を": 0.97}, {"を": 0.97}, {"を": 0.97}])
    raw, matches = decode(lat, kana_words)
    assert "".join(KMNIST.classes[c] for c in raw.classes) == "ををを"
    assert matches and not matches[0].accepted  # the best word would overrule the model by far too much
    assert matches[0].cost > 5


def test_one_segmentation_error_is_forgiven(kana_words):
    # すきやき where や came out as two pieces (2 and 3): alone they are nothing much, together a clear や.
    rows = [{"す": 0.9}, {"き": 0.9}, {"れ": 0.4}, {"つ": 0.4}, {"き": 0.9}, {"や": 0.92}]
    spans = [(0, 1), (1, 2), (2, 3), (3, 4), (4, 5), (2, 4)]
    geo = np.array([0, 0, 0, 0, 0, -0.5])  # the merged candidate is a little wide
    lat = Lattice(spans, table(rows), geo, np.zeros(6), 5)
    raw, matches = decode(lat, kana_words)
    assert matches[0].word.kana == "すきやき" and matches[0].accepted
    assert [lat.spans[k] for k in matches[0].path.candidates] == [(0, 1), (1, 2), (2, 4), (4, 5)]
    # ... and two characters run together into one piece: the split (a cut through ink) is taken for a word.
    rows = [{"は": 0.9}, {"を": 0.5}, {"な": 0.8}, {"や": 0.7}]  # candidate 1 is the blob, 2 and 3 its halves
    spans = [(0, 1), (1, 3), (1, 2), (2, 3)]
    boundary = np.array([0, 1.0, -1.0, 0])  # a clear gap before piece 1, a cut between pieces 1 and 2
    lat = Lattice(spans, table(rows), np.array([0, -0.5, 0, 0]), boundary, 3)
    raw, matches = decode(lat, kana_words)
    assert "".join(KMNIST.classes[c] for c in raw.classes) == "はを"  # not a word
    assert matches[0].word.kana == "はなや" and matches[0].accepted  # florist


# --- whole readings with the shipped models --------------------------------------------------------------------


def test_phone_number_and_grad_cam_placements(mnist_test, digits_model):
    cells, labels = cells_for(mnist_test, "0123456789", MNIST.classes, seed=6)
    line = compose_line(cells, labels, np.random.default_rng(8), polarity="transparent")
    reading = read_line(digits_model, line.image, expect=10)
    assert reading.count_ok and reading.text == "0123456789"
    assert format_phone(reading.text) == "012-345-6789"
    width, height = Image.open(io.BytesIO(line.image)).size
    for char, true_box in zip(reading.chars, line.boxes):
        assert iou(char.box, true_box) > 0.75
        assert char.prepared.tensor.shape == (1, 1, 28, 28) and char.probs.shape == (10,)
        heat = to_user_image(np.ones((28, 28), np.float32), char.prepared.placement)
        assert heat.shape == (height, width)
        ys, xs = np.nonzero(heat)
        x, y, w, h = char.box
        assert x - 2 <= xs.min() and xs.max() <= x + w + 2 and y - 2 <= ys.min() and ys.max() <= y + h + 2


def test_a_missing_digit_is_reported_not_guessed(mnist_test, digits_model):
    cells, labels = cells_for(mnist_test, "012345678", MNIST.classes, seed=9)
    line = compose_line(cells, labels, np.random.default_rng(10))
    reading = read_line(digits_model, line.image, expect=10)
    assert not reading.count_ok and len(reading.chars) == 9
    assert "found 9 characters, but 10 were expected" in reading.notes[0]


def test_kana_word_with_the_shipped_model():
    test = load_split(KMNIST, "test")
    cells, labels = cells_for(test, "すきやき", KMNIST.classes, seed=11)
    line = compose_line(cells, labels, np.random.default_rng(12), polarity="light-on-dark")
    reading = read_line(Predictor("kmnist"), line.image)
    assert reading.text == "すきやき"
    assert reading.word is not None and reading.word.word.english


# --- the CLI and its errors ------------------------------------------------------------------------------------


@pytest.mark.slow
def test_read_cli_json_for_a_phone_number(tmp_path, mnist_test, tiny_checkpoint):
    cells, labels = cells_for(mnist_test, "5551234567", MNIST.classes, seed=13)
    path = tmp_path / "phone.png"
    path.write_bytes(compose_line(cells, labels, np.random.default_rng(14), polarity="dark-on-light").image)
    r = subprocess.run(
        [sys.executable, "-m", "qnn_core", "read", "--phone", str(path), "--checkpoint", str(tiny_checkpoint)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert set(out) >= {"text", "chars", "phone", "count_ok", "notes", "low_confidence"}
    assert len(out["chars"]) == 10 and out["count_ok"]
    assert out["phone"] == f"{out['text'][:3]}-{out['text'][3:6]}-{out['text'][6:]}"
    for c in out["chars"]:
        assert set(c) >= {"label", "prob", "box", "top"} and len(c["box"]) == 4
        assert c["label"] in MNIST.classes and 0 <= c["prob"] <= 1
        assert c["top"][0][0] == c["label"]


def test_read_cli_json_for_a_kana_word(tmp_path, capsys):
    test = load_split(KMNIST, "test")
    cells, labels = cells_for(test, "はなや", KMNIST.classes, seed=15)
    path = tmp_path / "word.png"
    path.write_bytes(compose_line(cells, labels, np.random.default_rng(16), polarity="transparent").image)
    assert read.main(["--task", "kmnist", str(path)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out["word"]) >= {"kana", "romaji", "english", "score"}
    assert out["word"]["kana"] == out["text"] == "はなや" and out["word"]["romaji"] == "hanaya"
    assert out["alternatives"][0]["kana"] == "はなや" and len(out["alternatives"]) > 1


def test_empty_strip_is_a_clear_error(tmp_path, capsys):
    blank = Image.new("RGBA", (600, 150), (0, 0, 0, 0))
    with pytest.raises(EmptyImageError):
        read_line(Predictor("mnist"), png(blank))
    path = tmp_path / "blank.png"
    path.write_bytes(png(Image.new("RGB", (600, 150), "white")))
    assert read.main(["--task", "mnist", str(path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: {path}: ") and "blank" in err and err.count("\n") == 1


@pytest.mark.parametrize("expect", [None, 10])
def test_one_character_is_not_a_line(mnist_test, digits_model, expect):
    cells, labels = cells_for(mnist_test, "7", MNIST.classes, seed=17)
    ink, _ = compose_ink(cells, np.random.default_rng(18))
    canvas = np.zeros((ink.shape[0], ink.shape[1] * 5), np.float32)
    canvas[:, : ink.shape[1]] = ink
    image = render(canvas, "dark-on-light", np.random.default_rng(0))
    with pytest.raises(SequenceInputError, match="only one character") as info:
        read_line(digits_model, image, expect=expect)
    assert isinstance(info.value, ImageInputError)


def test_format_phone():
    assert format_phone("0123456789") == "012-345-6789"
    assert format_phone("012345678") is None and format_phone("01234x6789") is None


def test_sequence_eval_proxy_reads_every_style_and_has_its_own_readme_row():
    from qnn_core.sequence import eval as sequence_eval

    r = sequence_eval.run(MNIST, 3, 0, split_name="val", proxy=True)
    assert r["proxy"] and set(r["phone_expect_10"]["sequence_accuracy_by_look"]) == set(proxies.STYLES)
    table = sequence_eval.readme_table([{**r, "proxy": False}, r])
    assert table.count("re-made as people's pictures") == 1 and "--proxy --json --n 3" in table
