"""Helpers shared by the test modules: scenarios, writers and checks.

Test modules import from here (and fixtures come from ``conftest.py``); no test
module imports another.
"""

import math
import tomllib
from pathlib import Path

import numpy as np

from jevons.engine.scenario.loading import scenario_from_dict

GOOD = """
[horizon]
start = 2027-01-01
steps = 3

[simulation]
trajectories = 20

[users]
initial = { dist = "lognormal", median = 1000, p95 = 2000 }

[usage]
sessions_per_user_per_day = 1
requests_per_session = 2
input_tokens_per_request = 300
output_tokens_per_call = 100

[supply]
hardware = "h200-hgx"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "scenario.toml"
    path.write_text(text)
    return path


EARLIER = b"an earlier result"


def refused(result, *words: str) -> str:
    """The one error line of a refused command; it holds every one of ``words``."""
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert isinstance(result.exception, SystemExit)
    lines = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, result.output
    for word in words:
        assert word in lines[0], result.output
    return lines[0]


def earlier_output(folder: Path, name: str = "out.nc") -> Path:
    path = folder / name
    path.write_bytes(EARLIER)
    return path


def assert_datasets_equal(a, b, rtol=0.0):
    assert set(a.data_vars) == set(b.data_vars)
    for name in a.data_vars:
        np.testing.assert_allclose(
            a[name].values, b[name].values, rtol=rtol, atol=0, equal_nan=True, err_msg=name
        )


def _toml(value) -> str:
    """A TOML value (inline tables and arrays), enough for a scenario dict."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return (
            "nan"
            if math.isnan(value)
            else ("inf" if value > 0 else "-inf")
            if math.isinf(value)
            else repr(value)
        )
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return "{ " + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + " }"


def toml_document(data: dict) -> str:
    lines = [f"{k} = {_toml(v)}" for k, v in data.items() if not isinstance(v, dict)]
    for section, table in data.items():
        if isinstance(table, dict):
            lines.append(f"[{section}]")
            lines += [f"{k} = {_toml(v)}" for k, v in table.items()]
    return "\n".join(lines) + "\n"


DAYS_PER_MONTH = 365.25 / 12


def hand_arithmetic():
    """HAND_SCENARIO worked by hand: each of its three daily steps, every layer."""
    t = np.arange(3)
    users = 1000 * 1.1 ** (t / DAYS_PER_MONTH)
    requests = users * 2 * 3
    calls = 4 * requests
    input_tokens = requests * (500 * 4 + 100 * 4 * 3 / 2)
    output = 200 * calls
    thinking = calls * 0.25 * 600  # min(1000, budget 600)
    prefill = 0.5 * input_tokens
    prefill_seconds = prefill / 1000
    decode_seconds = (output + thinking) / 100
    gpu_hours = (prefill_seconds + decode_seconds) / 3600 / 0.5
    peak_share = 3 / 26  # busiest hour's weight / sum of the day's weights
    cost = gpu_hours * 2.0 + gpu_hours * 1.0 * 0.1
    return {
        "users": users,
        "requests": requests,
        "llm_calls": calls,
        "input_tokens": input_tokens,
        "cached_input_tokens": 0.5 * input_tokens,
        "prefill_tokens": prefill,
        "output_tokens": output,
        "thinking_tokens": thinking,
        "cache_hit_rate": np.full(3, 0.5),
        "gpu_hours": gpu_hours,
        "peak_gpus": gpu_hours * peak_share,
        "peak_prefill_gpus": prefill_seconds / 3600 / 0.5 * peak_share,
        "peak_decode_gpus": decode_seconds / 3600 / 0.5 * peak_share,
        "peak_hour_requests": requests * peak_share,
        "cost": cost,
        "energy_kwh": gpu_hours,
        "cost_per_mtok": cost / output * 1e6,
        "cost_per_mtok_all": cost / (input_tokens + output + thinking) * 1e6,
        "tokens_per_mw": (output + thinking) * 1000 / (gpu_hours * 3600),
    }


def short_scenario(path, steps):
    """A shipped scenario cut to a few steps (surges outside them dropped)."""
    with open(path, "rb") as f:
        data = tomllib.load(f)
    data["horizon"]["steps"] = steps
    data.get("variability", {}).pop("surges", None)
    return scenario_from_dict(data)


def calendar_cases(hand_dict):
    """Hourly and weekly steps, surges covering part of a step (above and below 1),
    fixed fleets and count noise: the paths the daily shipped scenarios do not take."""
    base = {
        "users": {"initial": {"dist": "lognormal", "median": 30, "p95": 3000}, "volatility": 0.3},
        "fleet": {"policy": "fixed", "sizes": [1, 4, 40]},
    }
    hourly = {
        **base,
        "horizon": {"start": "2027-01-01", "step": "1h", "steps": 48},
        "surges": [{"name": "launch", "start": "2027-01-02", "end": "2027-01-02",
                    "multiplier": {"dist": "uniform", "low": 0.5, "high": 3}}],
    }  # fmt: skip
    weekly = {
        **base,
        "horizon": {"start": "2027-01-01", "step": "7D", "steps": 4},
        "surges": [{"name": "lull", "start": "2027-01-09", "end": "2027-01-10",
                    "multiplier": {"dist": "uniform", "low": 0, "high": 2}}],
    }  # fmt: skip
    cases = []
    for case in (hourly, weekly):
        d = {
            **hand_dict,
            "users": case["users"],
            "fleet": case["fleet"],
            "horizon": case["horizon"],
        }
        d["variability"] = {
            **hand_dict["variability"], "count_noise": True, "step_noise": 0.2,
            "weekday_weights": [1, 1, 1, 1, 1.2, 0.6, 0.5], "surges": case["surges"],
        }  # fmt: skip
        cases.append(scenario_from_dict(d))
    return cases


# Random123 kat_vectors, "philox4x32 10": counter (4 words), key (2 words), expected (4 words).
KNOWN_ANSWERS = [
    (
        (0x00000000, 0x00000000, 0x00000000, 0x00000000),
        (0x00000000, 0x00000000),
        (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8),
    ),
    (
        (0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF),
        (0xFFFFFFFF, 0xFFFFFFFF),
        (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD),
    ),
    (
        (0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344),
        (0xA4093822, 0x299F31D0),
        (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1),
    ),
]
