"""``jevons calibrate``: scenario inputs from a serving trace."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from jevons.cli.console import err, out, print_table, stderr_is_terminal, user_errors
from jevons.errors import JevonsError

app = typer.Typer()

MAX_CACHE_BLOCKS = 10**12  # 512 PB of KV cache: more than any fleet holds


def _columns(text: str | None) -> dict[str, str] | None:
    if text is None:
        return None
    mapping = {}
    for part in text.split(","):
        name, sep, column = part.partition("=")
        if not sep or not name.strip() or not column.strip():
            raise JevonsError(
                f"--columns: expected name=column pairs such as time=ts,input=prompt,"
                f"output=completion, got {part!r}"
            )
        mapping[name.strip()] = column.strip()
    return mapping


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve() or (b.exists() and a.samefile(b))
    except OSError:
        return False


def _capacity(text: str | None) -> int | None:
    if text is None or text == "unbounded":
        return None
    try:
        value = int(text.replace("_", ""))
    except ValueError:
        raise JevonsError(
            f"--cache-capacity: a whole number of 512-token blocks or 'unbounded', got {text!r}"
        ) from None
    if not 1 <= value <= MAX_CACHE_BLOCKS:
        raise JevonsError(
            f"--cache-capacity: from 1 to {MAX_CACHE_BLOCKS:.0e} blocks, got {text!r}"
        )
    return value


@app.command()
def calibrate(
    trace: Annotated[
        Path, typer.Argument(help="Trace file: Mooncake JSONL, Azure, BurstGPT or CSV.")
    ],
    output: Annotated[
        Path | None,
        typer.Option(
            "--output", "-o", help="Write the TOML fragment (or, with --into, the scenario)."
        ),
    ] = None,
    into: Annotated[
        Path | None,
        typer.Option(help="A scenario to write the calibrated keys into; the rest is kept."),
    ] = None,
    format: Annotated[
        str | None,
        typer.Option("--format", help="mooncake, azure, burstgpt or csv (default: detected)."),
    ] = None,
    columns: Annotated[
        str | None,
        typer.Option(help="Generic CSV columns: time=...,input=...,output=...[,session=...]."),
    ] = None,
    skip_bad: Annotated[
        bool, typer.Option("--skip-bad", help="Count and skip malformed rows instead of stopping.")
    ] = False,
    holdout: Annotated[
        float | None,
        typer.Option(
            help="Hold out this share of the trace's span (at its end) and check the fit on it."
        ),
    ] = None,
    cache_capacity: Annotated[
        str | None,
        typer.Option(
            help="Prefix-cache capacity in 512-token blocks for cache.hit_rate"
            " (default: unbounded)."
        ),
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the bootstrap resampling.")] = 0,
) -> None:
    """Fit scenario inputs to a serving trace: tokens, cache hit rate, arrivals, sessions.

    Token means with their uncertainty, the per-request shapes, the prefix-cache hit
    rate, arrivals and bursts, sessions."""
    from jevons.calibrate.calibration import calibrate as run_calibration
    from jevons.calibrate.fragment import header, settings
    from jevons.calibrate.prefix_cache import DEFAULT_CAPACITY_BLOCKS
    from jevons.calibrate.readers import open_trace
    from jevons.calibrate.toml_edit import fragment_text, scenario_with
    from jevons.engine.output.files import check_file_target, write_text
    from jevons.engine.scenario.loading import parse_scenario_text, read_scenario_text

    with user_errors():
        if into is not None and output is None:
            raise JevonsError("--into needs --output (-o), the new scenario's file")
        if output is not None:
            check_file_target(output)  # before the trace is read and its report printed
        if seed < 0:
            raise JevonsError(f"--seed: a non-negative whole number, got {seed}")
        for name, given in (("--into", into), ("trace", trace)):
            if given is not None and output is not None and _same_file(given, output):
                raise JevonsError(
                    f"--output {output} is the {name} file itself; give another name with -o"
                )
        if holdout is not None and not 0.0 < holdout < 1.0:
            raise JevonsError(f"--holdout: a share strictly between 0 and 1, got {holdout:g}")
        capacity = _capacity(cache_capacity)
        base_text = read_scenario_text(into) if into is not None else None
        calls_per_request, thinking_share = 1.0, 0.0
        if into is not None:  # a scenario to start from must be valid
            base = parse_scenario_text(base_text, str(into))
            calls_per_request = base.agents.calls_moments()[0]
            thinking_share = base.reasoning.share.mean()
        reader = open_trace(trace, format=format, columns=_columns(columns), skip_bad=skip_bad)
        bounded = {c for c in DEFAULT_CAPACITY_BLOCKS if c is not None}
        if capacity is not None:
            bounded.add(capacity)
        reading = f"reading {trace}"
        status = err.status(reading) if stderr_is_terminal() else contextlib.nullcontext()
        try:
            with status as shown:

                def progress(rows: int) -> None:
                    if shown is not None:
                        shown.update(f"reading {trace}: {rows:,} requests")

                calibration = run_calibration(
                    reader,
                    holdout=holdout,
                    seed=seed,
                    cache_capacities=(*sorted(bounded), None),
                    progress=progress,
                )
        except ValueError as exc:
            raise JevonsError(f"{trace}: {exc}") from None
        if capacity is not None and calibration.cache is None:
            raise JevonsError(f"--cache-capacity: {trace} has no prefix hashes to replay")
        found = settings(calibration, capacity)
        lines = header(calibration, capacity)
        if into is not None and thinking_share > 0.0:
            warning = (
                f"{into} has reasoning calls (a {thinking_share:.3g} share) whose thinking"
                " tokens the model adds to the output; a trace counts them in its output"
                " tokens, so if it served a reasoning model, usage.output_tokens_per_call"
                " holds thinking too and should be lowered to the visible output."
            )
            lines.append(warning)
            err.print(f"[bold yellow]warning:[/] {warning}", highlight=False, soft_wrap=True)
        if calls_per_request > 1.0 + 1e-9:
            warning = (
                f"A trace request is one LLM call, but {into} makes {calls_per_request:.3g}"
                " calls per request: the trace's input per call already holds the context"
                " its agent loop appends, which agents.context_growth_per_call adds again;"
                " lower usage.input_tokens_per_request to the first call's prompt if known."
            )
            lines.append(warning)
            err.print(f"[bold yellow]warning:[/] {warning}", highlight=False, soft_wrap=True)
        _report(calibration, capacity)
        if output is None:
            return
        if base_text is None:
            text = fragment_text(found, lines)
        else:
            text = scenario_with(base_text, found, lines)
            parse_scenario_text(text, str(output))  # the result must pass jevons validate
        write_text(text, output)
    out.print(f"wrote {output}", highlight=False)


def _report(calibration, capacity: int | None) -> None:
    info = calibration.info
    out.print(
        f"[bold]{info.path}[/] ({info.format}): {info.rows:,} requests over"
        f" {info.span_s / 3600:,.2f} hours"
        + (f", {info.bad_rows:,} bad rows skipped" if info.bad_rows else "")
        + ("" if info.sorted_in_time else "; rows were out of time order and were sorted"),
        highlight=False,
    )
    for fit in (calibration.input_fit, calibration.output_fit):
        table = Table(
            title=f"{fit.column}: {fit.requests:,} requests, mean {fit.mean:,.1f},"
            f" median {fit.median:g}, P95 {fit.p95:g}"
            + (f"; {fit.failed:,} failed, left out" if fit.failed else "")
            + (f"; {fit.zeros:,} zeros, not fitted" if fit.zeros else ""),
            show_edge=False,
            pad_edge=False,
        )
        for column in ("family", "parameters", "AIC", "KS", "mean", "P95", ""):
            table.add_column(
                column, justify="left" if column in ("family", "parameters", "") else "right"
            )
        for f in fit.fits:
            table.add_row(
                f.family,
                ", ".join(f"{k} {v:.4g}" for k, v in f.parameters.items()) or "-",
                "-" if f.aic is None else f"{f.aic:,.1f}",
                f"{f.ks_distance:.4f}",
                f"{f.mean:,.1f}",
                f"{f.p95:,.1f}",
                "chosen" if f.family == fit.scenario_family else "",
            )
        print_table(table)
        for note in fit.notes:
            out.print(f"  {note}", highlight=False)
    means = calibration.means
    table = Table(
        title=f"means, block bootstrap ({means.n_blocks} blocks of {means.block_s:g} s,"
        f" {means.resamples} resamples)",
        show_edge=False,
        pad_edge=False,
    )
    for column in ("mean", "estimate", "SE", "P5", "P95", "SE if independent"):
        table.add_column(column, justify="left" if column == "mean" else "right")
    for m in means.means:
        table.add_row(
            f"{m.name} [{m.unit}]", f"{m.estimate:,.4g}", f"{m.se:,.3g}", f"{m.p5:,.4g}",
            f"{m.p95:,.4g}", f"{m.iid_se:,.3g}",
        )  # fmt: skip
    print_table(table)
    for note in means.notes:
        out.print(f"  {note}", highlight=False)
    if calibration.cache is not None:
        cache = calibration.cache
        table = Table(
            title=f"prefix cache: {cache.seen_before_share:.1%} of blocks seen before"
            " (unbounded, any position)",
            show_edge=False,
            pad_edge=False,
        )
        for column in ("capacity [blocks]", "token hit rate", "block hit rate", ""):
            table.add_column(column, justify="right")
        shown = [row for row in cache.by_capacity if row.evicted or row.capacity_blocks is None]
        bounded_whole = next((row for row in cache.by_capacity if not row.evicted), None)
        if bounded_whole is not None and bounded_whole.capacity_blocks is not None:
            shown.insert(-1, bounded_whole)  # the smallest capacity that never evicts
        for row in shown:
            size = "unbounded" if row.capacity_blocks is None else f"{row.capacity_blocks:,}"
            table.add_row(
                size, f"{row.token_hit_rate:.1%}", f"{row.block_hit_rate:.1%}",
                "written" if row.capacity_blocks == capacity else "",
            )  # fmt: skip
        print_table(table)
    from jevons.calibrate.fragment import header

    for line in header(calibration, capacity)[2:]:
        out.print(f"  {line}", highlight=False, soft_wrap=True)
    if calibration.holdout is not None:
        _report_holdout(calibration)


def _report_holdout(calibration) -> None:
    report = calibration.holdout
    out.print(
        f"[bold]held-out check[/] (last {calibration.holdout_fraction:.0%} of the span,"
        f" {report.held_requests:,} requests): {'passed' if report.passed else 'FAILED'}",
        highlight=False,
    )
    table = Table(show_edge=False, pad_edge=False)
    for column in ("mean", "fitted interval", "held out", "inside", "consistent"):
        table.add_column(column, justify="left" if column == "mean" else "right")
    for m in report.means:
        table.add_row(
            f"{m.name} [{m.unit}]", f"{m.fitted_low:,.4g} - {m.fitted_high:,.4g}",
            f"{m.held_estimate:,.4g} ± {m.held_se:,.3g}", "yes" if m.inside else "no",
            "yes" if m.consistent else "no",
        )  # fmt: skip
    print_table(table)
    for w in report.windows:
        out.print(
            f"  {w.name} per {report.window_s:g} s window: {w.inside} of {w.held_windows}"
            f" held-out windows ({w.share_inside:.0%}) inside the fitted P5-P95"
            f" [{w.fitted_p5:,.4g}, {w.fitted_p95:,.4g}] {w.unit}",
            highlight=False,
        )
    for line in (*report.failures, *report.notes):
        out.print(f"  {line}", highlight=False, soft_wrap=True)
