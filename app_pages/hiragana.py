"""The Hiragana page: the 71 modern kana, one at a time or as a dictionary word, with the stroke-order table."""

import streamlit as st

from app_pages.line_reader import LineMode
from app_pages.task_page import render
from qnn_core.service import KANJIVG_NOTICE, KanjiVGError, stroke_order_table
from qnn_core.tasks import TaskSpec

COLUMNS = 10  # kana per row of the reference table


def reference_table(task: TaskSpec) -> None:
    """All 71 kana as KanjiVG draws them, strokes numbered in writing order: what the model was taught."""
    with st.expander("📖 The 71 kana and their stroke order", expanded=False):
        try:
            images = stroke_order_table(task.classes)
        except KanjiVGError as err:
            st.info(f"The stroke-order table cannot be drawn here: {err}")
            return
        for start in range(0, task.num_classes, COLUMNS):
            cols = st.columns(COLUMNS)
            for col, i in zip(cols, range(start, min(start + COLUMNS, task.num_classes))):
                with col:
                    st.image(images[i], caption=task.label(i), width=72)
        st.caption(
            "The examples and the training images are synthetic: KanjiVG strokes written by a simulated hand, and "
            "handwriting-like fonts. " + KANJIVG_NOTICE
        )


WORD = LineMode(
    "Word",
    "kana",
    plural="kana",
    canvas_width=800,
    hint="Write a word in hiragana in one row, left to right, with a small gap between the characters "
    "(e.g. すし, ともだち, がっこう). Write small kana (ゃ ゅ ょ っ) clearly smaller, on the baseline. "
    "It is matched against the EDICT dictionary's words.",
)

render(
    "hiragana",
    intro="Write one of the 71 modern hiragana (the 46 basic kana, and those with dakuten ゛ or handakuten ゜), "
    "or switch to a whole word, read against every all-hiragana word of the EDICT dictionary. The model learned "
    "from synthetic handwriting only (KanjiVG strokes and handwriting fonts); the examples are synthetic too.",
    extras=reference_table,
    draw_hint="Write one kana, large, in the middle.",
    line_mode=WORD,
    single_label="One kana",
)
