"""From a user's file or a data set's arrays to the tensor a model reads, and back (for overlays)."""
