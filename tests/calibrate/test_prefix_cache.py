import json

import numpy as np
import pytest

from jevons.calibrate.prefix_cache import PrefixCacheReplay
from jevons.calibrate.trace import TraceChunk
from tests.conftest import TRACES

MOONCAKE = TRACES / "mooncake_conversation_trace.jsonl"


def chunk_of(requests: list[tuple[list[int], int]], first_line: int = 1) -> TraceChunk:
    """A chunk of (hash ids, input tokens) requests, one second apart."""
    n = len(requests)
    return TraceChunk(
        line=np.arange(first_line, first_line + n, dtype=np.int64),
        time_s=np.arange(first_line, first_line + n, dtype=np.float64),
        input_tokens=np.array([tokens for _, tokens in requests], dtype=np.int64),
        output_tokens=np.ones(n, dtype=np.int64),
        failed=np.zeros(n, dtype=bool),
        hash_ids=[np.array(ids, dtype=np.int64) for ids, _ in requests],
    )


def replay(requests, capacities, chunk_rows=None):
    replay = PrefixCacheReplay(capacities)
    step = chunk_rows or len(requests)
    for start in range(0, len(requests), step):
        replay.add(chunk_of(requests[start : start + step], first_line=start + 1))
    return replay.finish()


# Six requests (hash ids, input tokens). Blocks are touched in reverse prompt order, so
# after a request its first block is the most recent. Caches listed least recent first.
HAND_TRACE = [
    ([1, 2, 3], 1300),  # A
    ([8, 3], 700),  # B: re-reads block 3 after a new first block
    ([1, 2, 3, 4], 1800),  # C
    ([5, 6], 1024),  # D
    ([1, 2, 3, 4, 7], 2100),  # E
    ([1, 2], 1000),  # F: both blocks hit; 2 x 512 = 1024 capped at its 1000 tokens
]
HAND_INPUT_TOKENS = 1300 + 700 + 1800 + 1024 + 2100 + 1000  # 7924
HAND_BLOCKS = 3 + 2 + 4 + 2 + 5 + 2  # 18

# capacity: (hit blocks, hit tokens)
HAND_HITS = {
    # Unbounded: A 0; B 0 (8 misses, so cached 3 does not count); C 1,2,3 (4 misses):
    # 3 blocks, 1536 tokens; D 0; E 1,2,3,4 (7 misses): 4 blocks, 2048 tokens;
    # F 2 blocks, min(1024, 1000) = 1000 tokens.  7 + 2 = 9 blocks, 4584 tokens.
    None: (9, 1536 + 2048 + 1000),
    # Capacity 5: A -> [3,2,1]. B misses; touch 3, insert 8 -> [2,1,3,8].
    # C hits 1,2,3 (1536 tokens) -> [8,4,3,2,1]. D misses -> [8,4,3,2,1,6,5], evict 8,4
    # -> [3,2,1,6,5]. E hits 1,2,3 (4 was evicted; 1536 tokens) -> [7,4,3,2,1].
    # F hits 1,2 (1000 tokens).  3 + 3 + 2 = 8 blocks, 4072 tokens.
    5: (8, 1536 + 1536 + 1000),
    # Capacity 3: A -> [3,2,1]. B: touch 3, insert 8 -> [2,1,3,8], evict 2 -> [1,3,8].
    # C hits 1, misses 2: the eviction broke the prefix, so cached 3 does not count
    # (512 tokens) -> [8,4,3,2,1] -> [3,2,1]. D misses -> [1,6,5]. E hits 1, misses 2
    # (512 tokens) -> [3,2,1]. F hits 1,2 (1000 tokens).  4 blocks, 2024 tokens.
    3: (4, 512 + 512 + 1000),
    # Capacity 2: A -> [2,1]. B -> [3,8]. C misses 1 -> [2,1]. D -> [6,5]. E misses 1
    # -> [2,1]. F hits 1,2 (1000 tokens).  2 blocks, 1000 tokens.
    2: (2, 1000),
}


def test_hand_trace_hit_rates_at_several_capacities():
    result = replay(HAND_TRACE, [5, 3, 2, 100])
    assert result.requests == 6
    assert result.input_tokens == HAND_INPUT_TOKENS
    assert result.blocks == HAND_BLOCKS
    assert result.distinct_blocks == 8  # 1..8
    assert [row.capacity_blocks for row in result.by_capacity] == [2, 3, 5, 100, None]
    for capacity, (hit_blocks, hit_tokens) in HAND_HITS.items():
        row = result.at(capacity)
        assert (row.hit_blocks, row.hit_tokens) == (hit_blocks, hit_tokens), capacity
        assert row.block_hit_rate == pytest.approx(hit_blocks / HAND_BLOCKS)
        assert row.token_hit_rate == pytest.approx(hit_tokens / HAND_INPUT_TOKENS)
    # 100 blocks never fill with 8 distinct blocks: the same as unbounded.
    assert result.at(100).hit_tokens == result.unbounded.hit_tokens
    assert [row.evicted for row in result.by_capacity] == [True, True, True, False, False]


