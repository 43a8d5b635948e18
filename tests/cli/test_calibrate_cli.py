"""``jevons calibrate`` as a user runs it, on the shipped traces and on hostile input."""

import tomllib

import pytest
from typer.testing import CliRunner

from jevons.cli.main import app
from jevons.engine.scenario.loading import load_scenario
from tests.conftest import SCENARIOS, TRACES

runner = CliRunner()
MOONCAKE = TRACES / "mooncake_conversation_trace.jsonl"


@pytest.mark.slow
def test_mooncake_reproduces_its_known_figures(tmp_path):
    """12,031 requests over about an hour, mean input 12,035 and output 343 tokens, 36.6%
    of prefix blocks seen before (the trace README's figures, read off by a script)."""
    out = tmp_path / "fragment.toml"
    result = runner.invoke(app, ["calibrate", str(MOONCAKE), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "12,031 requests" in result.output
    assert "36.6% of blocks seen before" in result.output
    fragment = tomllib.loads(out.read_text())
    assert round(fragment["usage"]["input_tokens_per_request"]["mean"]) == 12035
    assert round(fragment["usage"]["output_tokens_per_call"]["mean"]) == 343
    assert fragment["usage"]["input_tokens_per_request"]["sd"] > 0
    assert 0.36 < fragment["cache"]["hit_rate"] < 0.38  # leading blocks: at least 36.6%
    assert fragment["variability"]["burst_factor"] >= 1.0
    assert "upper bound" in out.read_text()


@pytest.mark.slow
@pytest.mark.parametrize(
    ("trace", "scenario"),
    [
        ("azure_llm_inference_2023_conv.csv", "chat-assistant"),
        ("azure_llm_inference_2023_code.csv", "agentic-coding"),
        ("mooncake_conversation_trace.jsonl", "enterprise-rag"),
    ],
)
def test_into_a_shipped_scenario_gives_a_scenario_that_runs(tmp_path, trace, scenario):
    out = tmp_path / "calibrated.toml"
    result = runner.invoke(
        app,
        ["calibrate", str(TRACES / trace), "--into", str(SCENARIOS / f"{scenario}.toml"),
         "-o", str(out)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    calibrated = tomllib.loads(out.read_text())
    original = tomllib.loads((SCENARIOS / f"{scenario}.toml").read_text())
    assert calibrated["supply"] == original["supply"]  # untouched keys kept
    assert calibrated["usage"]["input_tokens_per_request"]["dist"] == "normal"
    load_scenario(out)
    run = runner.invoke(app, ["run", str(out), "-n", "50", "-o", str(tmp_path / "r.nc")])
    assert run.exit_code == 0, run.output


@pytest.mark.slow
def test_holdout_reports_each_mean(tmp_path):
    result = runner.invoke(app, ["calibrate", str(MOONCAKE), "--holdout", "0.5"])
    assert result.exit_code == 0, result.output
    assert "held-out check" in result.output
    for name in ("input_tokens_per_request", "output_tokens_per_call", "requests_per_s"):
        assert name in result.output


@pytest.mark.slow
def test_cache_capacity_picks_the_written_hit_rate(tmp_path):
    out = tmp_path / "f.toml"
    result = runner.invoke(
        app, ["calibrate", str(MOONCAKE), "--cache-capacity", "10000", "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    bounded = tomllib.loads(out.read_text())["cache"]["hit_rate"]
    assert 0.20 < bounded < 0.23  # 21.6% at 10k blocks, below the unbounded 37.4%
    assert "LRU cache of 10,000 blocks" in out.read_text()


HOSTILE = {
    "missing file": (None, "no such file"),
    "empty file": ("", "empty"),
    "one request": (
        '{"timestamp": 0, "input_length": 5, "output_length": 2, "hash_ids": [0]}\n',
        "two requests",
    ),
    "binary": ("\x00\x01\x02binary", "binary"),
    "negative tokens": (
        '{"timestamp": 0, "input_length": 5, "output_length": 2, "hash_ids": [0]}\n'
        '{"timestamp": 1, "input_length": -5, "output_length": 2, "hash_ids": [0]}\n',
        "line 2",
    ),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_bad_traces_get_one_line_exit_2_and_nothing_written(tmp_path, case):
    text, message = HOSTILE[case]
    trace = tmp_path / "trace.jsonl"
    if text is not None:
        trace.write_text(text)
    out = tmp_path / "f.toml"
    result = runner.invoke(app, ["calibrate", str(trace), "-o", str(out)])
    assert result.exit_code == 2, result.output
    assert message in result.output.lower()
    assert "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1, result.output
    assert not out.exists()


def test_into_without_output_is_refused(tmp_path):
    result = runner.invoke(
        app, ["calibrate", str(MOONCAKE), "--into", str(SCENARIOS / "chat-assistant.toml")]
    )
    assert result.exit_code == 2
    assert "--into needs --output" in result.output


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--cache-capacity", "inf"], "--cache-capacity: a whole number"),
        (["--cache-capacity", "1.5"], "--cache-capacity: a whole number"),
        (["--cache-capacity", "0"], "--cache-capacity: from 1"),
        (["--seed", "-1"], "--seed: a non-negative"),
        (["--holdout", "1.5"], "--holdout: a share"),
        (["--columns", "time"], "--columns: expected name=column pairs"),
    ],
)
def test_bad_options_are_one_line(tmp_path, options, message):
    out = tmp_path / "f.toml"
    result = runner.invoke(app, ["calibrate", str(MOONCAKE), *options, "-o", str(out)])
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert len(result.output.strip().splitlines()) == 1, result.output
    assert not out.exists()


def test_output_onto_the_trace_or_the_scenario_is_refused(tmp_path):
    trace = tmp_path / "trace.jsonl"
    trace.write_bytes(MOONCAKE.read_bytes())
    result = runner.invoke(app, ["calibrate", str(trace), "-o", str(trace)])
    assert result.exit_code == 2 and "is the trace file itself" in result.output
    assert trace.read_bytes() == MOONCAKE.read_bytes()
    scenario = tmp_path / "s.toml"
    scenario.write_text((SCENARIOS / "chat-assistant.toml").read_text())
    result = runner.invoke(
        app, ["calibrate", str(trace), "--into", str(scenario), "-o", str(scenario)]
    )
    assert result.exit_code == 2 and "is the --into file itself" in result.output
