"""Entry point: `streamlit run streamlit_app.py`. Navigation only, built from the task registry
(app_pages/navigation.py). A folder named "pages" beside this file would switch Streamlit into its legacy
multipage mode on a first visit, hence app_pages/."""

import streamlit as st

from app_pages.navigation import pages
from app_pages.visitor import visitor_id

st.set_page_config(page_title="Hybrid Quantum-Classical Image Classifier", page_icon="⚛️", layout="wide")
visitor_id()  # on every page: a page switch may drop ?visitor= from the URL
st.navigation(pages()).run()
