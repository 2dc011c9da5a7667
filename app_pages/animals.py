from app_pages.photo_page import render

render(
    "animals",
    intro=(
        "Upload a photo of a **bird, cat, deer, dog, frog or horse**. An ImageNet-pretrained EfficientNet-Lite0 turns "
        "it into features; a classical branch and an 8-qubit circuit read them. The model knows only these six "
        "classes, and it learnt them from small, blurry 32×32 CIFAR-10 pictures, not from sharp photos: one clear "
        "animal filling much of the frame works best, and its guesses on other photos are less reliable than its "
        "test accuracy suggests."
    ),
)
