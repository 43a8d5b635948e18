"""``jevons validate``: check a scenario without running it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from jevons.cli.console import out, user_errors
from jevons.engine.preparation.plan import build_plan
from jevons.engine.scenario.loading import load_scenario

app = typer.Typer()


@app.command()
def validate(scenario: Annotated[Path, typer.Argument(help="Scenario TOML file.")]) -> None:
    """Check SCENARIO and print what it will simulate."""
    with user_errors():
        parsed = load_scenario(scenario)
        plan = build_plan(parsed)
    h = parsed.horizon
    out.print(f"{scenario}: valid", highlight=False)
    out.print(
        f"  {parsed.simulation.trajectories:,} trajectories x {h.steps} steps of {h.step}"
        f" from {h.start} (seed {parsed.simulation.seed})",
        highlight=False,
    )
    at = parsed.supply.interactivity
    out.print(
        "  hardware"
        + (f" at {at:g} tokens/s per user" if at is not None else " at headline points")
        + " (prefill / output-only decode tokens/s per GPU):",
        highlight=False,
    )
    for profile, prefill, decode in zip(
        parsed.supply.hardware, plan.prefill_rate, plan.decode_rate, strict=True
    ):
        out.print(
            f"    {profile.key}: {prefill:,.0f} / {decode:,.1f} ({profile.kind})", highlight=False
        )
    out.print(
        f"  LLM calls per request {plan.calls_per_request:.4g}; thinking tokens per reasoning call"
        f" {plan.thinking_per_reasoning_call:.4g}",
        highlight=False,
    )
    if plan.fleet_sizes:
        out.print(f"  fixed fleet sizes: {', '.join(map(str, plan.fleet_sizes))}", highlight=False)
