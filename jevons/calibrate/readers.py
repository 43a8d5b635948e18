"""Trace readers: Mooncake JSONL, Azure CSV, BurstGPT CSV and a generic CSV.

:func:`open_trace` sniffs the format from the first line (or takes it as given)
and returns a :class:`TraceReader`. Its first pass reads the whole file once to
check every row, count the bad ones, find the time span and learn whether the
rows are in time order; nothing is yielded before that pass ends, so a bad row
stops the run before any analysis has seen a request. After it:

- rows in time order (the usual case; equal times are fine) are streamed again
  from the file in chunks, so memory is bounded by ``chunk_rows``;
- rows out of order are held once, as compact columns, sorted by time (stable,
  so equal times keep file order), and ``TraceInfo.sorted_in_time`` is False.

Every problem is a :class:`~jevons.errors.JevonsError` of one line naming the
file and, where there is one, the line. With ``skip_bad`` a bad row is counted
and left out instead (``TraceInfo.bad_rows``, ``TraceInfo.first_bad``); a file
that cannot be read as a trace at all (missing, empty, binary, columns absent)
always stops.
"""

from __future__ import annotations

import codecs
import csv
import gc
import json
import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import islice
from operator import itemgetter
from pathlib import Path

import numpy as np
import pandas as pd

from jevons.calibrate.trace import TraceChunk, TraceInfo
from jevons.errors import JevonsError

FORMATS = ("mooncake", "azure", "burstgpt", "csv")

MOONCAKE_KEYS = ("timestamp", "input_length", "output_length", "hash_ids")
AZURE_COLUMNS = {"time": "TIMESTAMP", "input": "ContextTokens", "output": "GeneratedTokens"}
# The columns the reader uses; a BurstGPT file also has Model, Total tokens and Log Type.
BURSTGPT_COLUMNS = {"time": "Timestamp", "input": "Request tokens", "output": "Response tokens"}
GENERIC_KEYS = ("time", "input", "output", "session")

# Enough of the file to see its first line and to tell text from binary.
_SNIFF_BYTES = 1 << 16


def open_trace(
    path: str | Path,
    format: str | None = None,
    columns: Mapping[str, str] | None = None,
    skip_bad: bool = False,
    chunk_rows: int = 100_000,
) -> TraceReader:
    """Open a trace file for chunked reading.

    Parameters
    ----------
    path : the trace file.
    format : one of :data:`FORMATS`; None detects it from the first line.
    columns : for the generic CSV, the header name of each field: ``time``
        (seconds as numbers, or dates), ``input`` and ``output`` [tokens], and
        optionally ``session`` (a conversation id; chunks carry it as int64 labels
        numbered in order of first appearance). Implies ``format="csv"``.
    skip_bad : count and leave out malformed rows instead of stopping.
    chunk_rows : the most requests in one :class:`TraceChunk` [rows].
    """
    if format is not None and format not in FORMATS:
        raise JevonsError(f"unknown trace format {format!r}; known: {', '.join(FORMATS)}")
    if isinstance(chunk_rows, bool) or not isinstance(chunk_rows, int) or chunk_rows < 1:
        raise JevonsError(f"chunk_rows must be a whole number of at least 1, got {chunk_rows!r}")
    path = Path(path)
    first_line = _sniff(path)
    if columns is not None:
        if format not in (None, "csv"):
            raise JevonsError(f"columns apply to the generic 'csv' format, not {format!r}")
        format = "csv"
    if format is None:
        format = "mooncake" if first_line.lstrip().startswith("{") else _csv_format(first_line)
    if format == "mooncake":
        layout: _Layout = _JsonLayout()
    else:
        layout = _csv_layout(path, format, first_line, columns)
    return TraceReader(path, format, layout, skip_bad, chunk_rows)


