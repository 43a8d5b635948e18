"""Every output variable once: its units, meaning, extra dims and how it is summarised.

``stat = "quantiles"``: percentiles over trajectories plus a ``<name>_mean``.
``stat = "probability"``: the variable is a 0/1 event per trajectory; its mean,
the probability, is reported under ``name``.
``scope = "step"``: one value per time step; ``"horizon"``: one per trajectory
over the whole horizon (totals, maxima), reported without a time dim.
``cvar_of``: a tail mean (CVaR) of another horizon variable's samples, by quantile.
``exceedance_of``: the share of trajectories whose value of another horizon
variable lies above each threshold the user gives (``[risk.thresholds]``,
``--threshold``), by threshold.
The catalogue sits in the bottom layer because every layer above names variables
from it: the scenario (thresholds, sweep keys), the summaries and the output.
``ci_of`` (with ``ci_bound``): a 95% distribution-free confidence bound of each
quantile of another variable, from order statistics
(:mod:`jevons.engine.summaries.confidence`); a sketched summary widens each bound by
the sketch's relative accuracy, so it still holds the order statistic.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

HW = ("hardware",)
FLEET = ("fleet_size", "hardware")
RESERVE = ("hardware", "period")  # simulation.reserve_period


@dataclass(frozen=True)
class Variable:
    name: str
    units: str
    description: str
    lead_dims: tuple[str, ...] = ()
    stat: Literal["quantiles", "probability"] = "quantiles"
    scope: Literal["step", "horizon"] = "step"
    cvar_of: str | None = None  # a tail mean computed from another variable's samples
    exceedance_of: str | None = None  # P(another variable > threshold), by threshold
    ci_of: str | None = None  # a confidence bound of another variable's quantiles
    ci_bound: Literal["low", "high"] = "low"

    @property
    def derived(self) -> bool:
        """Computed from another variable's samples: no summary (sketch) of its own."""
        return any(of is not None for of in (self.cvar_of, self.exceedance_of, self.ci_of))


def _cvar(of: str, units: str, lead_dims: tuple[str, ...], what: str, name: str = "") -> Variable:
    return Variable(
        name or f"{of}_cvar",
        units,
        f"mean {what} in the worst (1 - quantile) share of trajectories",
        lead_dims,
        scope="horizon",
        cvar_of=of,
    )


def _exceedance(of: str, what: str) -> Variable:
    return Variable(
        f"{of}_exceedance_probability",
        "1",
        f"probability that {what} exceeds the threshold",
        HW,
        "probability",
        "horizon",
        exceedance_of=of,
    )


def _confidence(of: Variable) -> list[Variable]:
    return [
        Variable(
            f"{of.name}_ci_{bound}",
            of.units,
            f"{'lower' if bound == 'low' else 'upper'} bound of the 95% confidence interval"
            f" of each quantile of {of.name} (order statistics)",
            of.lead_dims,
            scope=of.scope,
            ci_of=of.name,
            ci_bound=bound,
        )
        for bound in ("low", "high")
    ]


_STEP = [
    Variable("users", "users", "active users at the step"),
    Variable("requests", "requests", "user requests in the step"),
    Variable("peak_hour_requests", "requests/hour", "requests in the busiest hour of the step"),
    Variable("llm_calls", "calls", "LLM calls in the step (requests x agent loop calls)"),
    Variable("input_tokens", "tokens", "input tokens over all calls, cached or not"),
    Variable("cached_input_tokens", "tokens", "input tokens served from the KV/prefix cache"),
    Variable("prefill_tokens", "tokens", "input tokens prefilled (not cached)"),
    Variable("output_tokens", "tokens", "visible output tokens"),
    Variable("thinking_tokens", "tokens", "reasoning tokens decoded but not shown"),
    Variable("cache_hit_rate", "1", "share of input tokens served from cache"),
    Variable("gpu_hours", "GPU-hours", "GPU-hours at target utilisation (elastic)", HW),
    Variable("peak_gpus", "GPUs", "GPUs needed in the busiest hour at target utilisation", HW),
    Variable(
        "peak_prefill_gpus",
        "GPUs",
        "prefill GPUs needed in the busiest hour at target utilisation (disaggregated pools)",
        HW,
    ),
    Variable(
        "peak_decode_gpus",
        "GPUs",
        "decode GPUs needed in the busiest hour at target utilisation (disaggregated pools)",
        HW,
    ),
    Variable("cost", "USD", "GPU-hours x $/GPU-hour, plus energy if priced (elastic)", HW),
    Variable("energy_kwh", "kWh", "energy of the GPU-hours at the profile's all-in power", HW),
    Variable(
        "cost_per_mtok",
        "USD per million output tokens",
        "cost per million visible output tokens",
        HW,
    ),
    Variable(
        "cost_per_mtok_all",
        "USD per million tokens",
        "cost per million tokens processed: input (cached or not) + visible output + thinking",
        HW,
    ),
    Variable("tokens_per_mw", "tokens/s per MW", "decoded tokens per second per MW of power", HW),
    Variable(
        "utilization",
        "1",
        "served GPU-hours / (fleet size x step hours): the busy share of a fixed fleet",
        FLEET,
    ),
    Variable(
        "unserved_tokens",
        "tokens",
        "output tokens of the work above the fleet, hour by hour, in the step",
        FLEET,
    ),
    Variable(
        "shortfall_probability",
        "1",
        "probability that some hour of the step needs more GPUs than the fleet",
        FLEET,
        "probability",
    ),
    Variable(
        "target_breach_probability",
        "1",
        "probability that the busiest hour needs more than target utilisation x the fleet",
        FLEET,
        "probability",
    ),
    Variable(
        "revenue",
        "USD",
        "visible output tokens x the price per output token ([monetization])",
        HW,
    ),
    Variable("gross_margin", "USD", "revenue - cost (elastic)", HW),
]