def test_hand_trace_seen_before_counts_any_position():
    # Ids seen in an earlier request: B 3; C 1,2,3; E 1,2,3,4; F 1,2 -> 10 of 18 blocks,
    # more than the 9 leading hits of the unbounded cache (B's block 3 follows a miss).
    result = replay(HAND_TRACE, [])
    assert result.seen_before_blocks == 10
    assert result.seen_before_share == pytest.approx(10 / 18)
    assert result.unbounded.hit_blocks == 9


def test_chunk_boundaries_do_not_change_the_result():
    whole = replay(HAND_TRACE, [2, 3, 5])
    for rows in (1, 2, 4):
        assert replay(HAND_TRACE, [2, 3, 5], chunk_rows=rows) == whole


def brute_force_hits(requests, capacity):
    """(hit blocks, hit tokens) from the definition of LRU, with plain lists.

    A block is in an LRU cache of capacity C just before a request when fewer than C
    distinct blocks were touched since its own last touch (every request touches all
    its blocks, last block first).
    """
    touches = []
    hit_blocks = hit_tokens = 0
    for ids, input_tokens in requests:
        hits = 0
        for block in ids:
            if block not in touches:
                break
            last = len(touches) - 1 - touches[::-1].index(block)
            more_recent = set(touches[last + 1 :])
            if capacity is not None and len(more_recent) >= capacity:
                break
            hits += 1
        hit_blocks += hits
        hit_tokens += min(hits * 512, input_tokens)
        touches.extend(reversed(ids))
    return hit_blocks, hit_tokens


def random_trace(rng, requests):
    """Requests that continue or branch earlier prompts, mixed with random short ones."""
    trace = []
    next_id = 100
    for _ in range(requests):
        if trace and rng.random() < 0.6:
            earlier = trace[rng.integers(len(trace))][0]
            ids = earlier[: rng.integers(1, len(earlier) + 1)]
        else:
            ids = [int(rng.integers(0, 12))]  # a small pool: reused ids at any position
        for _ in range(rng.integers(0, 4)):
            if rng.random() < 0.3:  # an id seen elsewhere, here after a fresh one
                ids = [*ids, int(rng.integers(0, 12))]
            else:
                ids = [*ids, next_id]
                next_id += 1
        tokens = (len(ids) - 1) * 512 + int(rng.integers(1, 513))
        trace.append((ids, tokens))
    return trace


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_replay_matches_brute_force_on_random_traces(seed):
    trace = random_trace(np.random.default_rng(seed), 80)
    capacities = [1, 2, 3, 5, 8, 13, 40]
    result = replay(trace, capacities, chunk_rows=7)
    for capacity in [*capacities, None]:
        row = result.at(capacity)
        assert (row.hit_blocks, row.hit_tokens) == brute_force_hits(trace, capacity), capacity
    seen = []
    seen_before = 0
    for ids, _ in trace:
        seen_before += sum(1 for block in ids if block in seen)
        seen.extend(ids)
    assert result.seen_before_blocks == seen_before


@pytest.mark.slow
def test_mooncake_trace_reproduces_the_published_seen_before_share():
    rows = [json.loads(line) for line in MOONCAKE.read_text().splitlines()]
    trace = [(row["hash_ids"], row["input_length"]) for row in rows]
    result = replay(trace, None, chunk_rows=5000)
    assert result.requests == 12_031
    # The trace README: 36.6% of 512-token blocks were seen before (unbounded cache).
    assert result.seen_before_share == pytest.approx(0.366, abs=0.001)
    # Mooncake's hashes are chained by position, so seen before = a leading hit.
    assert result.unbounded.block_hit_rate == pytest.approx(result.seen_before_share)
    # LRU caches are nested (a smaller one holds a subset of a larger one's blocks),
    # so the hit rate cannot fall as capacity grows.
    token_rates = [row.token_hit_rate for row in result.by_capacity]
    assert token_rates == sorted(token_rates)
    assert token_rates[0] < token_rates[-1]


def test_bad_capacities_and_a_trace_without_hashes_are_refused():
    with pytest.raises(ValueError, match="capacity"):
        PrefixCacheReplay([0])
    with pytest.raises(ValueError, match="capacity"):
        PrefixCacheReplay([2.5])
    chunk = chunk_of([([1], 10)])
    bare = TraceChunk(
        chunk.line, chunk.time_s, chunk.input_tokens, chunk.output_tokens, chunk.failed
    )
    with pytest.raises(ValueError, match="hash_ids"):
        PrefixCacheReplay().add(bare)
