"""How time and memory grow with the trajectory count (sketched summaries).

    python benchmarks/scaling.py                                  # 1e4 .. 1e7, daily steps
    python benchmarks/scaling.py --sizes 1e4,1e5,1e6,1e7,1e8      # the full curve

Each size runs ``jevons run`` in a fresh process with ``--summary sketch``, so
memory is one chunk of trajectories plus the sketches whatever the size; the
process's wall time and peak resident memory (``wait4``'s ``ru_maxrss``) are
recorded. Linear scaling shows as a constant time per trajectory-step. The
table goes to the screen and JSON to ``benchmarks/results/``.
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
sys.path.insert(0, str(ROOT))

from benchmarks.throughput import cpu_name  # noqa: E402
from jevons import __version__  # noqa: E402


def run_once(scenario: Path, n: int, backend: str, folder: Path) -> dict:
    output = folder / f"run-{n}.nc"
    command = [sys.executable, "-m", "jevons", "run", str(scenario), "-n", str(n),
               "--summary", "sketch", "--backend", backend, "-q", "-o", str(output)]  # fmt: skip
    started = time.perf_counter()
    process = subprocess.Popen(command)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    if status != 0:
        raise SystemExit(f"jevons run failed for n={n} (status {status})")
    output.unlink()
    return {
        "trajectories": n,
        "seconds": round(seconds, 2),
        "peak_rss_mib": usage.ru_maxrss // 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scenario", type=Path, default=ROOT / "scenarios" / "chat-assistant.toml")
    parser.add_argument("--sizes", default="1e4,1e5,1e6,1e7")
    parser.add_argument("--backend", default="cpu")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    args = parser.parse_args()
    sizes = [int(float(s)) for s in args.sizes.split(",")]

    from jevons.engine.scenario.loading import load_scenario

    steps = load_scenario(args.scenario).horizon.steps
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        run_once(args.scenario, 1000, args.backend, Path(folder))  # compile once, off the clock
        print(f"{'trajectories':>14} {'seconds':>9} {'ns/traj-step':>13} {'peak RSS':>10}")
        for n in sizes:
            row = run_once(args.scenario, n, args.backend, Path(folder))
            row["ns_per_trajectory_step"] = round(row["seconds"] / (n * steps) * 1e9, 2)
            rows.append(row)
            print(f"{n:>14,} {row['seconds']:>9.1f} {row['ns_per_trajectory_step']:>13.2f}"
                  f" {row['peak_rss_mib']:>7,} MiB", flush=True)  # fmt: skip
    report = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "jevons_version": __version__,
        "scenario": args.scenario.name,
        "steps": steps,
        "backend": args.backend,
        "summary": "sketch",
        "cpu": cpu_name(),
        "cpu_cores": os.cpu_count(),
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "python": platform.python_version(),
        "note": "wall time of a whole `jevons run` process (start-up and writing included)",
        "rows": rows,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"scaling-{args.backend}-{os.cpu_count()}cores-{dt.date.today()}.json"
    path.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