class TraceReader:
    """A trace file read in chunks of at most ``chunk_rows`` requests, in time order.

    Implements :class:`jevons.calibrate.trace.Trace`: ``chunks()`` may be called
    again for another pass; ``info`` runs the checking pass if none has run yet.
    """

    def __init__(self, path: Path, format: str, layout: _Layout, skip_bad: bool, chunk_rows: int):
        self.path = path
        self.format = format
        self._layout = layout
        self._skip_bad = skip_bad
        self._chunk_rows = chunk_rows
        self._info: TraceInfo | None = None
        # Only for a trace out of time order: all its requests, sorted.
        self._sorted: TraceChunk | None = None

    @property
    def info(self) -> TraceInfo:
        if self._info is None:
            self._first_pass()
        return self._info

    def chunks(self) -> Iterator[TraceChunk]:
        if self._info is None:
            self._first_pass()
        if self._sorted is None:
            yield from self._parse(_BadRows(self.path, skip=True))
            return
        for start in range(0, len(self._sorted), self._chunk_rows):
            yield _slice(self._sorted, slice(start, start + self._chunk_rows))

    def _parse(self, bad: _BadRows) -> Iterator[TraceChunk]:
        return self._layout.parse(self.path, self._chunk_rows, bad)

    def _first_pass(self) -> None:
        bad = _BadRows(self.path, skip=self._skip_bad)
        span = _Span()
        for chunk in self._parse(bad):
            if not span.add(chunk):
                break
        else:
            self._info = self._finish(span, bad, sorted_in_time=True)
            return
        # Out of time order: read again, this time holding every request to sort them.
        bad = _BadRows(self.path, skip=self._skip_bad)
        span = _Span()
        kept = []
        for chunk in self._parse(bad):
            span.add(chunk)
            kept.append(chunk)
        everything = _concatenate(kept)
        self._sorted = _slice(everything, np.argsort(everything.time_s, kind="stable"))
        self._info = self._finish(span, bad, sorted_in_time=False)

    def _finish(self, span: _Span, bad: _BadRows, sorted_in_time: bool) -> TraceInfo:
        if span.rows < 2:
            skipped = (
                f" ({bad.count} bad row{'' if bad.count == 1 else 's'} skipped)"
                if bad.count
                else ""
            )
            raise JevonsError(
                f"{self.path}: {span.rows} request{'' if span.rows == 1 else 's'} read{skipped};"
                " a trace needs at least two requests"
            )
        return TraceInfo(
            path=str(self.path),
            format=self.format,
            rows=span.rows,
            bad_rows=bad.count,
            first_bad=bad.first,
            has_clock=self._layout.has_clock,
            sorted_in_time=sorted_in_time,
            start_s=span.start_s,
            end_s=span.end_s,
        )


class _Span:
    """Rows, first and last time of a pass; ``add`` says whether time order still holds."""

    def __init__(self):
        self.rows = 0
        self.start_s = math.inf
        self.end_s = -math.inf
        self._last_s = -math.inf
        self.in_order = True

    def add(self, chunk: TraceChunk) -> bool:
        if len(chunk) == 0:
            return self.in_order
        t = chunk.time_s
        self.rows += len(chunk)
        self.start_s = min(self.start_s, float(t.min()))
        self.end_s = max(self.end_s, float(t.max()))
        if t[0] < self._last_s or np.any(t[1:] < t[:-1]):
            self.in_order = False
        self._last_s = float(t[-1])
        return self.in_order


class _BadRows:
    """Bad rows of one pass: the first stops the pass unless they are skipped."""

    def __init__(self, path: Path, skip: bool):
        self._path = path
        self._skip = skip
        self.count = 0
        self.first: str | None = None

    def report(self, count: int, first_message: str) -> None:
        message = f"{self._path}: {first_message}"
        if not self._skip:
            raise JevonsError(message)
        self.count += count
        if self.first is None:
            self.first = message


# --- sniffing ---------------------------------------------------------------------------------


def _sniff(path: Path) -> str:
    """The file's first non-blank line, after checking it exists and holds text."""
    if not path.exists():
        raise JevonsError(f"{path}: no such file")
    if path.is_dir():
        raise JevonsError(f"{path}: a folder, not a trace file")
    try:
        with open(path, "rb") as f:
            head = f.read(_SNIFF_BYTES)
    except OSError as err:
        raise JevonsError(f"{path}: cannot read ({err.strerror})") from None
    if head.startswith(b"\x1f\x8b"):
        raise JevonsError(f"{path}: a gzip-compressed file; decompress it first")
    if b"\x00" in head:
        raise JevonsError(f"{path}: a binary file, not a text trace")
    # A multi-byte character may be cut at the end of the sample: the decoder keeps it back.
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    try:
        text = decoder.decode(head, final=len(head) < _SNIFF_BYTES)
    except UnicodeDecodeError as err:
        line = head[: err.start].count(b"\n") + 1
        raise JevonsError(f"{path}: line {line}: not UTF-8 text (a binary file?)") from None
    for line in text.splitlines():
        if line.strip():
            return line
    if len(head) < _SNIFF_BYTES:
        raise JevonsError(f"{path}: the file is empty")
    raise JevonsError(f"{path}: the first {_SNIFF_BYTES} bytes are blank; not a trace")


