"""The real data sets of the registry, the validation rule, and the synthetic and composed images built from them."""
