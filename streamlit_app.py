"""Entry point: `streamlit run streamlit_app.py`. Navigation only; each page lives in app_pages/ (a folder named
"pages" beside this file would switch Streamlit into its legacy multipage mode on a first visit)."""
import streamlit as st

st.set_page_config(page_title="Hybrid Quantum-Classical Image Classifier", page_icon="⚛️", layout="wide")

pages = [
    st.Page("app_pages/home.py", title="Home", icon="🏠", default=True),
    st.Page("app_pages/digits.py", title="Digits", icon="🔢"),
    st.Page("app_pages/kana.py", title="Kana", icon="🈁"),
    st.Page("app_pages/letters.py", title="Letters", icon="🔤"),
    st.Page("app_pages/fashion.py", title="Fashion", icon="👕"),
    st.Page("app_pages/animals.py", title="Animals", icon="🐈"),
    st.Page("app_pages/results.py", title="Model results", icon="📊"),
    st.Page("app_pages/training.py", title="Training", icon="🏋️"),
]
st.navigation(pages).run()