def _csv_format(first_line: str) -> str:
    header = _header_names(first_line)
    if set(AZURE_COLUMNS.values()) <= set(header):
        return "azure"
    if set(BURSTGPT_COLUMNS.values()) <= set(header):
        return "burstgpt"
    raise JevonsError(
        f"cannot tell the trace format from its first line ({', '.join(header)}): expected"
        f" Azure columns ({', '.join(AZURE_COLUMNS.values())}), BurstGPT columns"
        f" ({', '.join(BURSTGPT_COLUMNS.values())}), Mooncake JSON lines, or name the columns"
        " of a generic CSV: time=..., input=..., output=..."
    )


def _header_names(first_line: str) -> list[str]:
    return [name.strip() for name in next(csv.reader([first_line]), [])]


def _csv_layout(
    path: Path, format: str, first_line: str, columns: Mapping[str, str] | None
) -> _CsvLayout:
    header = _header_names(first_line)
    if format == "csv":
        if not columns:
            raise JevonsError(
                f"{path}: a generic CSV needs its columns named: time=..., input=..., output=..."
                " (session=... optional)"
            )
        unknown = sorted(set(columns) - set(GENERIC_KEYS))
        if unknown:
            raise JevonsError(
                f"unknown column key{'s' if len(unknown) > 1 else ''} {', '.join(unknown)};"
                f" known: {', '.join(GENERIC_KEYS)}"
            )
        required = [key for key in ("time", "input", "output") if key not in columns]
        if required:
            raise JevonsError(f"columns: no name given for {', '.join(required)}")
        wanted, what = dict(columns), "the columns given"
    else:
        wanted = AZURE_COLUMNS if format == "azure" else BURSTGPT_COLUMNS
        what = f"a{'n Azure' if format == 'azure' else ' BurstGPT'} trace's columns"
    missing = [name for name in wanted.values() if name not in header]
    if missing:
        raise JevonsError(
            f"{path}: line 1: no column{'s' if len(missing) > 1 else ''}"
            f" {', '.join(repr(n) for n in missing)}; expected {what}"
            f" ({', '.join(wanted.values())}), found {', '.join(header)}"
        )
    index = {key: header.index(name) for key, name in wanted.items()}
    return _CsvLayout(
        names=wanted,
        index=index,
        n_fields=len(header),
        time_kind={"azure": "date", "burstgpt": "seconds", "csv": None}[format],
        failed_on_zero_output=format == "burstgpt",
    )


# --- layouts: one file format each ------------------------------------------------------------


class _Layout(ABC):
    """One file format: how its rows become chunks."""

    has_clock: bool

    @abstractmethod
    def parse(self, path: Path, chunk_rows: int, bad: _BadRows) -> Iterator[TraceChunk]:
        """The file's requests in chunks of at most ``chunk_rows``, bad rows told to ``bad``."""


@dataclass
class _Column:
    """One field of a chunk's rows: values, which rows are bad, and why (built on demand)."""

    values: np.ndarray
    bad: np.ndarray  # bool per row
    why: Callable[[int], str]


