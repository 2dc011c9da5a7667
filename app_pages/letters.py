from app_pages.line_reader import LineMode
from app_pages.task_page import render

WORD = LineMode(
    "Word",
    "letter",
    hint="Write a word in one row, left to right, with a small gap between the letters. "
    "There is no English word list: each letter is read on its own.",
    canvas_width=800,
    canvas_height=200,
    example_length=5,
)

render(
    "letters",
    intro="Write one letter a–z, upper or lower case (both count as the same letter), or upload a photo of one, "
    "or switch to a whole word. The model learned from real pen strokes of 40 writers and from synthetic "
    "handwriting; its test accuracy is measured on 10 other writers.",
    draw_hint="Write one letter, large, in the middle.",
    line_mode=WORD,
    single_label="One letter",
)
