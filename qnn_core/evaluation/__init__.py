"""Measuring checkpoints: evaluation on the official splits, model cards, the ablation, and the tables in docs/."""
