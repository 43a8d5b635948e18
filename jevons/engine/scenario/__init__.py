"""The scenario a user writes: its schema, distributions, loading and sweep grid."""
