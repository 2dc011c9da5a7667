from app_pages.task_page import render

render("mnist", intro="Draw a digit 0–9 or upload a photo of one.", draw_hint="Draw one digit, large, in the middle.")
