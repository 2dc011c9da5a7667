"""The line-reading UI shared by the task pages (a phone number on Digits, a word on Kana, any row of letters).

Draw on a wide canvas, upload a photo, or compose an example from test images; see the segmented characters
boxed on the image, the text, each character's confidence and its Grad-CAM. All the reading is done by
`TaskService.read_line`; this module only shows it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st
from PIL import Image, ImageDraw, ImageFont

from qnn_core.service import (
    LOW_CONFIDENCE,
    UPLOAD_EXTENSIONS,
    EmptyImageError,
    ImageInputError,
    SequenceInputError,
    TaskService,
    format_phone,
    max_overrule_for,
)
from qnn_core.tasks import TaskSpec

OK_COLOUR, LOW_COLOUR = "#2E9E4F", "#E8730C"
MIN_SHOWN_WIDTH, MAX_SHOWN_WIDTH = 360, 1100  # pixels: the boxed line at its own size, within these bounds


@dataclass(frozen=True)
class LineMode:
    """How a page reads a line: what it is called, how many characters it must have, how to show the result."""

    label: str  # the mode's name on the page, e.g. "Phone number"
    noun: str  # one character, e.g. "digit"
    plural: str = ""  # e.g. "kana" (default: noun + "s")
    expect: int | None = None  # the exact count, or None for any length
    phone: bool = False  # show the text formatted as 012-345-6789
    hint: str = "Write the characters side by side with a small gap between them."
    canvas_width: int = 900
    canvas_height: int = 200
    example_length: int = 5  # length of a composed example without a word list (expect wins if given)

    @property
    def nouns(self) -> str:
        return self.plural or f"{self.noun}s"


def render(task: TaskSpec, service: TaskService, mode: LineMode) -> None:
    """The whole line mode of a task page: three ways in, one reading out."""
    draw_tab, upload_tab, example_tab = st.tabs(["✏️ Draw", "📁 Upload", "🎲 Example"])
    with draw_tab:
        _draw(task, service, mode)
    with upload_tab:
        _upload(task, service, mode)
    with example_tab:
        _example(task, service, mode)


def _draw(task: TaskSpec, service: TaskService, mode: LineMode) -> None:
    from streamlit_drawable_canvas import st_canvas  # imports only inside a Streamlit runtime

    key = f"{task.name}_line_canvas"
    st.session_state.setdefault(f"{key}_n", 0)
    c1, c2 = st.columns([3, 1])
    with c1:
        st.caption(mode.hint)
    with c2:
        width = st.slider("Stroke width", 4, 30, 12, key=f"{key}_width")
    result = st_canvas(
        stroke_width=width,
        stroke_color="#000000",
        background_color="#FFFFFF",
        height=mode.canvas_height,
        width=mode.canvas_width,
        return_image_data=True,
        key=f"{key}_{st.session_state[f'{key}_n']}",
    )
    if st.button("🧹 Clear", key=f"{key}_clear"):
        st.session_state[f"{key}_n"] += 1
        st.rerun()
    data = result.image_data if result is not None else None
    if data is None:
        st.info(f"Write the {mode.label.lower()} on the canvas: the reading updates as you draw.")
        return
    pixels = np.asarray(data, dtype=np.uint8)
    show_reading(
        task,
        service,
        mode,
        Image.fromarray(pixels),
        key=f"{key}_result",
        empty_message=f"The canvas is empty: write the {mode.label.lower()} to see it read.",
    )


def _upload(task: TaskSpec, service: TaskService, mode: LineMode) -> None:
    file = st.file_uploader(
        f"Upload a photo or scan of one line ({mode.label.lower()})",
        type=list(UPLOAD_EXTENSIONS),
        key=f"{task.name}_line_upload",
    )
    if file is None:
        st.caption("One row of characters, any size, either polarity: dark ink on light paper or light on dark.")
        return
    show_reading(task, service, mode, file.getvalue(), key=f"{task.name}_line_upload_result")


def _example(task: TaskSpec, service: TaskService, mode: LineMode) -> None:
    key = f"{task.name}_line_example"
    st.caption(
        f"A {mode.label.lower()} composed from images of the official test split (which the model never "
        "trained on), with random sizes, gaps, heights and look, as a person might write it."
    )
    if st.button("🎲 Compose an example", key=key):
        st.session_state[f"{key}_seed"] = st.session_state.get(f"{key}_seed", -1) + 1
    seed = st.session_state.get(f"{key}_seed")
    if seed is None:
        return
    try:
        data, truth = service.example_line(mode.expect, mode.example_length, seed)
    except FileNotFoundError:
        st.info("The test split of this data set is not installed here, so no example can be composed.")
        return
    st.caption(f"Written: **{truth}**")
    show_reading(task, service, mode, data, key=f"{key}_result")


def show_reading(
    task: TaskSpec, service: TaskService, mode: LineMode, source, key: str, empty_message: str | None = None
) -> None:
    """Everything the page shows for one line; bad input becomes a message, never a traceback."""
    try:
        reading = service.read_line(source, mode.expect)
    except EmptyImageError:
        st.info(empty_message or "This image is blank: no strokes were found. Upload a photo of a written line.")
        return
    except SequenceInputError as err:
        st.warning(f"{_sentence(str(err))} To read a single {mode.noun}, switch the mode above to one character.")
        return
    except ImageInputError as err:
        st.error(f"This file cannot be used: {err}.")
        return

    if mode.phone:
        _phone_result(reading, mode)
    elif reading.alternatives or reading.word:
        _word_result(reading)
    else:
        _text_result(reading, mode)
    if reading.low_confidence:
        positions = ", ".join(str(i + 1) for i in reading.low_confidence)
        st.warning(f"Check {mode.noun} {positions}: read with less than {LOW_CONFIDENCE:.0%} confidence.", icon="🔎")
    boxed = boxed_image(reading)
    st.image(
        boxed,
        caption=f"{len(reading.chars)} {mode.nouns} found; orange boxes are read with low confidence",
        width=int(min(MAX_SHOWN_WIDTH, max(MIN_SHOWN_WIDTH, boxed.width))),
    )

    digest = _digest(source if isinstance(source, bytes) else np.asarray(source).tobytes())
    bars_key, explain_key = f"{key}_bars_{digest}", f"{key}_explain_{digest}"
    st.session_state.setdefault(explain_key, 0)
    chars = reading.chars
    pick = st.pills(
        f"Choose a {mode.noun} to see its Grad-CAM (or click its bar)",
        list(range(len(chars))),
        format_func=lambda i: f"{i + 1}: {chars[i].label}",
        key=explain_key,
    )
    left, right = st.columns([1.2, 1], gap="medium")
    with left:
        st.markdown(f"**Confidence of each {mode.noun}**")
        st.plotly_chart(
            confidence_chart(reading),
            width="stretch",
            key=bars_key,
            selection_mode="points",
            on_select=lambda: _follow_click(bars_key, explain_key),
        )
        st.markdown("**Per-character reading** (best class of each segment, before any dictionary)")
        st.dataframe(char_table(reading), hide_index=True, width="stretch")
    with right:
        _explain(service, chars[pick if pick is not None else 0], mode)
    if reading.alternatives:
        st.markdown("**Dictionary words that fit the ink best**")
        st.dataframe(alternatives_table(reading), hide_index=True, width="stretch")
        st.caption(
            "score: geometric mean of the word's character probabilities. cost: how many nats the dictionary "
            f"overrules the raw reading by; a word is used only if the cost is at most {max_overrule_for(task.name):g}."
        )
    if (reading.alternatives or reading.word) and service.dictionary_notice:
        st.caption(service.dictionary_notice)


def _phone_result(reading, mode: LineMode) -> None:
    number = format_phone(reading.text) if reading.count_ok else None
    if number is None:
        st.error(
            f"Not read as a phone number: {_sentence(reading.notes[0]) if reading.notes else ''} "
            f"What was read: {reading.text} ({len(reading.chars)} {mode.nouns}).",
            icon="⚠️",
        )
        return
    _big(number, f"{len(reading.chars)} digits")
    for note in reading.notes:
        if "expected" in note:
            st.info(_sentence(note))


def _word_result(reading) -> None:
    if reading.word is not None:
        w = reading.word.word
        _big(w.kana, f"<b>{w.romaji}</b> · {w.english}")
        if reading.raw_text != w.kana:
            st.info(f"The characters alone read **{reading.raw_text}**; the dictionary corrected it to **{w.kana}**.")
        else:
            st.caption(f"The characters alone read **{reading.raw_text}**, a dictionary word.")
        return
    _big(reading.raw_text, "raw reading: not a dictionary word")
    closest = f" The closest word is **{reading.alternatives[0].word.kana}**." if reading.alternatives else ""
    st.warning(
        "No dictionary word fits the ink well enough, so this is the raw per-character reading; "
        f"the dictionary is never forced.{closest}"
    )


def _text_result(reading, mode: LineMode) -> None:
    _big(reading.text, f"{len(reading.chars)} {mode.nouns}")
    for note in reading.notes:
        if "expected" in note:
            (st.info if reading.count_ok else st.error)(_sentence(note))


def _follow_click(bars_key: str, explain_key: str) -> None:
    """A click on a confidence bar chooses that character for the Grad-CAM."""
    points = st.session_state[bars_key]["selection"]["points"]
    if points:
        st.session_state[explain_key] = int(points[0].get("point_index", points[0].get("point_number", 0)))


def _explain(service: TaskService, c, mode: LineMode) -> None:
    st.markdown(f"**Grad-CAM of one {mode.noun}**")
    explanation = service.explain_char(c)
    st.image(explanation.overlay, caption=f"Grad-CAM for “{c.label}” ({c.prob:.1%}) on your image", width="stretch")
    st.image(explanation.model_input, caption="What the model sees for it (28×28)", width=112)


def boxed_image(reading) -> Image.Image:
    """The user's image (transparent parts white) with a numbered box around every character."""
    image = reading.chars[0].prepared.image.convert("RGBA")
    img = Image.alpha_composite(Image.new("RGBA", image.size, "white"), image).convert("RGB")
    draw = ImageDraw.Draw(img)
    h = max(reading.line_height, 10.0)
    line = max(2, round(h / 40))
    font = ImageFont.load_default(size=max(12, round(h / 4)))
    for i, c in enumerate(reading.chars):
        x, y, w, bh = c.box
        colour = LOW_COLOUR if c.low_confidence else OK_COLOUR
        pad = line + 1
        draw.rectangle([x - pad, y - pad, x + w + pad, y + bh + pad], outline=colour, width=line)
        draw.text((x - pad, max(0, y - pad - font.size - 2)), str(i + 1), fill=colour, font=font)
    return img


