"""Model results: each task's committed test-split evaluation, read through the service (`task_results`)."""

import streamlit as st

from app_pages.common import confusion_chart
from app_pages.quantum_charts import readout_curves_chart
from qnn_core.service import readout_curves, task_results
from qnn_core.tasks import TASKS


def summary_table(tasks) -> None:
    rows = []
    for task in tasks:
        r = task_results(task.name)
        h, c = r.hybrid, r.classical
        rows.append(
            {
                "task": task.title,
                "measured on": (h or c or {}).get("split", "test"),
                "hybrid": h["accuracy"] if h else None,
                "hybrid, quantum off": h.get("accuracy_quantum_off") if h else None,
                "classical-only": c["accuracy"] if c else None,
                "hybrid − classical (points)": round((h["accuracy"] - c["accuracy"]) * 100, 2) if h and c else None,
            }
        )
    st.dataframe(
        rows,
        hide_index=True,
        column_config={
            k: st.column_config.NumberColumn(format="percent")
            for k in ("hybrid", "hybrid, quantum off", "classical-only")
        },
    )


def task_tab(task) -> None:
    r = task_results(task.name)
    if r.hybrid is None:
        st.info("No evaluation committed for this task yet.")
        return
    names = [task.label(i) for i in range(task.num_classes)]
    a, b, c = st.columns(3)
    split = r.hybrid.get("split", "test")  # "validation" where the test split is kept apart (clothes)
    a.metric(f"{split.capitalize()} accuracy (hybrid)", f"{r.hybrid['accuracy']:.2%}")
    b.metric(f"{split.capitalize()} images", f"{r.hybrid['n']:,}")
    hardest, hardest_acc = r.hardest_class
    # No delta: an accuracy beside an arrow reads as a gain, and this is the lowest one.
    c.metric(
        "Hardest class",
        f"{task.label(task.classes.index(hardest))} · {hardest_acc:.2%}",
        help="The class the hybrid model gets right least often on the test split, with its accuracy.",
    )
    left, right = st.columns([3, 2])
    with left:
        st.markdown("**Confusion matrix**")
        st.plotly_chart(confusion_chart(r.hybrid, names), width="stretch", key=f"conf_{task.name}")
    with right:
        if r.ablation_line:
            st.markdown("**What the quantum branch adds**")
            st.markdown(r.ablation_line)
    if r.errors_grid is not None:
        # Its own row at the page's width: the grid is drawn with few, large tiles, so true → predicted reads.
        with st.expander("Misclassified test images (true → predicted)", expanded=True):
            st.image(str(r.errors_grid), width="stretch")


def curves_section() -> None:
    """Accuracy when the qubits are read out as hardware would give them: few shots, noise."""
    curves = readout_curves()
    if curves is None:
        return
    st.subheader("Shots and noise: what a real quantum computer would cost each model")
    st.plotly_chart(readout_curves_chart(curves), width="stretch", key="readout_curves")
    st.markdown(curves.explanation)
    st.caption(
        f"Measured on the official test splits by `{curves.command}` (benchmarks/readout_curves.json); "
        "shots averaged over 3 sampling seeds. Solid: hybrid; dashed: quantum bottleneck; ★: on a simulated real "
        "device (a calibration snapshot simulated by qiskit-aer, not a run on hardware), on the first test images."
    )
    if curves.device_explanation:
        st.markdown(curves.device_explanation)


def main() -> None:
    st.title("📊 Model results")
    st.caption(
        "Every number here is read from the committed evaluation outputs (`qnn report`), "
        "measured on each data set's official test split (clothes: on its validation split, since its test "
        "photos are kept apart for measurement elsewhere)."
    )
    tasks = list(TASKS.values())
    summary_table(tasks)
    curves_section()
    for tab, task in zip(st.tabs([t.title for t in tasks]), tasks):
        with tab:
            task_tab(task)


if __name__ == "__main__":  # as Streamlit runs a page; importing the module (tests) runs nothing
    main()
