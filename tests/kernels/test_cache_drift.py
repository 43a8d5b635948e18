"""Cache hit rate drifting over the horizon, against hand arithmetic.

hit(t) = clip(h0 + drift * months elapsed at the start of step t, 0, 1); the
cached share of the input is hit(t), the prefilled share 1 - hit(t).
"""

import numpy as np
import pytest

from jevons.engine.scenario.loading import scenario_from_dict
from tests.conftest import first_trajectory

STEPS = 400  # daily steps: +-0.05 a month from 0.5 reaches 1 (or 0) after 10 months
MONTHS_PER_STEP = 24 / (365.25 * 24 / 12)  # one day, in average calendar months
DAYS_PER_MONTH = 365.25 / 12


def hand_hit_rate(h0, drift):
    t = np.arange(STEPS)
    return np.clip(h0 + drift * t * MONTHS_PER_STEP, 0.0, 1.0)


def hand_input_tokens():
    # HAND_SCENARIO: 1000 users growing 10% a month, 2 sessions x 3 requests a day,
    # 4 calls per request, a 500-token prompt and 100 tokens appended per extra call.
    t = np.arange(STEPS)
    requests = 1000 * 1.1 ** (t / DAYS_PER_MONTH) * 2 * 3
    return requests * (500 * 4 + 100 * 4 * 3 / 2)


@pytest.mark.parametrize("drift", [0.05, -0.05])
def test_cache_hit_rate_drifts_linearly_and_clips(backend, hand_dict, drift):
    hand_dict["horizon"]["steps"] = STEPS
    hand_dict["cache"] = {"hit_rate": 0.5, "drift_per_month": drift}
    steps, _ = first_trajectory(backend, scenario_from_dict(hand_dict))

    hit = hand_hit_rate(0.5, drift)
    # the horizon does reach the bound: 10 months = 304.375 days
    bound = 1.0 if drift > 0 else 0.0
    assert hit[304] != bound and hit[305] == bound
    assert np.all(hit[305:] == bound)

    input_tokens = hand_input_tokens()
    np.testing.assert_allclose(steps["input_tokens"], input_tokens, rtol=1e-12)
    np.testing.assert_allclose(steps["cache_hit_rate"], hit, rtol=1e-12, atol=1e-15)
    # near the bound the share is small: compare with an absolute tolerance in tokens
    atol = 1e-12 * input_tokens.max()
    np.testing.assert_allclose(
        steps["cached_input_tokens"], hit * input_tokens, rtol=1e-12, atol=atol
    )
    np.testing.assert_allclose(
        steps["prefill_tokens"], (1 - hit) * input_tokens, rtol=1e-12, atol=atol
    )
    # once clipped, the bound is held exactly: nothing (or everything) is prefilled
    clipped = steps["prefill_tokens" if drift > 0 else "cached_input_tokens"][305:]
    assert np.all(clipped == 0.0)
