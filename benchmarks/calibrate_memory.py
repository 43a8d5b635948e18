"""Time and peak memory of reading a large trace in chunks.

    python benchmarks/calibrate_memory.py                        # 1e6 and 1e7 Azure-like rows
    python benchmarks/calibrate_memory.py --sizes 1e5,1e6 --format mooncake

For each size a synthetic trace is written to a temporary folder in blocks (an
Azure-like CSV of date, context and generated tokens, or Mooncake-like JSON lines
with prefix hash ids), then a fresh process opens it with ``open_trace`` and runs
two full passes of ``chunks()``, summing the tokens. The first pass includes the
checking read that finds the time span and the order of the rows, so it reads the
file twice; the second pass reads it once. The child's peak resident memory
(``wait4``'s ``ru_maxrss``) is set against the file size: memory bounded by the
chunk shows as a peak that does not grow with the trace. The sums are checked
against those written. Table to the screen, JSON to ``benchmarks/results/``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BLOCK_ROWS = 500_000  # rows generated and written at a time


def write_azure_like(path: Path, rows: int, seed: int = 1) -> dict:
    """A CSV like Azure's: 'YYYY-MM-DD HH:MM:SS.fffffff' UTC, ContextTokens, GeneratedTokens."""
    rng = np.random.default_rng(seed)
    start = np.datetime64("2023-11-16T18:00:00", "us")
    elapsed_us = 0
    totals = {"input_tokens": 0, "output_tokens": 0}
    with open(path, "w") as f:
        f.write("TIMESTAMP,ContextTokens,GeneratedTokens\n")
        for first in range(0, rows, BLOCK_ROWS):
            n = min(BLOCK_ROWS, rows - first)
            # About 200 requests a second; equal microseconds happen and are allowed.
            gaps = rng.exponential(5_000, n).astype(np.int64)
            stamps = start + (elapsed_us + np.cumsum(gaps)).astype("timedelta64[us]")
            elapsed_us += int(gaps.sum())
            inputs = rng.lognormal(7.0, 1.0, n).astype(np.int64)
            outputs = rng.lognormal(5.0, 0.8, n).astype(np.int64)
            totals["input_tokens"] += int(inputs.sum())
            totals["output_tokens"] += int(outputs.sum())
            text = np.datetime_as_string(stamps, unit="us")
            f.write(
                "".join(
                    f"{s[:10]} {s[11:]}0,{a},{b}\n"
                    for s, a, b in zip(text, inputs.tolist(), outputs.tolist(), strict=True)
                )
            )
    return totals


