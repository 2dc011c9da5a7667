"""Model results: each task's committed test-split evaluation, read through the service (`task_results`)."""
from pathlib import Path

import numpy as np
import streamlit as st
from PIL import Image

from app_pages.common import confusion_chart
from qnn_core.service import task_results
from qnn_core.tasks import TASKS


@st.cache_data(show_spinner=False)
def grid_halves(path: str, mtime_ns: int) -> list[Image.Image]:
    """The committed error grid as its left and right halves, below each other, without its title line.

    The grid is 10 tiles across with small labels; a half drawn at the page's width shows them about 1.5 times
    as large as the whole grid would. The cut goes through the blank gap nearest the middle; when there is no
    clear title or gap the grid comes back whole. `mtime_ns` only keys the cache.
    """
    img = Image.open(path).convert("RGB")
    ink = np.asarray(img.convert("L")) < 245
    rows = np.flatnonzero(ink.any(axis=1))
    gaps = np.flatnonzero(np.diff(rows) > 1)  # the first blank band ends the title
    if not len(gaps):
        return [img]
    top = int(rows[gaps[0] + 1]) - 2
    blank = np.flatnonzero(~ink[top:].any(axis=0))
    w = img.width
    middle = blank[(blank > 0.4 * w) & (blank < 0.6 * w)]
    if not len(middle):
        return [img]
    cut = int(middle[np.argmin(np.abs(middle - w / 2))])
    return [img.crop((0, top, cut, img.height)), img.crop((cut, top, w, img.height))]


def summary_table(tasks) -> None:
    rows = []
    for task in tasks:
        r = task_results(task.name)
        h, c = r.hybrid, r.classical
        rows.append({"task": task.title,
                     "hybrid": h["accuracy"] if h else None,
                     "hybrid, quantum off": h.get("accuracy_quantum_off") if h else None,
                     "classical-only": c["accuracy"] if c else None,
                     "hybrid − classical (points)": round((h["accuracy"] - c["accuracy"]) * 100, 2) if h and c else None})
    st.dataframe(rows, hide_index=True, column_config={k: st.column_config.NumberColumn(format="percent")
                                                        for k in ("hybrid", "hybrid, quantum off", "classical-only")})


def task_tab(task) -> None:
    r = task_results(task.name)
    if r.hybrid is None:
        st.info("No evaluation committed for this task yet.")
        return
    names = [task.label(i) for i in range(task.num_classes)]
    a, b, c = st.columns(3)
    a.metric("Test accuracy (hybrid)", f"{r.hybrid['accuracy']:.2%}")
    b.metric("Test images", f"{r.hybrid['n']:,}")
    hardest, hardest_acc = r.hardest_class
    # No delta: an accuracy beside an arrow reads as a gain, and this is the lowest one.
    c.metric("Hardest class", f"{task.label(task.classes.index(hardest))} · {hardest_acc:.2%}",
             help="The class the hybrid model gets right least often on the test split, with its accuracy.")
    left, right = st.columns([3, 2])
    with left:
        st.markdown("**Confusion matrix**")
        st.plotly_chart(confusion_chart(r.hybrid, names), width="stretch", key=f"conf_{task.name}")
    with right:
        if r.ablation_line:
            st.markdown("**What the quantum branch adds**")
            st.markdown(r.ablation_line)
    if r.errors_grid is not None:
        # Its own row, in halves at the page's width, so the true → predicted labels read.
        with st.expander("Misclassified test images (true → predicted), the first 40", expanded=True):
            for half in grid_halves(str(r.errors_grid), Path(r.errors_grid).stat().st_mtime_ns):
                st.image(half, width="stretch")


def main() -> None:
    st.title("📊 Model results")
    st.caption("Every number here is read from the committed evaluation outputs (`python -m qnn_core.report`), "
               "measured on each data set's official test split.")
    tasks = list(TASKS.values())
    summary_table(tasks)
    for tab, task in zip(st.tabs([t.title for t in tasks]), tasks):
        with tab:
            task_tab(task)


if __name__ == "__main__":  # as Streamlit runs a page; importing the module (tests) runs nothing
    main()
