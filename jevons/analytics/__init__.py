"""Analyses of a finished result: what the kept trajectories say about their inputs."""
