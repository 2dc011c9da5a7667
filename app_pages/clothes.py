from app_pages.photo_page import render

render(
    "clothes",
    intro=(
        "Upload a photo of a garment as you would take it (on a hanger, a bed, the floor, or worn): a **dress, hat, "
        "longsleeve, outwear, pants, shirt, shoes, shorts, skirt or t-shirt**. An ImageNet-pretrained "
        "EfficientNet-Lite0 turns it into features; a classical branch and an 8-qubit circuit read them. The model "
        "learnt from about 3,000 real photos of clothes (the clothing dataset by Alexey Grigorev and contributors, "
        "CC0). One garment filling much of the frame works best; a photo that is not of a garment is flagged "
        "rather than named."
    ),
)
