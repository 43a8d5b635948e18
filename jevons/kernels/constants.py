"""Constants of the model, defined once and read by its vectorised and scalar forms."""

from __future__ import annotations

HOURS_PER_DAY = 24.0
HOURS_PER_MONTH = 365.25 * 24 / 12  # a Julian year's month [h]
HOURS_PER_YEAR = 365.25 * 24  # a Julian year [h]
SECONDS_PER_HOUR = 3600.0
PER_MILLION = 1e6  # tokens in a million tokens
MW_SECONDS_PER_KWH = 3.6  # 1 kWh = 3.6 MW-s
# Request counts: exact Poisson inversion below this mean, the normal approximation
# with continuity correction above it (its sd's relative error is under 1% there).
POISSON_EXACT_BELOW = 64.0
POISSON_MAX_TERMS = 256  # the inversion's bound: P(N >= 256) is 6e-73 at a mean of 64

# Philox4x32-10 (Salmon, Moraes, Dror and Shaw, SC'11; the Random123 library).
PHILOX_M0 = 0xD2511F53
PHILOX_M1 = 0xCD9E8D57
PHILOX_W0 = 0x9E3779B9  # golden ratio
PHILOX_W1 = 0xBB67AE85  # sqrt(3) - 1
PHILOX_ROUNDS = 10
# The stream contract: counter = (trajectory low, trajectory high, step, stream).
STEP_STREAM = 0
PARAMETER_STEP = 0xFFFFFFFF  # never a real step index, so parameter and step draws never meet

# Uniforms keep the top 23 bits of a word: u = ((word >> 9) + 0.5) * 2**-23.
UNIFORM_DROP_BITS = 9
UNIFORM_SCALE = 2.0**-23

# The inverse normal CDF (Wichura's AS 241, PPND16): a central branch for
# |u - 0.5| <= 0.425 in r = 0.425^2 - (u - 0.5)^2, a tail branch in
# r = sqrt(-log(min(u, 1 - u))), split at r = 5.
AS241_CENTRAL_HALF_WIDTH = 0.425
AS241_CENTRAL_R = 0.180625  # 0.425 ** 2
AS241_NEAR_TAIL_SHIFT = 1.6
AS241_TAIL_SPLIT = 5.0
# Its coefficients, lowest degree first (Wichura 1988, Applied Statistics 37, 477-484).
AS241_A = (
    3.387132872796366608,
    133.14166789178437745,
    1971.5909503065514427,
    13731.693765509461125,
    45921.953931549871457,
    67265.770927008700853,
    33430.575583588128105,
    2509.0809287301226727,
)
AS241_B = (
    1.0,
    42.313330701600911252,
    687.1870074920579083,
    5394.1960214247511077,
    21213.794301586595867,
    39307.89580009271061,
    28729.085735721942674,
    5226.495278852854561,
)
AS241_C = (
    1.42343711074968357734,
    4.6303378461565452959,
    5.7694972214606914055,
    3.64784832476320460504,
    1.27045825245236838258,
    0.24178072517745061177,
    0.0227238449892691845833,
    7.7454501427834140764e-4,
)
AS241_D = (
    1.0,
    2.05319162663775882187,
    1.6763848301838038494,
    0.68976733498510000455,
    0.14810397642748007459,
    0.0151986665636164571966,
    5.475938084995344946e-4,
    1.05075007164441684324e-9,
)
AS241_E = (
    6.6579046435011037772,
    5.4637849111641143699,
    1.7848265399172913358,
    0.29656057182850489123,
    0.026532189526576123093,
    0.0012426609473880784386,
    2.71155556874348757815e-5,
    2.01033439929228813265e-7,
)
AS241_F = (
    1.0,
    0.59983220655588793769,
    0.13692988092273580531,
    0.0148753612908506148525,
    7.868691311456132591e-4,
    1.8463183175100546818e-5,
    1.4215117583164458887e-7,
    2.04426310338993978564e-15,
)
