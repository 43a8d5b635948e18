"""The report's table of scenario inputs: each uncertain input with its distribution and
percentiles (checked against the distributions' own formulas), and the fixed ones."""

import math

import pytest

from jevons.engine.scenario.loading import parse_scenario_text
from jevons.report.inputs import number, scenario_inputs

SCENARIO = """
[horizon]
start = 2027-01-01
steps = 3

[users]
initial = { dist = "lognormal", median = 1000, p95 = 2000 }
growth_per_month = { dist = "normal", mean = 0.05, sd = 0.02, low = 0 }

[usage]
sessions_per_user_per_day = 1
requests_per_session = { dist = "empirical", values = [8, 1, 2, 3, 4, 5, 6, 7] }
input_tokens_per_request = { dist = "uniform", low = 1, high = 3 }
output_tokens_per_call = 100

[[variability.surges]]
name = "launch"
start = 2027-01-02
end = 2027-01-02
multiplier = { dist = "triangular", low = 1, mode = 1, high = 2 }

[supply]
hardware = "h200-hgx"

[supply.uncertainty.h200-hgx]
cost_per_gpu_hour = { dist = "uniform", low = 1, high = 2 }
"""


def inputs(text=SCENARIO):
    return scenario_inputs(parse_scenario_text(text))


def test_each_uncertain_input_with_its_distribution_and_percentiles():
    uncertain, _ = inputs()
    rows = {row.key: row for row in uncertain}
    assert list(rows) == [  # the draw order
        "users.initial",
        "users.growth_per_month",
        "usage.requests_per_session",
        "usage.input_tokens_per_request",
        "variability.surges.launch.multiplier",
        "supply.uncertainty.h200-hgx.cost_per_gpu_hour",
    ]
    # lognormal, median 1000 and P95 2000: symmetric in log space, so P5 = 1000^2 / 2000
    initial = rows["users.initial"]
    assert (initial.dist, initial.units) == ("lognormal", "users")
    assert initial.parameters == "median=1,000, p95=2,000"
    assert (initial.p5, initial.median, initial.p95) == pytest.approx((500, 1000, 2000))
    # uniform on [1, 3]: 1 + 2q
    uniform = rows["usage.input_tokens_per_request"]
    assert uniform.parameters == "low=1, high=3"
    assert (uniform.p5, uniform.median, uniform.p95) == pytest.approx((1.1, 2.0, 2.9))
    # triangular with its mode at 1 on [1, 2]: F(x) = 1 - (2 - x)^2, so x = 2 - sqrt(1 - q)
    surge = rows["variability.surges.launch.multiplier"]
    assert surge.dist == "triangular"
    assert (surge.p5, surge.median, surge.p95) == pytest.approx(
        tuple(2 - math.sqrt(1 - q) for q in (0.05, 0.5, 0.95))
    )
    # a normal with no upper bound shows none (high = inf)
    assert rows["users.growth_per_month"].parameters == "mean=0.05, sd=0.02, low=0"
    assert rows["supply.uncertainty.h200-hgx.cost_per_gpu_hour"].units == "USD/GPU-hour"


def test_an_empirical_distribution_lists_a_few_values_and_counts_the_rest():
    uncertain, _ = inputs()
    (empirical,) = [row for row in uncertain if row.dist == "empirical"]
    assert empirical.parameters == "values=[8, 1, 2, 3, 4, 5, ... (8 values)]"
    # equal weight on 1..8: the q-quantile is the sorted value at floor(8q)
    assert (empirical.p5, empirical.median, empirical.p95) == (1, 5, 8)


def test_fixed_inputs_with_their_values_and_none_the_model_never_reads():
    _, fixed = inputs()
    values = {row.key: row.value for row in fixed}
    assert values["usage.sessions_per_user_per_day"] == 1
    assert values["usage.output_tokens_per_call"] == 100
    assert values["supply.uncertainty.h200-hgx.throughput_factor"] == 1
    # a measured profile never reads roofline efficiencies; no price, no elasticity
    assert not [key for key in values if key.endswith("_efficiency")]
    assert not [key for key in values if key.startswith("monetization.")]
    # unset (no saturation): not an input at all
    assert "users.saturation" not in values


def test_a_priced_product_lists_its_price_and_elasticity():
    _, fixed = inputs(SCENARIO + "\n[monetization]\nprice_per_mtok = 5\n")
    values = {row.key: row.value for row in fixed}
    assert values["monetization.price_per_mtok"] == 5
    assert values["monetization.elasticity"] == 0


@pytest.mark.parametrize(
    ("x", "text"),
    [(0, "0"), (1.5, "1.5"), (2500, "2,500"), (1234567, "1,234,567"), (0.001234, "0.001234"),
     (2e-5, "2e-05"), (3e16, "3e+16"), (-42.5, "-42.5")],
)  # fmt: skip
def test_numbers_as_the_tables_show_them(x, text):
    assert number(x) == text
