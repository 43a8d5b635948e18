"""Output: the variables, Dataset assembly, result files and shard files."""
