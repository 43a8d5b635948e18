import json

import numpy as np
import pytest

from jevons.calibrate.sessions import PREFIX_HASHES, SESSION_COLUMN, SessionInference
from jevons.calibrate.trace import TraceChunk
from tests.conftest import TRACES

MOONCAKE = TRACES / "mooncake_conversation_trace.jsonl"


def hashed_chunk(requests, first_line=1):
    """A chunk of (hash ids, input tokens, time [s]) requests."""
    n = len(requests)
    return TraceChunk(
        line=np.arange(first_line, first_line + n, dtype=np.int64),
        time_s=np.array([time_s for _, _, time_s in requests], dtype=np.float64),
        input_tokens=np.array([tokens for _, tokens, _ in requests], dtype=np.int64),
        output_tokens=np.ones(n, dtype=np.int64),
        failed=np.zeros(n, dtype=bool),
        hash_ids=[np.array(ids, dtype=np.int64) for ids, _, _ in requests],
    )


def session_chunk(requests, first_line=1):
    """A chunk of (session id, input tokens, time [s]) requests."""
    n = len(requests)
    return TraceChunk(
        line=np.arange(first_line, first_line + n, dtype=np.int64),
        time_s=np.array([time_s for _, _, time_s in requests], dtype=np.float64),
        input_tokens=np.array([tokens for _, tokens, _ in requests], dtype=np.int64),
        output_tokens=np.ones(n, dtype=np.int64),
        failed=np.zeros(n, dtype=bool),
        session=np.array([session for session, _, _ in requests], dtype=object),
    )


def infer(requests, make_chunk, chunk_rows=None):
    inference = SessionInference()
    step = chunk_rows or len(requests)
    for start in range(0, len(requests), step):
        inference.add(make_chunk(requests[start : start + step], first_line=start + 1))
    return inference.finish()


# Block 0 is the system prompt every chat opens with. A request's full blocks are its
# first input_tokens // 512 blocks; its last block is partial.
HAND_HASHED = [
    ([0, 10, 11], 1300, 0.0),  # R0: new chat A (full blocks 0,10)
    ([0, 20, 21], 1200, 1.0),  # R1: new chat B (full blocks 0,20); shares only block 0
    ([0, 30], 700, 2.0),  # R2: new chat C, a short one: its only full block is 0
    ([0, 10, 12, 13], 1900, 3.0),  # R3: re-reads R0's full blocks: A, +600 tokens, 3 s
    # R4 extends R2's full blocks [0], but block 0 has been read by chats A, B and C:
    # a shared system prompt, no link. New chat D.
    ([0, 40, 41], 1500, 4.0),
    # R5 extends R1's full blocks 0,20 after chats C, D and A interleaved: B, +200, 4 s.
    ([0, 20, 22], 1400, 5.0),
    # R6 extends R3's full blocks 0,10,12 (and R0's 0,10): the longest wins, R3: A, +400, 3 s.
    ([0, 10, 12, 13, 14], 2300, 6.0),
    # R7 repeats R0 exactly: no more tokens, no continuation. New chat E (it reads 0,10,11,
    # which R3's and R6's full blocks past 10 do not depend on).
    ([0, 10, 11], 1300, 7.0),
    ([0, 10, 12, 13, 14, 15], 2800, 9.0),  # R8: extends R6's 0,10,12,13: A, +500, 2 s
]


def test_hand_trace_linked_by_prefix_hashes():
    result = infer(HAND_HASHED, hashed_chunk)
    # Chats A: R0 R3 R6 R8; B: R1 R5; C: R2; D: R4; E: R7.
    assert result.link == PREFIX_HASHES
    assert (result.requests, result.sessions, result.continued_requests) == (9, 5, 4)
    assert result.continued_share == pytest.approx(4 / 9)
    # Requests per session, sorted: 1 1 1 2 4.
    assert result.requests_per_session_mean == pytest.approx(9 / 5)
    assert result.requests_per_session_p50 == 1
    assert result.requests_per_session_p95 == pytest.approx(2 + 0.8 * (4 - 2))  # rank 3.8
    assert result.requests_per_session_max == 4
    # Growth per continued turn: 600, 200, 400, 500; gaps 3, 4, 3, 2 s.
    assert result.context_growth_per_turn_mean == pytest.approx(1700 / 4)
    assert result.context_growth_per_turn_p50 == pytest.approx(450)
    assert result.turn_gap_p50_s == pytest.approx(3)
    assert any("user" in limit for limit in result.cannot_tell)


@pytest.mark.parametrize("rows", [1, 2, 4])
def test_chunk_boundaries_do_not_change_the_links(rows):
    assert infer(HAND_HASHED, hashed_chunk, chunk_rows=rows) == infer(HAND_HASHED, hashed_chunk)


def test_the_first_short_chat_does_not_capture_a_shared_system_prompt():
    # R1 opens with the system prompt only (full blocks [0]). R2 also opens with it:
    # block 0 had been read by R0 and R1, two chats, so R2 starts its own.
    trace = [([0, 1, 2], 1400, 0.0), ([0, 5], 600, 1.0), ([0, 7, 8], 1300, 2.0)]
    result = infer(trace, hashed_chunk)
    assert result.sessions == 3


