"""``jevons describe`` as a user drives it."""

from pathlib import Path

import pytest
from typer.testing import CliRunner

from jevons.cli.describe import figure
from jevons.cli.main import app

runner = CliRunner()

# One day, no uncertainty: 100 users x 2 sessions x 5 requests of 900 input and 100 output
# tokens; 1,000 and 100 tokens/s per GPU, a flat day, 50% utilisation.
FLAT = """
[horizon]
start = 2027-01-04
steps = 1

[users]
initial = 100

[usage]
sessions_per_user_per_day = 2
requests_per_session = 5
input_tokens_per_request = 900
output_tokens_per_call = 100

[variability]
count_noise = false

[supply]
target_utilization = 0.5

[[supply.hardware]]
key = "test-gpu"
cost_per_gpu_hour = 2.0
decode_tokens_per_s = 100
prefill_tokens_per_s = 1000
power_kw = 1.0
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "scenario.toml"
    path.write_text(text)
    return path


def test_prints_each_layer_and_the_simulated_median(tmp_path):
    result = runner.invoke(
        app, ["describe", str(write(tmp_path, FLAT)), "-n", "4", "--backend", "numpy"]
    )
    assert result.exit_code == 0, result.output
    for layer in ("users", "sessions", "requests", "tokens", "reasoning", "agent loops",
                  "prefix cache", "calendar peak", "burst", "utilisation"):  # fmt: skip
        assert layer in result.output
    assert "simulated P50 of 4 trajectories (numpy)" in result.output
    requests = 100 * 2 * 5
    gpu_seconds = requests * (900 / 1000 + 100 / 100)
    peak_gpus = gpu_seconds / 86400 / 0.5
    cost_per_mtok = gpu_seconds / 3600 / 0.5 * 2.0 / (requests * 1000) * 1e6
    for figure_ in ("1,000", figure(gpu_seconds), figure(peak_gpus), figure(cost_per_mtok)):
        assert figure_ in result.output
    # no noise: the napkin and the run agree
    assert "per-step noise" not in result.output


def test_without_a_run(tmp_path):
    result = runner.invoke(app, ["describe", str(write(tmp_path, FLAT)), "-n", "0"])
    assert result.exit_code == 0, result.output
    assert "no simulation" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["missing.toml"], "no such file"),
        (["{bad}"], "not valid TOML"),
        (["{flat}", "--at", "2030-01-01"], "outside the horizon"),
        (["{flat}", "--at", "soon"], "--at"),
        (["{flat}", "--backend", "abacus"], "abacus"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path, args, message):
    bad = tmp_path / "bad.toml"
    bad.write_text("[horizon\n")
    flat = write(tmp_path, FLAT)
    args = [a.format(bad=bad, flat=flat) for a in args]
    if args[0] == "missing.toml":
        args[0] = str(tmp_path / "missing.toml")
    result = runner.invoke(app, ["describe", *args])
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1, result.output


@pytest.mark.slow
@pytest.mark.parametrize(("step", "steps"), [("1D", 365), ("7D", 3), ("1h", 30)])
def test_a_date_past_the_horizon_names_its_last_day(tmp_path, step, steps):
    """The horizon's last day is the one its last step starts on or runs through: 365
    days from 2027-01-04 end on 2028-01-03, three weeks on 2027-01-24, 30 hours on
    2027-01-05; the day after it is refused, the last day itself is described."""
    last = {"1D": "2028-01-03", "7D": "2027-01-24", "1h": "2027-01-05"}[step]
    after = {"1D": "2028-01-04", "7D": "2027-01-25", "1h": "2027-01-06"}[step]
    text = FLAT.replace("steps = 1", f'step = "{step}"\nsteps = {steps}')
    scenario = write(tmp_path, text)
    refused = runner.invoke(app, ["describe", str(scenario), "-n", "0", "--at", after])
    assert refused.exit_code == 2, refused.output
    assert refused.output.strip() == (
        f"error: --at: {after} lies outside the horizon, 2027-01-04 to {last}"
    )
    inside = runner.invoke(app, ["describe", str(scenario), "-n", "0", "--at", last])
    assert inside.exit_code == 0, inside.output


def test_negative_trajectories_refused(tmp_path):
    result = runner.invoke(app, ["describe", str(write(tmp_path, FLAT)), "-n", "-1"])
    assert result.exit_code == 2


@pytest.mark.slow
def test_the_readme_shows_the_current_output():
    """The README's example, run again: its second profile's table is left out there."""
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    scenario = Path(__file__).parents[2] / "scenarios" / "chat-assistant.toml"
    result = runner.invoke(app, ["describe", str(scenario), "--backend", "cpu"])
    assert result.exit_code == 0, result.output
    lines = [line.rstrip() for line in result.output.splitlines()]
    second = next(i for i, line in enumerate(lines) if "GPUs on gb200-nvl72" in line)
    closing = next(i for i, line in enumerate(lines) if line.strip().startswith("At the medians"))
    shown = [*lines[:second], "(the table for gb200-nvl72, alike, left out here)",
             *lines[closing:]]  # fmt: skip
    command = "$ jevons describe scenarios/chat-assistant.toml\n"
    assert "```\n" + command + "\n".join(shown) + "\n```" in readme
