import numpy as np
import streamlit as st
from PIL import Image

from app_pages.line_reader import LineMode
from app_pages.task_page import render
from qnn_core.service import TaskService
from qnn_core.tasks import TaskSpec

KMNIST_CREDIT = (
    '"KMNIST Dataset" (created by CODH), adapted from "Kuzushiji Dataset" (created by NIJL and others), '
    "doi:10.20676/00000341, CC BY-SA 4.0."
)


def reference_strip(task: TaskSpec) -> None:
    """KMNIST's cursive forms differ from modern hiragana: show people what each class looks like."""
    examples = TaskService.get(task.name).examples(per_class=3, seed=1)
    with st.expander("📜 What to draw: the kuzushiji forms of each class", expanded=True):
        if not examples:
            st.info("The KMNIST data is not installed here, so the reference glyphs cannot be shown.")
            return
        cols = st.columns(task.num_classes)
        for c, col in enumerate(cols):
            glyphs = [img for img, label in examples if label == c]
            with col:
                st.markdown(f"**{task.classes[c]}**  \n{task.display[c]}")
                st.image(Image.fromarray(np.vstack(glyphs)).resize((56, 56 * len(glyphs)), Image.Resampling.NEAREST))
        st.caption("These are cursive forms from pre-modern books; a modern お may not be recognised. " + KMNIST_CREDIT)


WORD = LineMode(
    "Word",
    "kana",
    plural="kana",
    canvas_width=720,
    hint="Write a word of these ten kana in one row, left to right, with a small gap between the "
    "characters (e.g. すきやき). It is matched against a word list.",
)

render(
    "kmnist",
    intro="Draw one of the ten kana お き す つ な は ま や れ を in its cursive (kuzushiji) form, "
    "or switch to a whole word. For the kana people write today, all 71 of them, use the Hiragana page.",
    extras=reference_strip,
    draw_hint="Draw one kana, large, in the middle.",
    line_mode=WORD,
    single_label="One kana",
)
