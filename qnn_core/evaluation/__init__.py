"""Measuring checkpoints: evaluation on the official splits, model cards, the README's tables and the ablation."""
