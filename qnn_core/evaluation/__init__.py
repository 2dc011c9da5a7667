"""Measuring checkpoints: evaluation on the official splits, model cards, the tables in README and docs and the ablation."""