_HORIZON = [
    Variable("total_requests", "requests", "requests over the horizon", scope="horizon"),
    Variable("total_llm_calls", "calls", "LLM calls over the horizon", scope="horizon"),
    Variable("total_input_tokens", "tokens", "input tokens over the horizon", scope="horizon"),
    Variable(
        "total_output_tokens", "tokens", "visible output tokens over the horizon", scope="horizon"
    ),
    Variable(
        "total_thinking_tokens", "tokens", "thinking tokens over the horizon", scope="horizon"
    ),
    Variable(
        "total_tokens",
        "tokens",
        "input + output + thinking tokens over the horizon",
        scope="horizon",
    ),
    Variable(
        "total_gpu_hours", "GPU-hours", "GPU-hours over the horizon (elastic)", HW, scope="horizon"
    ),
    Variable("total_cost", "USD", "cost over the horizon (elastic)", HW, scope="horizon"),
    Variable("total_energy_kwh", "kWh", "energy over the horizon (elastic)", HW, scope="horizon"),
    Variable(
        "max_peak_gpus", "GPUs", "largest peak-hour GPU need over the horizon", HW, scope="horizon"
    ),
    Variable(
        "max_peak_prefill_gpus",
        "GPUs",
        "largest peak-hour prefill GPU need over the horizon",
        HW,
        scope="horizon",
    ),
    Variable(
        "max_peak_decode_gpus",
        "GPUs",
        "largest peak-hour decode GPU need over the horizon",
        HW,
        scope="horizon",
    ),
    Variable(
        "horizon_cost_per_mtok",
        "USD per million output tokens",
        "total cost / total output tokens",
        HW,
        scope="horizon",
    ),
    Variable(
        "horizon_cost_per_mtok_all",
        "USD per million tokens",
        "total cost / total tokens processed (input + output + thinking)",
        HW,
        scope="horizon",
    ),
    # cost_cvar is total_cost's CVaR under its first name, kept for existing readers
    _cvar("total_cost", "USD", HW, "total cost", name="cost_cvar"),
    _cvar("total_cost", "USD", HW, "total cost"),
    _cvar("max_peak_gpus", "GPUs", HW, "max peak GPUs"),
    _cvar(
        "horizon_cost_per_mtok",
        "USD per million output tokens",
        HW,
        "horizon cost per million output tokens",
    ),
    _cvar("total_tokens", "tokens", (), "total tokens"),
    _cvar("total_gpu_hours", "GPU-hours", HW, "total GPU-hours"),
    _exceedance("total_cost", "the total cost over the horizon"),
    _exceedance("max_peak_gpus", "the largest peak-hour GPU need over the horizon"),
    Variable(
        "total_unserved_tokens",
        "tokens",
        "output tokens of the work above the fleet over the horizon",
        FLEET,
        scope="horizon",
    ),
    Variable(
        "fleet_cost_per_mtok",
        "USD per million output tokens",
        "fixed fleet cost per million served output tokens",
        FLEET,
        scope="horizon",
    ),
    Variable(
        "any_shortfall_probability",
        "1",
        "probability that some hour of the horizon needs more GPUs than the fleet",
        FLEET,
        "probability",
        "horizon",
    ),
    Variable(
        "any_target_breach_probability",
        "1",
        "probability that some hour of the horizon needs more than target utilisation x the fleet",
        FLEET,
        "probability",
        "horizon",
    ),
    Variable("total_revenue", "USD", "revenue over the horizon", HW, scope="horizon"),
    Variable(
        "total_gross_margin",
        "USD",
        "revenue - cost over the horizon (elastic)",
        HW,
        scope="horizon",
    ),
    Variable(
        "loss_probability",
        "1",
        "probability that the gross margin over the horizon is below 0",
        HW,
        "probability",
        "horizon",
    ),
    Variable(
        "reserve_gpus",
        "GPUs",
        "largest peak-hour GPU need within the period: at quantile q, the fleet that covers"
        " the period's busiest hour with probability at least q",
        RESERVE,
        scope="horizon",
    ),
]

# Main outputs whose quantiles get confidence intervals.
CONFIDENCE_OF = ("peak_gpus", "total_cost", "max_peak_gpus", "horizon_cost_per_mtok")
# source variable -> its (lower, upper) confidence-bound variables
CONFIDENCE_BOUNDS: dict[str, tuple[str, str]] = {
    name: (f"{name}_ci_low", f"{name}_ci_high") for name in CONFIDENCE_OF
}
_BY_NAME = {v.name: v for v in _STEP + _HORIZON}
_CONFIDENCE = [bound for name in CONFIDENCE_OF for bound in _confidence(_BY_NAME[name])]

VARIABLES: dict[str, Variable] = {v.name: v for v in _STEP + _HORIZON + _CONFIDENCE}

# Horizon variables whose exceedance probability a user can ask for, at thresholds of theirs.
EXCEEDANCE_OF: tuple[str, ...] = tuple(
    v.exceedance_of for v in VARIABLES.values() if v.exceedance_of
)

# Reported only for a scenario with a [monetization] table.
MONETIZED: tuple[str, ...] = (
    "revenue", "gross_margin", "total_revenue", "total_gross_margin", "loss_probability",
)  # fmt: skip
# Variables that can fall below 0: a sketch holds magnitudes, so a sketched summary keeps
# each in two sketches, of its values >= 0 and of its negative values' magnitudes
# (jevons.engine.summaries.signed).
SIGNED: tuple[str, ...] = ("gross_margin", "total_gross_margin")
