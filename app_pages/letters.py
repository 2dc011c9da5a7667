from app_pages.task_page import render

render("letters",
       intro="Write one letter a–z, upper or lower case (both count as the same letter), or upload a photo of one. "
             "The model learned from real pen strokes of 40 writers and from synthetic handwriting; its test "
             "accuracy is measured on 10 other writers.",
       draw_hint="Write one letter, large, in the middle.")
