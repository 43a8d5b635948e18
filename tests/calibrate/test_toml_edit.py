"""Scenario keys written into TOML: the other keys and every comment survive."""

import tomllib

import pytest

from jevons.calibrate.toml_edit import Setting, fragment_text, scenario_with
from jevons.engine.scenario.loading import parse_scenario_text
from tests.conftest import SCENARIOS

SETTINGS = [
    Setting(
        "usage.input_tokens_per_request",
        {"dist": "normal", "mean": 12035.5, "sd": 150.25, "low": 0.0},
        "bootstrap over 10-minute blocks",
    ),
    Setting("variability.burst_factor", 1.75, "P99 of 10 s windows"),
    Setting("variability.hour_weights", [1.0] * 24),
]


@pytest.mark.parametrize("name", ["chat-assistant", "agentic-coding", "enterprise-rag"])
def test_into_a_shipped_scenario_keeps_the_rest_and_validates(name):
    text = (SCENARIOS / f"{name}.toml").read_text()
    new = scenario_with(text, SETTINGS, ["calibrated from a trace"])
    before, after = tomllib.loads(text), tomllib.loads(new)
    assert after["usage"]["input_tokens_per_request"] == SETTINGS[0].value
    assert after["variability"]["burst_factor"] == 1.75
    assert after["variability"]["hour_weights"] == [1.0] * 24
    for section, table in before.items():
        for key, value in table.items() if isinstance(table, dict) else []:
            if f"{section}.{key}" not in {s.key for s in SETTINGS}:
                assert after[section][key] == value, f"{section}.{key}"
    # every comment line of the original is still there, in order
    comments = [line.strip() for line in text.splitlines() if line.strip().startswith("#")]
    kept = [line.strip() for line in new.splitlines() if line.strip().startswith("#")]
    assert all(c in kept for c in comments)
    # a replaced key says so, since the comments above it described the old value
    assert "# calibrated, replacing the value the comments above describe; bootstrap" in new
    parse_scenario_text(new)  # a valid scenario


def test_fragment_holds_only_the_settings():
    parsed = tomllib.loads(fragment_text(SETTINGS, ["from trace.jsonl", "12,031 requests"]))
    assert parsed == {
        "usage": {"input_tokens_per_request": SETTINGS[0].value},
        "variability": {"burst_factor": 1.75, "hour_weights": [1.0] * 24},
    }
