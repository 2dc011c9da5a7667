"""The trainer: one loop for pixels and cached features, its config and its command line."""