def brute_force_links(requests):
    """(session, earlier turn continued or None) per request, from the linking rule
    stated on plain lists.

    The candidates are, from the longest, the most recent earlier request whose full
    blocks are the first d blocks of this one (d shorter than it); it is continued when
    this request has more input tokens and every earlier request that read those d
    blocks belongs to its conversation.
    """
    sessions, parents = [], []
    for index, (ids, tokens, _) in enumerate(requests):
        parent = None
        for depth in range(len(ids) - 1, 0, -1):
            prefix = ids[:depth]
            earlier = [
                j
                for j in range(index)
                if min(requests[j][1] // 512, len(requests[j][0])) == depth
                and requests[j][0][:depth] == prefix
            ]
            if not earlier or tokens <= requests[earlier[-1]][1]:
                continue
            readers = {sessions[j] for j in range(index) if requests[j][0][:depth] == prefix}
            if readers == {sessions[earlier[-1]]}:
                parent = earlier[-1]
                break
        sessions.append(max(sessions, default=-1) + 1 if parent is None else sessions[parent])
        parents.append(parent)
    return sessions, parents


def test_hand_trace_agrees_with_brute_force():
    sessions, parents = brute_force_links(HAND_HASHED)
    assert sessions == [0, 1, 2, 0, 3, 1, 0, 4, 0]
    assert parents == [None, None, None, 0, None, 1, 3, None, 6]


def random_chats(rng, requests):
    """Chats that continue (sometimes without growing), branch or start fresh."""
    trace = []
    next_id = 100
    for index in range(requests):
        if trace and rng.random() < 0.6:
            ids, tokens, _ = trace[rng.integers(len(trace))]
            keep = min(tokens // 512, len(ids))
            ids = ids[: rng.integers(max(keep, 1), len(ids) + 1)]
        else:
            ids = [int(rng.integers(0, 3))]  # three system prompts
        extra = int(rng.integers(0, 4))
        ids = [*ids, *range(next_id, next_id + extra)]
        next_id += extra
        tokens = (len(ids) - 1) * 512 + int(rng.integers(1, 513))
        trace.append((ids, tokens, float(index)))
    return trace


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_links_match_brute_force_on_random_chats(seed):
    trace = random_chats(np.random.default_rng(seed), 120)
    sessions, parents = brute_force_links(trace)
    result = infer(trace, hashed_chunk, chunk_rows=9)
    assert result.sessions > 1 and result.continued_requests > 0  # the trace has both
    counts = np.bincount(sessions)
    assert (result.sessions, result.requests_per_session_max) == (len(counts), counts.max())
    assert result.requests_per_session_p95 == pytest.approx(np.quantile(counts, 0.95))
    growth = [trace[i][1] - trace[j][1] for i, j in enumerate(parents) if j is not None]
    gaps = [trace[i][2] - trace[j][2] for i, j in enumerate(parents) if j is not None]
    assert result.context_growth_per_turn_mean == pytest.approx(np.mean(growth))
    assert result.turn_gap_p50_s == pytest.approx(np.median(gaps))


@pytest.fixture(scope="module")
def mooncake():
    rows = [json.loads(line) for line in MOONCAKE.read_text().splitlines()]
    return [(row["hash_ids"], row["input_length"], row["timestamp"] / 1000) for row in rows]


@pytest.mark.slow
def test_mooncake_head_agrees_with_brute_force(mooncake):
    head = mooncake[:800]
    counts = np.bincount(brute_force_links(head)[0])
    result = infer(head, hashed_chunk, chunk_rows=300)
    assert result.continued_requests > 100
    assert (result.sessions, result.requests_per_session_max) == (len(counts), counts.max())


def test_mooncake_trace_gives_plausible_conversations(mooncake):
    result = infer(mooncake, hashed_chunk, chunk_rows=5000)
    assert result.requests == 12_031
    assert result.sessions + result.continued_requests == result.requests
    # A chat hour: a sizeable share of turns continue a chat, most chats are seen for
    # a few turns only, each turn adds an answer and a message (mean output 343 tokens),
    # and users answer within minutes.
    assert 0.1 < result.continued_share < 0.9
    assert 1 <= result.requests_per_session_p50 <= result.requests_per_session_p95 < 20
    assert 343 < result.context_growth_per_turn_p50 < 5000
    assert 10 < result.turn_gap_p50_s < 1800


HAND_SESSIONS = [
    ("a", 100, 0.0),
    ("b", 50, 1.0),
    ("a", 300, 2.0),
    ("c", 80, 3.0),
    ("b", 40, 4.0),
    ("a", 600, 5.0),
]


@pytest.mark.parametrize("rows", [1, 2, 4, 6])
def test_hand_trace_with_a_session_column(rows):
    result = infer(HAND_SESSIONS, session_chunk, chunk_rows=rows)
    assert result.link == SESSION_COLUMN
    # a: 100 -> 300 -> 600 (+200 after 2 s, +300 after 3 s); b: 50 -> 40 (-10 after 3 s); c alone.
    assert (result.requests, result.sessions, result.continued_requests) == (6, 3, 3)
    assert result.continued_share == pytest.approx(0.5)
    assert result.requests_per_session_mean == pytest.approx(2)
    assert result.requests_per_session_p50 == 2
    assert result.requests_per_session_max == 3
    assert result.context_growth_per_turn_mean == pytest.approx((200 + 300 - 10) / 3)
    assert result.context_growth_per_turn_p50 == pytest.approx(200)
    assert result.turn_gap_p50_s == pytest.approx(3)


def test_a_trace_without_links_is_refused():
    chunk = hashed_chunk([([1], 10, 0.0)])
    bare = TraceChunk(
        chunk.line, chunk.time_s, chunk.input_tokens, chunk.output_tokens, chunk.failed
    )
    with pytest.raises(ValueError, match="no session column and no prefix block hashes"):
        SessionInference().add(bare)
