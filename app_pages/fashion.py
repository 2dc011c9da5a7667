from app_pages.task_page import render

render(
    "fashion",
    intro="Upload a product photo or draw a sketch of a garment. The image is turned into Fashion-MNIST's form: "
    "grayscale, a light object on a dark background, fitted to 28×28. A photo on a plain background works best.",
    draw_hint="Sketch one garment, filling most of the canvas.",
)
