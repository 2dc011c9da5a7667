import streamlit as st

from app_pages.common import all_tasks, confusion_chart, evaluation
from qnn_core.evaluation.report import EVAL_DIR

st.title("📊 Model results")
st.caption("Every number here is read from the committed evaluation outputs (`python -m qnn_core.report`), "
           "measured on each data set's official test split.")

rows = []
for task in all_tasks():
    h, c = evaluation(task.name, True), evaluation(task.name, False)
    rows.append({"task": task.title,
                 "hybrid": h["accuracy"] if h else None,
                 "hybrid, quantum off": h.get("accuracy_quantum_off") if h else None,
                 "classical-only": c["accuracy"] if c else None,
                 "hybrid − classical (points)": round((h["accuracy"] - c["accuracy"]) * 100, 2) if h and c else None})
st.dataframe(rows, hide_index=True, column_config={k: st.column_config.NumberColumn(format="percent")
                                                    for k in ("hybrid", "hybrid, quantum off", "classical-only")})

for tab, task in zip(st.tabs([t.title for t in all_tasks()]), all_tasks()):
    with tab:
        h = evaluation(task.name, True)
        if h is None:
            st.info("No evaluation committed for this task yet.")
            continue
        names = [task.label(i) for i in range(task.num_classes)]
        a, b, c = st.columns(3)
        a.metric("Test accuracy (hybrid)", f"{h['accuracy']:.2%}")
        b.metric("Test images", f"{h['n']:,}")
        worst = min(h["per_class_accuracy"].items(), key=lambda kv: kv[1])
        c.metric("Hardest class", f"{task.label(task.classes.index(worst[0]))}", f"{worst[1]:.1%}", delta_color="off")
        left, right = st.columns([1.1, 1])
        with left:
            st.markdown("**Confusion matrix**")
            st.plotly_chart(confusion_chart(h, names), width="stretch", key=f"conf_{task.name}")
        with right:
            grid = EVAL_DIR / f"{task.name}_hybrid_errors.png"
            if grid.is_file():
                st.markdown("**Misclassified test images** (true → predicted)")
                st.image(str(grid), width="stretch")