class _CsvLayout(_Layout):
    def __init__(self, names, index, n_fields, time_kind, failed_on_zero_output):
        self._names = names  # key -> header name
        self._index = index  # key -> field position
        self._n_fields = n_fields
        # "date", "seconds", or None: the generic CSV decides from its first time cell.
        self._time_kind = time_kind
        self._failed_on_zero_output = failed_on_zero_output

    @property
    def has_clock(self) -> bool:
        return self._time_kind == "date"

    def parse(self, path: Path, chunk_rows: int, bad: _BadRows) -> Iterator[TraceChunk]:
        sessions: dict[str, int] = {}
        with _open_text(path) as f:
            reader = csv.reader(f)
            try:
                _skip_header(reader)
                while True:
                    rows, lines, consumed = _read_records(reader, chunk_rows)
                    if rows:
                        chunk = self._chunk(rows, np.array(lines, dtype=np.int64), bad, sessions)
                        if len(chunk):
                            yield chunk
                    if consumed < chunk_rows:
                        return
            except csv.Error as err:
                raise JevonsError(f"{path}: line {reader.line_num}: {_csv_problem(err)}") from None
            except UnicodeDecodeError:
                raise _undecodable(path) from None

    def _chunk(self, rows, lines, bad: _BadRows, sessions: dict[str, int]) -> TraceChunk:
        n_fields = np.fromiter(map(len, rows), dtype=np.int64, count=len(rows))
        short = n_fields != self._n_fields
        if short.any():
            # Keep field positions valid for the checks below; these rows are dropped anyway.
            pad = [""] * self._n_fields
            rows = [pad if s else r for r, s in zip(rows, short, strict=True)]
        cells = {key: list(map(itemgetter(i), rows)) for key, i in self._index.items()}
        rows.clear()  # the row lists are a third of a chunk's memory; only the cells are needed
        if self._time_kind is None:
            first = next((c for c, s in zip(cells["time"], short, strict=True) if not s), "")
            self._time_kind = "seconds" if _is_number(first) else "date"
        fields = _Column(
            n_fields, short, lambda i: f"{n_fields[i]} fields where the header has {self._n_fields}"
        )
        parse_time = _times_from_dates if self._time_kind == "date" else _seconds_from_text
        time = parse_time(cells["time"], self._names["time"])
        inputs = _counts_from_text(cells["input"], self._names["input"])
        outputs = _counts_from_text(cells["output"], self._names["output"])
        keep = _drop_bad([fields, time, inputs, outputs], lines, bad)
        session = None
        if "session" in cells:
            kept_ids = [s for s, k in zip(cells["session"], keep, strict=True) if k]
            session = np.fromiter(
                (sessions.setdefault(s.strip(), len(sessions)) for s in kept_ids),
                dtype=np.int64,
                count=len(kept_ids),
            )
        output_tokens = outputs.values[keep]
        return TraceChunk(
            line=lines[keep],
            time_s=time.values[keep],
            input_tokens=inputs.values[keep],
            output_tokens=output_tokens,
            failed=(output_tokens == 0)
            if self._failed_on_zero_output
            else np.zeros(len(output_tokens), dtype=bool),
            session=session,
        )


class _JsonLayout(_Layout):
    """Mooncake: one JSON object per line, time in ms since the trace's zero."""

    has_clock = False

    def parse(self, path: Path, chunk_rows: int, bad: _BadRows) -> Iterator[TraceChunk]:
        line_no = 0
        with _open_text(path) as f:
            try:
                while True:
                    block = list(islice(f, chunk_rows))
                    records, lines = [], []
                    for text in block:
                        line_no += 1
                        if text.strip():
                            records.append(text)
                            lines.append(line_no)
                    if records:
                        chunk = self._chunk(records, np.array(lines, dtype=np.int64), bad)
                        if len(chunk):
                            yield chunk
                    if len(block) < chunk_rows:
                        return
            except UnicodeDecodeError:
                raise _undecodable(path) from None

    def _chunk(self, texts: list[str], lines: np.ndarray, bad: _BadRows) -> TraceChunk:
        objects: list[dict] = []
        problems: dict[int, str] = {}
        with _gc_paused():
            for i, text in enumerate(texts):
                try:
                    value = json.loads(text.rstrip("\r\n"))
                except json.JSONDecodeError as err:
                    problems[i] = f"not valid JSON ({err.msg} at column {err.pos + 1})"
                    value = {}
                if not isinstance(value, dict):
                    problems[i] = "not a JSON object"
                    value = {}
                objects.append(value)
        json_ok = _Column(None, _mask(problems, len(texts)), problems.get)
        time = _numbers_from_json(objects, "timestamp", problems, counts=False)
        inputs = _numbers_from_json(objects, "input_length", problems, counts=True)
        outputs = _numbers_from_json(objects, "output_length", problems, counts=True)
        hashes = _hash_lists(objects, problems)
        keep = _drop_bad([json_ok, time, inputs, outputs, hashes], lines, bad)
        hash_ids = (
            hashes.values
            if keep.all()
            else [h for h, k in zip(hashes.values, keep, strict=True) if k]
        )
        return TraceChunk(
            line=lines[keep],
            time_s=time.values[keep] / 1000.0,  # [ms] -> [s]
            input_tokens=inputs.values[keep],
            output_tokens=outputs.values[keep],
            failed=np.zeros(int(keep.sum()), dtype=bool),
            hash_ids=hash_ids,
        )


