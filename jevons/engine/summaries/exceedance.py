"""Exceedance counts: how many trajectories lie above each threshold, chunk by chunk.

A count is a sum, so the counts of chunks, shards and workers add up to those of
one run over all trajectories, exactly, in either summary mode; the probability
is the count over the trajectories counted.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from jevons.errors import JevonsError
from jevons.kernels.variables import VARIABLES


class ExceedanceCounts:
    """Per variable, trajectories with a value strictly above each threshold.

    ``counts[name]`` is int64 (threshold, *lead dims); ``thresholds[name]`` the
    thresholds in the variable's units, ascending and distinct.
    """

    def __init__(self, thresholds: Mapping[str, Sequence[float]]):
        self.thresholds = {
            name: np.unique(np.asarray(values, dtype=np.float64))
            for name, values in thresholds.items()
            if len(values)
        }
        self.counts: dict[str, np.ndarray] = {}
        self.trajectories: dict[str, int] = {}

    def add(self, name: str, values: np.ndarray) -> None:
        """Count one chunk's values of ``name``, shaped (*lead dims, trajectories)."""
        limits = self.thresholds.get(name)
        if limits is None:
            return
        above = np.stack([(values > limit).sum(axis=-1) for limit in limits]).astype(np.int64)
        if name in self.counts:
            self.counts[name] += above
            self.trajectories[name] += values.shape[-1]
        else:
            self.counts[name] = above
            self.trajectories[name] = values.shape[-1]

    def merge(self, other: ExceedanceCounts) -> None:
        """Add another run's counts of other trajectories at the same thresholds."""
        for name, counts in other.counts.items():
            mine = self.thresholds.get(name)
            if mine is None or not np.array_equal(mine, other.thresholds[name]):
                raise JevonsError(
                    f"the {name} thresholds differ between the parts of one run"
                    " (risk.thresholds, --threshold); give every part the same"
                )
            if name in self.counts:
                self.counts[name] = self.counts[name] + counts
                self.trajectories[name] += other.trajectories[name]
            else:
                self.counts[name] = counts.copy()
                self.trajectories[name] = other.trajectories[name]

    def probabilities(self) -> dict[str, np.ndarray]:
        """``{<name>_exceedance_probability: (threshold, *lead) array}`` for every count."""
        variables = {v.exceedance_of: v.name for v in VARIABLES.values() if v.exceedance_of}
        return {
            variables[name]: counts / self.trajectories[name]
            for name, counts in self.counts.items()
        }
