"""Two (or more) versions of jevons, timed side by side in one run on one machine.

    python benchmarks/side_by_side.py --revisions 52596f2,HEAD
    python benchmarks/side_by_side.py --revisions v0.4.0,HEAD --scenarios chat-assistant \\
        --trajectories 1e5 --backend cpu --repeat 3

Each revision is checked out into a temporary git worktree and run from there
(``PYTHONPATH``), with this environment's packages. Every measurement is a
whole ``jevons run`` process (start-up, compile cache read, simulation,
percentiles, the result file written), as a batch job pays for it. After one
warm-up run per revision (which fills its compile cache), the revisions take
turns, ``--repeat`` times, so that a busy machine slows them alike; each
figure is the fastest of its runs, with the peak memory (maximum resident set)
of that run. The table goes to the screen and the JSON to
``benchmarks/results/``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def git(*args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout.strip()


def timed_run(checkout: Path, scenario: Path, n: int, backend: str, out: Path) -> tuple[float, int]:
    """Wall seconds and peak resident memory (bytes) of one ``jevons run`` process."""
    env = dict(os.environ, PYTHONPATH=str(checkout))
    command = [sys.executable, "-m", "jevons", "run", str(scenario), "-n", str(n),
               "--backend", backend, "-q", "-o", str(out)]  # fmt: skip
    start = time.perf_counter()
    child = subprocess.Popen(command, env=env, cwd=checkout, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE)  # fmt: skip
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - start
    error = child.stderr.read().decode(errors="replace") if child.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{checkout.name}: jevons run failed:\n{error[-2000:]}")
    return seconds, usage.ru_maxrss * 1024  # Linux reports kilobytes


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--revisions", required=True, help="git revisions, comma-separated")
    parser.add_argument("--scenarios", default="chat-assistant,enterprise-rag")
    parser.add_argument("--trajectories", default="1e5")
    parser.add_argument("--backend", default="cpu")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    args = parser.parse_args()

    n = int(float(args.trajectories))
    revisions = [r.strip() for r in args.revisions.split(",") if r.strip()]
    commits = {r: git("rev-parse", "--short", r) for r in revisions}
    scenarios = [ROOT / "scenarios" / f"{name}.toml" for name in args.scenarios.split(",")]
    best: dict[tuple[str, str], tuple[float, int]] = {}
    with tempfile.TemporaryDirectory() as folder:
        checkouts = {}
        for revision in revisions:
            checkout = Path(folder, f"jevons-{commits[revision]}")
            git("worktree", "add", "--detach", str(checkout), commits[revision])
            checkouts[revision] = checkout
        try:
            out = Path(folder, "result.nc")
            for revision, checkout in checkouts.items():  # fills each one's compile cache
                timed_run(checkout, scenarios[0], 1000, args.backend, out)
                print(f"{revision} ({commits[revision]}): warmed up", flush=True)
            for round_ in range(args.repeat):
                for scenario in scenarios:
                    for revision, checkout in checkouts.items():
                        seconds, memory = timed_run(checkout, scenario, n, args.backend, out)
                        key = (revision, scenario.stem)
                        if key not in best or seconds < best[key][0]:
                            best[key] = (seconds, memory)
                        print(f"round {round_ + 1}: {scenario.stem} {revision}: {seconds:.2f} s,"
                              f" {memory / 2**20:.0f} MiB", flush=True)  # fmt: skip
        finally:
            for checkout in checkouts.values():
                git("worktree", "remove", "--force", str(checkout))

    print(f"\n{args.backend}, {n:,} trajectories, whole processes, fastest of {args.repeat}:")
    rows = []
    for scenario in scenarios:
        for revision in revisions:
            seconds, memory = best[revision, scenario.stem]
            first = best[revisions[0], scenario.stem][0]
            rows.append({"scenario": scenario.stem, "revision": revision,
                         "commit": commits[revision], "seconds": round(seconds, 3),
                         "peak_memory_mib": round(memory / 2**20, 1),
                         "relative_to_first": round(seconds / first, 3)})  # fmt: skip
            label = f"{revision} ({commits[revision]})"
            print(f"  {scenario.stem:16s} {label:>22s}: {seconds:7.2f} s"
                  f" {memory / 2**20:6.0f} MiB  x{seconds / first:.3f}")  # fmt: skip
    stamp = dt.date.today().isoformat()
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"side-by-side-{args.backend}-{os.cpu_count()}cores-{stamp}.json"
    path.write_text(json.dumps({
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": platform.processor() or platform.machine(), "cpu_cores": os.cpu_count(),
        "backend": args.backend, "trajectories": n, "repeat": args.repeat,
        "timing": "whole `jevons run` processes, warm compile cache, fastest of the rounds",
        "results": rows,
    }, indent=2) + "\n")  # fmt: skip
    print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