# --- field parsing: vectorised, with a slow path only to find what is wrong ------------------


def _counts_from_text(cells: list[str], name: str) -> _Column:
    """Token counts [tokens]: whole, non-negative numbers ("12" or "12.0")."""
    values, unparsable = _floats_from_text(cells)
    negative = values < 0
    fractional = ~unparsable & ~negative & ~(np.isfinite(values) & (values == np.floor(values)))
    bad = unparsable | negative | fractional

    def why(i: int) -> str:
        if unparsable[i]:
            return _not_a_number(name, cells[i])
        if negative[i]:
            return f"{name!r} is {cells[i].strip()}, a negative token count"
        return f"{name!r} is {cells[i].strip()!r}, not a whole number of tokens"

    return _Column(np.where(bad, 0, values).astype(np.int64), bad, why)


def _seconds_from_text(cells: list[str], name: str) -> _Column:
    values, unparsable = _floats_from_text(cells)
    bad = unparsable | ~np.isfinite(values)

    def why(i: int) -> str:
        if unparsable[i]:
            return _not_a_number(name, cells[i])
        return f"{name!r} is {cells[i].strip()!r}, not a finite time"

    return _Column(values, bad, why)


def _times_from_dates(cells: list[str], name: str) -> _Column:
    """ISO dates ('2023-11-16 18:15:46.6805900', with or without an offset) -> Unix [s].

    A date without an offset is taken as UTC.
    """
    stamps = pd.to_datetime(pd.Series(cells), format="ISO8601", utc=True, errors="coerce")
    bad = stamps.isna().to_numpy()
    nanoseconds = stamps.dt.as_unit("ns").to_numpy(dtype="datetime64[ns]").view(np.int64)
    seconds = np.where(bad, 0.0, nanoseconds / 1e9)
    return _Column(seconds, bad, lambda i: f"{name!r} is {cells[i].strip()!r}, not a date")


def _floats_from_text(cells: list[str]) -> tuple[np.ndarray, np.ndarray]:
    try:
        return np.array(cells, dtype=str).astype(np.float64), np.zeros(len(cells), dtype=bool)
    except ValueError:
        values = np.array([_float_or_nan(c) for c in cells], dtype=np.float64)
        unparsable = np.array([not _is_number(c) for c in cells], dtype=bool)
        return values, unparsable


def _numbers_from_json(objects: list[dict], key: str, problems: dict, counts: bool) -> _Column:
    raw = [o.get(key) for o in objects]
    values = np.array(raw) if raw else np.zeros(0)
    missing = np.zeros(len(raw), dtype=bool)
    wrong_type = np.zeros(len(raw), dtype=bool)
    if values.dtype.kind not in "iuf":
        # Some value is missing or not a number: find which, one by one.
        missing = np.array([v is None for v in raw], dtype=bool)
        wrong_type = np.array([not _is_json_number(v) for v in raw], dtype=bool) & ~missing
        values = np.array([v if _is_json_number(v) else 0 for v in raw], dtype=np.float64)
    values = values.astype(np.float64)
    negative = values < 0 if counts else np.zeros(len(raw), dtype=bool)
    not_whole = (
        ~(np.isfinite(values) & (values == np.floor(values))) if counts else ~np.isfinite(values)
    )
    already = _mask(problems, len(raw))
    bad = (missing | wrong_type | negative | not_whole) & ~already

    def why(i: int) -> str:
        if missing[i]:
            return f"no key {key!r}; a Mooncake line has {', '.join(MOONCAKE_KEYS)}"
        if wrong_type[i]:
            return f"{key!r} is {raw[i]!r}, not a number"
        if negative[i]:
            return f"{key!r} is {raw[i]}, a negative token count"
        return (
            f"{key!r} is {raw[i]!r}, not a whole number of tokens"
            if counts
            else f"{key!r} is {raw[i]!r}"
        )

    out = np.where(bad | already, 0, values)
    return _Column(out.astype(np.int64) if counts else out, bad, why)