def confidence_chart(reading) -> go.Figure:
    names = [f"{i + 1}: {c.label}" for i, c in enumerate(reading.chars)]
    probs = [c.prob for c in reading.chars]
    hover = ["<br>".join(f"{label} {p:.1%}" for label, p in c.top[:3]) for c in reading.chars]
    fig = go.Figure(
        go.Bar(
            x=names,
            y=probs,
            text=[f"{p:.0%}" for p in probs],
            textposition="auto",
            marker_color=[LOW_COLOUR if c.low_confidence else OK_COLOUR for c in reading.chars],
            hovertext=hover,
            hoverinfo="text",
        )
    )
    fig.add_hline(
        y=LOW_CONFIDENCE,
        line_dash="dot",
        line_color="#888",
        annotation_text=f"flag below {LOW_CONFIDENCE:.0%}",
        annotation_position="bottom right",
    )
    fig.update_layout(
        height=260,
        margin=dict(l=10, r=10, t=10, b=10),
        yaxis=dict(range=[0, 1], tickformat=".0%"),
        xaxis=dict(type="category"),
    )
    return fig


def char_table(reading) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "#": i + 1,
                "read": c.label,
                "probability": f"{c.prob:.1%}",
                "next best": ", ".join(f"{label} {p:.1%}" for label, p in c.top[1:3]),
                "box (x, y, w, h)": str(tuple(c.box)),
            }
            for i, c in enumerate(reading.raw_chars)
        ]
    )


def alternatives_table(reading) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "word": m.word.kana,
                "romaji": m.word.romaji,
                "meaning": m.word.english,
                "score": round(m.mean_prob, 3),
                "cost (nats)": round(m.cost, 2),
                "used": "✅" if reading.word is m else ("fits" if m.accepted else "—"),
            }
            for m in reading.alternatives
        ]
    )


def _big(text: str, sub: str) -> None:
    st.markdown(
        f"<div class='qnn-line' style='font-size:3rem;font-weight:700;line-height:1.1'>{text}</div>"
        f"<div style='color:#666'>{sub}</div>",
        unsafe_allow_html=True,
    )


def _sentence(text: str) -> str:
    text = text.strip()
    return f"{text[:1].upper()}{text[1:]}{'' if text.endswith('.') else '.'}" if text else ""


def _digest(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()[:12]
