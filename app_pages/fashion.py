from app_pages.task_page import render

render(
    "fashion",
    intro="Upload a product photo or draw a sketch of a garment. The image is turned into Fashion-MNIST's form: "
    "grayscale, a light object on a dark background, fitted to 28×28. A photo on a plain background works best.",
    draw_hint="Sketch one garment, filling most of the canvas.",
    upload_note="This model reads **28×28 grey catalogue-style images**: one garment cut out on a plain background, "
    "as in Fashion-MNIST. Photos of clothes as people take them (on a hanger, a bed, the floor, worn) fare poorly "
    "here. For your own photos, use the **[Clothes](/clothes)** page: a model trained on real garment photos.",
)
