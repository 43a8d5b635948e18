"""Output: Dataset assembly, result files and shard files (the variables: kernels.variables)."""
