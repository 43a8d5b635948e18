"""What every trace reader yields and every analysis reads: requests in chunks.

A reader turns a trace file (Mooncake JSONL, Azure CSV, BurstGPT CSV, a generic
CSV) into :class:`TraceChunk` objects of at most a fixed number of rows, in file
order, so that memory is bounded by the chunk, not by the trace. Analyses are
accumulators: ``add(chunk)`` for each chunk, then ``finish()``. A trace can be
read more than once (two passes: the first finds the time span).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

import numpy as np

# Mooncake's prefix blocks: each hash id names 512 tokens of prompt.
BLOCK_TOKENS = 512


@dataclass(frozen=True)
class TraceChunk:
    """Consecutive requests of a trace, as plain arrays of equal length.

    ``time_s`` is seconds on the trace's own clock: since the Unix epoch (UTC) where
    the trace has dates (``TraceInfo.has_clock``), else since its own zero.
    ``line`` is each request's line number in the file (the header is line 1 of a
    CSV), for messages. ``failed`` marks requests the trace logs as failed (BurstGPT:
    zero response tokens), which the fits leave out and count apart.
    """

    line: np.ndarray  # int64
    time_s: np.ndarray  # float64 [s]
    input_tokens: np.ndarray  # int64 [tokens]
    output_tokens: np.ndarray  # int64 [tokens]
    failed: np.ndarray  # bool
    # Mooncake: each request's prefix block hash ids, in prompt order; else None.
    hash_ids: list[np.ndarray] | None = None
    # A session (conversation) id per request where the trace has one; else None.
    session: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.time_s)

    def select(self, keep: np.ndarray) -> TraceChunk:
        """The requests where ``keep`` (bool per request) is True, every column kept."""
        return TraceChunk(
            line=self.line[keep],
            time_s=self.time_s[keep],
            input_tokens=self.input_tokens[keep],
            output_tokens=self.output_tokens[keep],
            failed=self.failed[keep],
            hash_ids=None
            if self.hash_ids is None
            else [ids for ids, kept in zip(self.hash_ids, keep, strict=True) if kept],
            session=None if self.session is None else self.session[keep],
        )


@dataclass(frozen=True)
class TraceInfo:
    """What a reader learned about its file once it has been read."""

    path: str
    format: str  # "mooncake", "azure", "burstgpt", "csv"
    rows: int  # requests read (bad rows skipped excluded)
    bad_rows: int  # rows skipped with --skip-bad
    first_bad: str | None  # the message of the first bad row skipped
    has_clock: bool  # timestamps are dates (hour of day and weekday are known)
    sorted_in_time: bool  # False: the reader sorted the requests by time
    start_s: float
    end_s: float

    @property
    def span_s(self) -> float:
        return self.end_s - self.start_s


class Trace(Protocol):
    """A readable trace: ``chunks()`` may be called again for another pass."""

    def chunks(self) -> Iterator[TraceChunk]: ...

    @property
    def info(self) -> TraceInfo: ...


class Accumulator(Protocol):
    def add(self, chunk: TraceChunk) -> None: ...

    def finish(self): ...
