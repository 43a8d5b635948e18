"""Constants of the model, defined once and read by its vectorised and scalar forms."""

from __future__ import annotations

HOURS_PER_DAY = 24.0
HOURS_PER_MONTH = 365.25 * 24 / 12  # a Julian year's month [h]
SECONDS_PER_HOUR = 3600.0
PER_MILLION = 1e6  # tokens in a million tokens
MW_SECONDS_PER_KWH = 3.6  # 1 kWh = 3.6 MW-s
# Request counts: exact Poisson inversion below this mean, the normal approximation
# with continuity correction above it (its sd's relative error is under 1% there).
POISSON_EXACT_BELOW = 64.0
POISSON_MAX_TERMS = 256  # the inversion's bound: P(N >= 256) is 6e-73 at a mean of 64
