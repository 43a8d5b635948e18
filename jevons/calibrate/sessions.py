"""Conversations inferred from a trace: requests per session and context growth per turn.

Two kinds of link:

- A session column: requests with the same id are one conversation, its turns in time
  order.
- Prefix block hashes (Mooncake, no session column): a later turn of a chat re-reads
  the earlier turn's prompt, so its hash list starts with the earlier request's blocks.
  Only the earlier request's *full* blocks (``input_tokens // 512`` of them) can match:
  its last block is partial, and in the next turn the same position holds more tokens,
  hence another hash. A request continues the earlier request whose full blocks are the
  longest prefix of its own hash list (the most recent one among requests with the
  same full blocks) when

  - it reaches past them (a longer hash list) and has more input tokens, and
  - the last of those full blocks has only ever been read by that earlier request's
    conversation. A block read by two conversations is a shared prompt, such as a
    system prompt, and proves nothing: otherwise every chat that opens with the
    system prompt would join the first short one that did.

  The blocks are kept in a trie keyed by (parent node, block id): memory grows with the
  distinct prefix blocks of the trace, not with its requests.

Context growth per turn is the increase in input tokens from one turn of a conversation
to the next (the answer and the new message, plus tool results, re-read as context).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from jevons.calibrate.trace import BLOCK_TOKENS, TraceChunk

SESSION_COLUMN = "session column"
PREFIX_HASHES = "prefix hashes"

# What no trace window can tell about conversations.
_WINDOW_LIMITS = (
    "conversations cut by the trace window: turns before its start or after its end "
    "are missing, so requests per session is biased low",
    "users: the trace has no user id, so sessions per user per day cannot be identified",
)
_PREFIX_LIMITS = (
    "turns that do not re-read the earlier prompt's full 512-token blocks (context "
    "trimmed or summarised, an edited message, a first prompt under 512 tokens) start a "
    "new session, so requests per session is a lower bound",
    "a conversation continued from a prompt another conversation also read (a branch, "
    "a regenerated answer) starts a new session",
)

# A trie node read by more than one conversation.
_SHARED = -1


@dataclass(frozen=True)
class SessionsResult:
    """Conversations found in a trace and their shape.

    ``link`` says how requests were linked: ``"session column"`` or ``"prefix hashes"``.
    A session of one request counts as a session. ``cannot_tell`` lists what the trace
    cannot identify, for the fragment's comments.
    """

    link: str
    requests: int
    sessions: int
    continued_requests: int  # requests that continue an earlier turn: requests - sessions
    continued_share: float  # [fraction] continued_requests / requests
    requests_per_session_mean: float  # [requests]
    requests_per_session_p50: float  # [requests] (linear interpolation between sessions)
    requests_per_session_p90: float  # [requests]
    requests_per_session_p95: float  # [requests]
    requests_per_session_max: int  # [requests]
    context_growth_per_turn_mean: float  # [tokens] mean input increase over continued turns
    context_growth_per_turn_p50: float  # [tokens]
    turn_gap_p50_s: float  # [s] median time from one turn to the next
    cannot_tell: tuple[str, ...]


class SessionInference:
    """Accumulator: links each request to the earlier turn it continues.

    Chunks must arrive in time order, as readers yield them. A chunk with a session
    column is linked by it; else by its prefix block hashes; a chunk with neither is
    refused (ValueError).
    """

    def __init__(self) -> None:
        self._link: str | None = None
        self._requests = 0
        self._growth: list[np.ndarray] = []  # [tokens] per continued turn
        self._gaps: list[np.ndarray] = []  # [s] per continued turn
        # Session column: per session id, its requests and its last turn's
        # (input tokens, time).
        self._requests_by_id: dict[object, int] = {}
        self._last_turn: dict[object, tuple[int, float]] = {}
        # Prefix hashes: requests per session (sessions numbered from 0); the trie
        # (parent node, block id) -> node, root 0; each node's owning session or _SHARED;
        # per node, the most recent request whose full blocks end there:
        # (input tokens, time [s], session).
        self._requests_by_session: list[int] = []
        self._child: dict[tuple[int, int], int] = {}
        self._owner: list[int] = [_SHARED]
        self._turn_ending_at: dict[int, tuple[int, float, int]] = {}

    def add(self, chunk: TraceChunk) -> None:
        if chunk.session is not None:
            link = SESSION_COLUMN
        elif chunk.hash_ids is not None:
            link = PREFIX_HASHES
        else:
            raise ValueError(
                "the trace links no requests: it has no session column and no prefix block hashes"
            )
        if self._link not in (None, link):
            raise ValueError(f"a chunk linked by {link} after chunks linked by {self._link}")
        self._link = link
        self._requests += len(chunk)
        if link == SESSION_COLUMN:
            self._add_by_session_column(chunk)
        else:
            self._add_by_prefix_hashes(chunk)

    def _add_by_session_column(self, chunk: TraceChunk) -> None:
        ids, group = np.unique(chunk.session, return_inverse=True)
        order = np.argsort(group, kind="stable")  # each session's turns, in time order
        group = group[order]
        tokens = chunk.input_tokens[order]
        times = chunk.time_s[order]
        same_session = group[1:] == group[:-1]
        self._growth.append((tokens[1:] - tokens[:-1])[same_session])
        self._gaps.append((times[1:] - times[:-1])[same_session])

        first = np.flatnonzero(np.concatenate(([True], ~same_session)))
        last = np.concatenate((first[1:], [len(group)])) - 1
        counts = np.diff(np.concatenate((first, [len(group)])))
        # Only the first turn of each session in this chunk can continue an earlier chunk.
        growth, gaps = [], []
        for key, start, end, count in zip(
            ids.tolist(), first.tolist(), last.tolist(), counts.tolist(), strict=True
        ):
            earlier = self._last_turn.get(key)
            if earlier is not None:
                growth.append(int(tokens[start]) - earlier[0])
                gaps.append(float(times[start]) - earlier[1])
            self._last_turn[key] = (int(tokens[end]), float(times[end]))
            self._requests_by_id[key] = self._requests_by_id.get(key, 0) + count
        self._growth.append(np.array(growth, dtype=np.int64))
        self._gaps.append(np.array(gaps, dtype=np.float64))

    def _add_by_prefix_hashes(self, chunk: TraceChunk) -> None:
        growth, gaps = [], []
        for hashes, input_tokens, time_s in zip(
            chunk.hash_ids, chunk.input_tokens.tolist(), chunk.time_s.tolist(), strict=True
        ):
            blocks = hashes.tolist()
            path = self._matched_path(blocks)
            earlier = self._continued_turn(path, len(blocks), input_tokens)
            if earlier is None:
                session = len(self._requests_by_session)
                self._requests_by_session.append(1)
            else:
                earlier_tokens, earlier_time, session = earlier
                self._requests_by_session[session] += 1
                growth.append(input_tokens - earlier_tokens)
                gaps.append(time_s - earlier_time)
            self._insert(blocks, path, session, (input_tokens, time_s, session))
        self._growth.append(np.array(growth, dtype=np.int64))
        self._gaps.append(np.array(gaps, dtype=np.float64))

    def _matched_path(self, blocks: list[int]) -> list[int]:
        """The trie nodes of the request's longest prefix seen before, root excluded."""
        path = []
        node = 0
        for block in blocks:
            node = self._child.get((node, block))
            if node is None:
                break
            path.append(node)
        return path

    def _continued_turn(
        self, path: list[int], blocks: int, input_tokens: int
    ) -> tuple[int, float, int] | None:
        """The earlier turn this request continues, if any, as (input tokens, time, session)."""
        for depth in range(len(path), 0, -1):
            node = path[depth - 1]
            turn = self._turn_ending_at.get(node)
            if turn is None or depth >= blocks or input_tokens <= turn[0]:
                continue
            if self._owner[node] == turn[2]:
                return turn
        return None

    def _insert(
        self, blocks: list[int], path: list[int], session: int, turn: tuple[int, float, int]
    ) -> None:
        for node in path:
            if self._owner[node] != session:
                self._owner[node] = _SHARED
        nodes = list(path)
        parent = path[-1] if path else 0
        for block in blocks[len(path) :]:
            node = len(self._owner)
            self._child[(parent, block)] = node
            self._owner.append(session)
            nodes.append(node)
            parent = node
        full_blocks = min(turn[0] // BLOCK_TOKENS, len(blocks))
        if full_blocks:
            self._turn_ending_at[nodes[full_blocks - 1]] = turn

    def finish(self) -> SessionsResult:
        if self._link == SESSION_COLUMN:
            per_session = np.fromiter(self._requests_by_id.values(), dtype=np.int64)
        else:
            per_session = np.array(self._requests_by_session, dtype=np.int64)
        growth = np.concatenate(self._growth) if self._growth else np.zeros(0)
        gaps = np.concatenate(self._gaps) if self._gaps else np.zeros(0)
        sessions = len(per_session)
        limits = _WINDOW_LIMITS + (_PREFIX_LIMITS if self._link == PREFIX_HASHES else ())
        return SessionsResult(
            link=self._link or "none",
            requests=self._requests,
            sessions=sessions,
            continued_requests=self._requests - sessions,
            continued_share=(self._requests - sessions) / self._requests
            if self._requests
            else math.nan,
            requests_per_session_mean=_mean(per_session),
            requests_per_session_p50=_quantile(per_session, 0.50),
            requests_per_session_p90=_quantile(per_session, 0.90),
            requests_per_session_p95=_quantile(per_session, 0.95),
            requests_per_session_max=int(per_session.max()) if sessions else 0,
            context_growth_per_turn_mean=_mean(growth),
            context_growth_per_turn_p50=_quantile(growth, 0.50),
            turn_gap_p50_s=_quantile(gaps, 0.50),
            cannot_tell=limits,
        )


def _mean(values: np.ndarray) -> float:
    return float(values.mean()) if len(values) else math.nan


def _quantile(values: np.ndarray, q: float) -> float:
    return float(np.quantile(values, q)) if len(values) else math.nan
