"""How much a sampling design narrows the P95 of total_cost at an equal trajectory count.

    python benchmarks/sampling_gain.py                       # n = 1024, 20 seeds, 365 steps
    python benchmarks/sampling_gain.py --steps 90 --seeds 40

For each design (``mc``, ``lhs``, ``sobol``) the scenario runs once per seed
(seeds 0 .. S-1, exact summaries, one backend), and the P95 of ``total_cost``
is read from each run. The spread of those estimates over seeds is the
design's sampling error: its 95% confidence half-width is 1.96 times their
standard deviation (the estimates are close to normal at n = 1024). The
variance ratio to ``mc`` says how many times more plain Monte Carlo
trajectories would give the same precision. ``--steps`` shortens the horizon
(a copy of the scenario, in memory) to fit a small machine. The table goes to
the screen and JSON to ``benchmarks/results/``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import sys
import time
import tomllib
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.throughput import cpu_name  # noqa: E402
from jevons import __version__  # noqa: E402
from jevons.engine.execution.run import run_scenario  # noqa: E402
from jevons.engine.execution.settings import RunSettings  # noqa: E402
from jevons.engine.scenario.loading import scenario_from_dict  # noqa: E402

DESIGNS = ("mc", "lhs", "sobol")
Z_95 = 1.959963984540054  # two-sided 95% normal quantile


def p95_estimates(
    table: dict, design: str, n: int, seeds: int, backend: str
) -> dict[str, list[float]]:
    """The P95 of total_cost [USD] of each seed's run, per hardware profile."""
    table = {**table, "simulation": {**table.get("simulation", {}), "sampling": design}}
    scenario = scenario_from_dict(table)
    estimates: dict[str, list[float]] = {}
    for seed in range(seeds):
        ds = run_scenario(
            scenario, RunSettings(trajectories=n, seed=seed, backend=backend, summary="exact")
        )
        p95 = ds["total_cost"].sel(quantile=0.95)
        for hardware in p95["hardware"].values:
            estimates.setdefault(str(hardware), []).append(float(p95.sel(hardware=hardware)))
    return estimates


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scenario", type=Path, default=ROOT / "scenarios" / "chat-assistant.toml")
    parser.add_argument("--trajectories", type=int, default=1024)
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--steps", type=int, default=None, help="shorten the horizon to this")
    parser.add_argument("--backend", default="cpu")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    args = parser.parse_args()

    table = tomllib.loads(args.scenario.read_text())
    if args.steps is not None:
        table["horizon"] = {**table["horizon"], "steps": args.steps}
    steps = scenario_from_dict(table).horizon.steps
    # compile once, off the clock
    run_scenario(scenario_from_dict(table), RunSettings(trajectories=16, backend=args.backend))
    rows: dict[str, dict[str, dict]] = {}
    print(f"{'hardware':>12} {'design':>7} {'mean P95 [USD]':>15} {'half-width [USD]':>17}"
          f" {'relative':>9} {'var. ratio':>10}")  # fmt: skip
    for design in DESIGNS:
        started = time.perf_counter()
        per_hardware = p95_estimates(table, design, args.trajectories, args.seeds, args.backend)
        seconds = round(time.perf_counter() - started, 1)
        for hardware, estimates in per_hardware.items():
            mean, sd = float(np.mean(estimates)), float(np.std(estimates, ddof=1))
            mc_sd = rows.get(hardware, {}).get("mc", {}).get("p95_total_cost_sd_usd", sd)
            rows.setdefault(hardware, {})[design] = {
                "p95_total_cost_mean_usd": mean,
                "p95_total_cost_sd_usd": sd,
                "half_width_95_usd": Z_95 * sd,
                "relative_half_width": Z_95 * sd / mean,
                "mc_variance_ratio": (mc_sd / sd) ** 2,
                "seconds_all_hardware": seconds,
                "estimates_usd": estimates,
            }
            print(f"{hardware:>12} {design:>7} {mean:>15,.0f} {Z_95 * sd:>17,.0f}"
                  f" {Z_95 * sd / mean:>9.2%} {(mc_sd / sd) ** 2:>10.2f}", flush=True)  # fmt: skip
    report = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "jevons_version": __version__,
        "scenario": args.scenario.name,
        "steps": steps,
        "trajectories": args.trajectories,
        "seeds": args.seeds,
        "backend": args.backend,
        "summary": "exact",
        "cpu": cpu_name(),
        "cpu_cores": os.cpu_count(),
        "python": platform.python_version(),
        "note": (
            "half_width_95_usd = 1.96 x the standard deviation over seeds of the P95 of"
            " total_cost of each hardware profile; mc_variance_ratio = (sd_mc / sd)^2, the factor"
            " of plain Monte Carlo trajectories the design saves"
        ),
        "hardware": rows,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / (
        f"sampling-gain-{args.backend}-n{args.trajectories}-steps{steps}"
        f"-{os.cpu_count()}cores-{dt.date.today()}.json"
    )
    path.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