def write_mooncake_like(path: Path, rows: int, seed: int = 1) -> dict:
    """JSON lines like Mooncake's: ms timestamp, lengths and one hash id per 512 tokens."""
    rng = np.random.default_rng(seed)
    elapsed_ms = 0
    next_hash = 0
    totals = {"input_tokens": 0, "output_tokens": 0}
    with open(path, "w") as f:
        for first in range(0, rows, BLOCK_ROWS):
            n = min(BLOCK_ROWS, rows - first)
            times = elapsed_ms + np.cumsum(rng.exponential(5.0, n).astype(np.int64))
            elapsed_ms = int(times[-1])
            inputs = rng.lognormal(8.0, 0.8, n).astype(np.int64)
            outputs = rng.lognormal(5.0, 0.8, n).astype(np.int64)
            totals["input_tokens"] += int(inputs.sum())
            totals["output_tokens"] += int(outputs.sum())
            lines = []
            for t, a, b in zip(times.tolist(), inputs.tolist(), outputs.tolist(), strict=True):
                blocks = -(-a // 512)
                # A shared first block, as a common system prompt, then fresh blocks.
                ids = [0, *range(next_hash + 1, next_hash + blocks)]
                next_hash += blocks
                lines.append(
                    f'{{"timestamp": {t}, "input_length": {a}, "output_length": {b},'
                    f' "hash_ids": {json.dumps(ids)}}}\n'
                )
            f.write("".join(lines))
    return totals


def measure_calibration(path: Path, chunk_rows: int) -> None:
    """In a fresh process: the whole calibration (what `jevons calibrate` runs); prints a
    JSON line."""
    from jevons.calibrate.calibration import calibrate
    from jevons.calibrate.readers import open_trace

    baseline_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    started = time.perf_counter()
    result = calibrate(open_trace(path, chunk_rows=chunk_rows))
    print(
        json.dumps(
            {
                "rows": result.info.rows,
                "input_tokens": round(result.input_fit.mean * result.info.rows),
                "output_tokens": round(result.output_fit.mean * result.info.rows),
                "calibrate_s": round(time.perf_counter() - started, 2),
                "after_imports_rss_mib": round(baseline_mib),
                "mean_input_tokens": result.input_fit.mean,
                "burst_factor_60s": result.arrivals.burst(60).at_quantile,
            }
        )
    )


def measure(path: Path, chunk_rows: int) -> None:
    """In a fresh process: two passes over the trace; prints a JSON line."""
    from jevons.calibrate.readers import open_trace

    baseline_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    trace = open_trace(path, chunk_rows=chunk_rows)
    passes = []
    for _ in range(2):
        started = time.perf_counter()
        rows = input_tokens = output_tokens = 0
        for chunk in trace.chunks():
            rows += len(chunk)
            input_tokens += int(chunk.input_tokens.sum())
            output_tokens += int(chunk.output_tokens.sum())
        passes.append(round(time.perf_counter() - started, 2))
    print(
        json.dumps(
            {
                "rows": rows,
                "input_tokens": input_tokens,
                "output_tokens": output_tokens,
                "first_pass_s": passes[0],
                "second_pass_s": passes[1],
                "after_imports_rss_mib": round(baseline_mib),
                "sorted_in_time": trace.info.sorted_in_time,
            }
        )
    )


def run_child(arguments: list[str]) -> tuple[str, int]:
    """Run this script in a fresh process: its output and its peak resident memory [KiB].

    Writing and reading each get their own process, and this one stays small: Linux
    carries the parent's peak memory over into a child's ``ru_maxrss``.
    """
    process = subprocess.Popen(
        [sys.executable, __file__, *arguments], stdout=subprocess.PIPE, text=True
    )
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    if status != 0:
        raise SystemExit(f"{' '.join(arguments)} failed (status {status})")
    return output, usage.ru_maxrss


def run_once(path: Path, chunk_rows: int, whole: bool = False) -> dict:
    arguments = ["--measure", str(path), "--chunk-rows", str(chunk_rows)]
    output, peak_kib = run_child([*arguments, "--calibrate"] if whole else arguments)
    result = json.loads(output)
    result["peak_rss_mib"] = round(peak_kib / 1024)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="1e6,1e7")
    parser.add_argument("--format", choices=["azure", "mooncake"], default="azure")
    parser.add_argument("--chunk-rows", type=int, default=100_000)
    parser.add_argument(
        "--calibrate", action="store_true", help="time the whole calibration, not two passes"
    )
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--write", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--rows", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        (measure_calibration if args.calibrate else measure)(args.measure, args.chunk_rows)
        return
    if args.write:
        write = write_azure_like if args.format == "azure" else write_mooncake_like
        print(json.dumps(write(args.write, args.rows)))
        return

    suffix = ".csv" if args.format == "azure" else ".jsonl"
    results = []
    print(
        f"{'rows':>12} {'file MiB':>9} {'pass 1 s':>9} {'pass 2 s':>9}"
        f" {'rows/s (pass 2)':>16} {'peak RSS MiB':>13}"
    )
    with tempfile.TemporaryDirectory() as folder:
        for size in (int(float(s)) for s in args.sizes.split(",")):
            path = Path(folder) / f"trace-{size}{suffix}"
            started = time.perf_counter()
            totals = json.loads(
                run_child(["--write", str(path), "--rows", str(size), "--format", args.format])[0]
            )
            written_s = time.perf_counter() - started
            row = run_once(path, args.chunk_rows, args.calibrate)
            exact = (row["rows"], row["input_tokens"], row["output_tokens"]) == (
                size, totals["input_tokens"], totals["output_tokens"],
            )  # fmt: skip
            if not exact and not args.calibrate:  # a calibration's means are rounded
                raise SystemExit(f"{path}: the sums read differ from those written")
            if args.calibrate:
                row["first_pass_s"], row["second_pass_s"] = row["calibrate_s"], row["calibrate_s"]
            row["file_mib"] = round(path.stat().st_size / 2**20)
            row["write_s"] = round(written_s, 1)
            row["rows_per_s_second_pass"] = round(size / row["second_pass_s"])
            path.unlink()
            results.append(row)
            print(
                f"{size:>12,} {row['file_mib']:>9,} {row['first_pass_s']:>9.1f}"
                f" {row['second_pass_s']:>9.1f} {row['rows_per_s_second_pass']:>16,}"
                f" {row['peak_rss_mib']:>13,}",
                flush=True,
            )
    # Imported only now: this process must stay small while the children run.
    from benchmarks.throughput import cpu_name
    from jevons import __version__

    report = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "jevons_version": __version__,
        "format": args.format,
        "chunk_rows": args.chunk_rows,
        "cpu": cpu_name(),
        "cpu_cores": os.cpu_count(),
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "python": platform.python_version(),
        "note": (
            "the whole calibration (jevons.calibrate.calibration.calibrate: the checking read,"
            " then every analysis in one pass) in a fresh process; peak RSS is the whole"
            " process's, imports included"
            if args.calibrate
            else "two passes of open_trace(...).chunks() in a fresh process, summing tokens;"
            " the first pass includes the checking read (the file is read twice), the second"
            " reads it once; peak RSS is the whole process's, imports included"
        ),
        "rows": results,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    kind = "calibrate" if args.calibrate else "read"
    name = f"calibrate-memory-{kind}-{args.format}-chunk{args.chunk_rows}-{os.cpu_count()}cores"
    path = args.out / f"{name}-{dt.date.today()}.json"
    path.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
