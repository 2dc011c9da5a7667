from app_pages.line_reader import LineMode
from app_pages.task_page import render
from qnn_core.service import PHONE_DIGITS

PHONE = LineMode(
    "Phone number",
    "digit",
    expect=PHONE_DIGITS,
    phone=True,
    hint=f"Write all {PHONE_DIGITS} digits in one row, each whole, with a small gap between them.",
)

render(
    "mnist",
    intro="Draw a digit 0–9 or upload a photo of one, or switch to a whole phone number.",
    draw_hint="Draw one digit, large, in the middle.",
    line_mode=PHONE,
    single_label="One digit",
)
