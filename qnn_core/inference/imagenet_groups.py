"""ImageNet's 1000 classes grouped into what a person would call them, for rules read off the backbone's own head.

A six-class softmax names a cow "horse" because it must name something. The pretrained backbone's ImageNet head
knows 398 animal classes (0-397), so its probabilities, summed per plain group ("ox" -> cow; "grey whale",
"killer whale" -> whale; "admiral", "monarch" -> butterfly), say which animal a photo most likely shows. Six of
the groups are the animals task's own classes; the rest are "another animal".

Deer: ImageNet has no deer class. The classes it gives a deer photo are its antelopes (hartebeest, impala,
gazelle), so those three count as "deer": a real antelope is then taken for one of the six, which is the
safer mistake (the six-class answer for it is "deer", which is near), and the choice is written in the docs.

Garments: ImageNet's clothing, footwear and headwear classes (jersey, cardigan, jean, running shoe, sombrero, ...)
and the accessories worn with them. ImageNet has no class for a person, so a worn garment's probability goes to
the garment classes or to scene classes; neither counts against it (the rule reads only the garment share).
The table is pure data, checked by tests to cover all 398 animal classes exactly once.
"""

from __future__ import annotations

import numpy as np

IMAGENET_CLASSES = 1000
ANIMAL_CLASSES = 398  # indices 0-397 of the standard (sorted WordNet id) ordering

# The animals task's six classes, by ImageNet index range (inclusive).
SIX: dict[str, tuple[tuple[int, int], ...]] = {
    "bird": ((7, 24), (80, 100), (127, 146)),
    "cat": ((281, 285),),  # tabby, tiger cat, Persian, Siamese, Egyptian cat: the domestic ones
    "deer": ((351, 353),),  # hartebeest, impala, gazelle (see the module's docstring)
    "dog": ((151, 268), (273, 273)),  # the 118 breeds and the dingo, a dog
    "frog": ((30, 32),),
    "horse": ((339, 339),),  # sorrel, ImageNet's one horse
}

# Every other animal class, by its plain name (what "This looks like a ..." says).
OTHERS: dict[str, tuple[tuple[int, int], ...]] = {
    "fish": ((0, 1), (389, 392), (394, 397)),
    "shark": ((2, 4),),
    "ray": ((5, 6),),
    "salamander": ((25, 29),),
    "turtle": ((33, 37),),
    "lizard": ((38, 48),),
    "crocodile": ((49, 50),),
    "dinosaur": ((51, 51),),
    "snake": ((52, 68),),
    "trilobite": ((69, 69),),
    "spider": ((70, 70), (72, 77)),
    "scorpion": ((71, 71),),
    "tick": ((78, 78),),
    "centipede": ((79, 79),),
    "elephant": ((101, 101), (385, 386)),
    "echidna": ((102, 102),),
    "platypus": ((103, 103),),
    "kangaroo": ((104, 104),),
    "koala": ((105, 105),),
    "wombat": ((106, 106),),
    "jellyfish": ((107, 107),),
    "sea anemone": ((108, 108),),
    "coral": ((109, 109),),
    "worm": ((110, 111),),
    "snail": ((112, 113),),
    "slug": ((114, 115),),
    "chiton": ((116, 116),),
    "nautilus": ((117, 117),),
    "crab": ((118, 121), (125, 125)),
    "lobster": ((122, 124),),
    "woodlouse": ((126, 126),),
    "whale": ((147, 148),),
    "dugong": ((149, 149),),
    "sea lion": ((150, 150),),
    "wolf": ((269, 271),),
    "coyote": ((272, 272),),
    "wild dog": ((274, 275),),
    "hyena": ((276, 276),),
    "fox": ((277, 280),),
    "cougar": ((286, 286),),
    "lynx": ((287, 287),),
    "leopard": ((288, 289),),
    "jaguar": ((290, 290),),
    "lion": ((291, 291),),
    "tiger": ((292, 292),),
    "cheetah": ((293, 293),),
    "bear": ((294, 297),),
    "mongoose": ((298, 298),),
    "meerkat": ((299, 299),),
    "beetle": ((300, 307),),
    "fly": ((308, 308),),
    "bee": ((309, 309),),
    "ant": ((310, 310),),
    "grasshopper": ((311, 312),),
    "stick insect": ((313, 313),),
    "cockroach": ((314, 314),),
    "mantis": ((315, 315),),
    "cicada": ((316, 317),),
    "lacewing": ((318, 318),),
    "dragonfly": ((319, 320),),
    "butterfly": ((321, 326),),
    "starfish": ((327, 327),),
    "sea urchin": ((328, 328),),
    "sea cucumber": ((329, 329),),
    "rabbit": ((330, 332),),
    "hamster": ((333, 333),),
    "porcupine": ((334, 334),),
    "squirrel": ((335, 335),),
    "marmot": ((336, 336),),
    "beaver": ((337, 337),),
    "guinea pig": ((338, 338),),
    "zebra": ((340, 340),),
    "pig": ((341, 343),),
    "hippopotamus": ((344, 344),),
    "cow": ((345, 345),),
    "buffalo": ((346, 346),),
    "bison": ((347, 347),),
    "sheep": ((348, 349),),
    "goat": ((350, 350),),
    "camel": ((354, 354),),
    "llama": ((355, 355),),
    "weasel": ((356, 359),),
    "otter": ((360, 360),),
    "skunk": ((361, 361),),
    "badger": ((362, 362),),
    "armadillo": ((363, 363),),
    "sloth": ((364, 364),),
    "orangutan": ((365, 365),),
    "gorilla": ((366, 366),),
    "chimpanzee": ((367, 367),),
    "gibbon": ((368, 369),),
    "monkey": ((370, 382),),
    "lemur": ((383, 384),),
    "red panda": ((387, 387),),
    "panda": ((388, 388),),
    "clownfish": ((393, 393),),
}

