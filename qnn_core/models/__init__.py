"""The networks: the TorchQuantum circuit, the hybrid and its backbones, and how checkpoints store them."""