def _hash_lists(objects: list[dict], problems: dict) -> _Column:
    """Each request's prefix block hash ids (int64), in prompt order."""
    empty = np.zeros(0, dtype=np.int64)
    hashes, bad_rows = [], {}
    for i, o in enumerate(objects):
        if i in problems:
            hashes.append(empty)
            continue
        raw = o.get("hash_ids")
        ids = np.array(raw) if isinstance(raw, list) else None
        if ids is None or (ids.size and ids.dtype.kind not in "iu"):
            bad_rows[i] = (
                f"no key 'hash_ids'; a Mooncake line has {', '.join(MOONCAKE_KEYS)}"
                if raw is None
                else f"'hash_ids' is not a list of whole numbers: {str(raw)[:60]}"
            )
            hashes.append(empty)
        else:
            hashes.append(ids.astype(np.int64))
    return _Column(hashes, _mask(bad_rows, len(objects)), bad_rows.get)


def _drop_bad(columns: list[_Column], lines: np.ndarray, bad: _BadRows) -> np.ndarray:
    """Report this chunk's bad rows (the first by line, and how many); the rows to keep."""
    any_bad = np.zeros(len(lines), dtype=bool)
    for column in columns:
        any_bad |= column.bad
    if any_bad.any():
        first = int(np.argmax(any_bad))
        reason = next(c.why(first) for c in columns if c.bad[first])
        bad.report(int(any_bad.sum()), f"line {lines[first]}: {reason}")
    return ~any_bad


# --- small helpers ----------------------------------------------------------------------------


def _read_records(reader, chunk_rows: int) -> tuple[list[list[str]], list[int], int]:
    """Up to ``chunk_rows`` CSV records: the non-blank ones and the line each ends on."""
    rows, lines, consumed = [], [], 0
    with _gc_paused():
        for row in islice(reader, chunk_rows):
            consumed += 1
            if len(row) > 1 or (row and row[0].strip()):
                rows.append(row)
                lines.append(reader.line_num)
    return rows, lines, consumed


def _skip_header(reader) -> None:
    """Read past the header (blank lines before it included), checked when the file was opened."""
    for row in reader:
        if len(row) > 1 or (row and row[0].strip()):
            return


@contextmanager
def _gc_paused():
    # A million small row lists set off the cyclic collector again and again, tripling the
    # parse time; they hold no cycles, so collection can wait until the chunk is built.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _open_text(path: Path):
    return open(path, encoding="utf-8-sig", errors="strict", newline="")


def _undecodable(path: Path) -> JevonsError:
    with open(path, "rb") as f:
        for line_no, raw in enumerate(f, start=1):
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError:
                return JevonsError(f"{path}: line {line_no}: not UTF-8 text (a binary file?)")
    return JevonsError(f"{path}: not UTF-8 text (a binary file?)")


def _csv_problem(err: csv.Error) -> str:
    text = str(err)
    return "a NUL byte (a binary file?)" if "NUL" in text else f"cannot read as CSV ({text})"


def _not_a_number(name: str, cell: str) -> str:
    if not cell.strip():
        return f"{name!r} is empty"
    return f"{name!r} is {cell.strip()!r}, not a number"


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _float_or_nan(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return math.nan


def _is_json_number(value) -> bool:
    return type(value) in (int, float)


def _mask(rows: Mapping[int, str], n: int) -> np.ndarray:
    mask = np.zeros(n, dtype=bool)
    mask[list(rows)] = True
    return mask


def _slice(chunk: TraceChunk, index) -> TraceChunk:
    if chunk.hash_ids is None:
        hash_ids = None
    elif isinstance(index, slice):
        hash_ids = chunk.hash_ids[index]
    else:
        hash_ids = [chunk.hash_ids[i] for i in index]
    return TraceChunk(
        line=chunk.line[index],
        time_s=chunk.time_s[index],
        input_tokens=chunk.input_tokens[index],
        output_tokens=chunk.output_tokens[index],
        failed=chunk.failed[index],
        hash_ids=hash_ids,
        session=None if chunk.session is None else chunk.session[index],
    )


def _concatenate(chunks: list[TraceChunk]) -> TraceChunk:
    first = chunks[0]
    return TraceChunk(
        line=np.concatenate([c.line for c in chunks]),
        time_s=np.concatenate([c.time_s for c in chunks]),
        input_tokens=np.concatenate([c.input_tokens for c in chunks]),
        output_tokens=np.concatenate([c.output_tokens for c in chunks]),
        failed=np.concatenate([c.failed for c in chunks]),
        hash_ids=None if first.hash_ids is None else [h for c in chunks for h in c.hash_ids],
        session=None if first.session is None else np.concatenate([c.session for c in chunks]),
    )
