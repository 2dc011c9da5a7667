"""Entry point: `streamlit run streamlit_app.py`. Navigation only; each page lives in pages/."""
import streamlit as st

st.set_page_config(page_title="Hybrid Quantum-Classical Image Classifier", page_icon="⚛️", layout="wide")

pages = [st.Page("pages/home.py", title="Home", icon="🏠", default=True)]
pages.append(st.Page("pages/training.py", title="Training", icon="🏋️"))
st.navigation(pages).run()
