"""What the Hiragana page shows beside the model: each kana's KanjiVG stroke order, and its attribution."""

from __future__ import annotations

from functools import lru_cache

from PIL import Image

from qnn_core.data.kana_strokes import KANJIVG_NOTICE, KanjiVGError, stroke_order_image

__all__ = ["KANJIVG_NOTICE", "KanjiVGError", "stroke_order_table"]


@lru_cache(maxsize=4)
def stroke_order_table(chars: tuple[str, ...], size: int = 96) -> tuple[Image.Image, ...]:
    """One picture per character: its strokes, numbered in writing order (drawn once per process).
    Raises KanjiVGError when the KanjiVG files are not installed."""
    return tuple(stroke_order_image(c, size) for c in chars)