# ImageNet's garments, shoes, hats and what is worn with them (indices >= 398), for the "not a garment" rule.
GARMENT_CLASSES: tuple[int, ...] = (
    399,  # abaya
    400,  # academic gown
    411,  # apron
    414,  # backpack
    433,  # bathing cap
    439,  # bearskin
    443,  # bib
    445,  # bikini
    451,  # bolo tie
    452,  # bonnet
    457,  # bow tie
    459,  # brassiere
    465,  # bulletproof vest
    474,  # cardigan
    496,  # Christmas stocking
    501,  # cloak
    502,  # clog
    514,  # cowboy boot
    515,  # cowboy hat
    518,  # crash helmet
    529,  # diaper
    552,  # feather boa
    560,  # football helmet
    568,  # fur coat
    578,  # gown
    591,  # handkerchief
    601,  # hoopskirt
    608,  # jean
    610,  # jersey
    614,  # kimono
    615,  # knee pad
    617,  # lab coat
    630,  # Loafer
    636,  # mailbag
    638,  # maillot
    639,  # maillot, tank suit
    652,  # military uniform
    655,  # miniskirt
    658,  # mitten
    667,  # mortarboard
    689,  # overskirt
    697,  # pajama
    715,  # pickelhaube
    735,  # poncho
    748,  # purse
    770,  # running shoe
    774,  # sandal
    775,  # sarong
    788,  # shoe shop
    793,  # shower cap
    796,  # ski mask
    806,  # sock
    808,  # sombrero
    824,  # stole
    834,  # suit
    841,  # sweatshirt
    842,  # swimming trunks
    869,  # trench coat
    885,  # velvet
    887,  # vestment
    906,  # Windsor tie
    911,  # wool
    981,  # ballplayer (a worn uniform: ImageNet has no class for a person)
    982,  # groom (a worn suit)
)

SIX_NAMES: tuple[str, ...] = tuple(SIX)
GROUP_NAMES: tuple[str, ...] = SIX_NAMES + tuple(OTHERS)


def _indices(ranges: tuple[tuple[int, int], ...]) -> list[int]:
    return [i for lo, hi in ranges for i in range(lo, hi + 1)]


def animal_groups() -> dict[str, list[int]]:
    """Each group's ImageNet class indices, the six first, then the others in table order."""
    return {name: _indices(r) for name, r in {**SIX, **OTHERS}.items()}


def group_matrix() -> np.ndarray:
    """(1000, groups) 0/1 matrix: ImageNet probabilities @ it = each group's probability."""
    groups = animal_groups()
    m = np.zeros((IMAGENET_CLASSES, len(groups)), np.float32)
    for j, idx in enumerate(groups.values()):
        m[idx, j] = 1.0
    return m


def group_probs(imagenet_probs: np.ndarray) -> np.ndarray:
    """(N, 1000) ImageNet probabilities -> (N, groups) summed per group, in GROUP_NAMES order."""
    return np.asarray(imagenet_probs, np.float32) @ group_matrix()


def other_animal(imagenet_probs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(score, name index into OTHERS) per photo: the score is the probability of the likeliest other animal
    when it beats every one of the six (0 otherwise); the rule flags a photo whose score reaches its threshold."""
    g = group_probs(imagenet_probs)
    six, others = g[:, : len(SIX)], g[:, len(SIX) :]
    best = others.argmax(1)
    top = others[np.arange(len(g)), best]
    return np.where(top > six.max(1), top, 0.0), best


def other_name(index: int) -> str:
    return tuple(OTHERS)[index]


def garment_share(imagenet_probs: np.ndarray) -> np.ndarray:
    """(N,) ImageNet's probability that a photo shows a garment, shoe, hat or accessory."""
    return np.asarray(imagenet_probs, np.float32)[:, list(GARMENT_CLASSES)].sum(1)
