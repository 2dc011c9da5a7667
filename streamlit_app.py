"""Entry point: `streamlit run streamlit_app.py`. Navigation only; each page lives in pages/."""
import streamlit as st

st.set_page_config(page_title="Hybrid Quantum-Classical Image Classifier", page_icon="⚛️", layout="wide")

pages = [
    st.Page("pages/home.py", title="Home", icon="🏠", default=True),
    st.Page("pages/digits.py", title="Digits", icon="🔢"),
    st.Page("pages/kana.py", title="Kana", icon="🈁"),
    st.Page("pages/fashion.py", title="Fashion", icon="👕"),
    st.Page("pages/results.py", title="Model results", icon="📊"),
]
st.navigation(pages).run()
