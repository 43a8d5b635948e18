"""Reducing trajectories to percentiles, means and tail means: exact, or sketched."""
