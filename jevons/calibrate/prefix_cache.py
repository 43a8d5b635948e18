"""KV prefix-cache hit rate from a trace's prefix block hashes, against cache capacity.

Requests are replayed in time order through an LRU cache of 512-token blocks (the
Mooncake ``hash_ids``). A request hits the leading blocks of its prompt that are still
cached: its hash list is walked from the first block and hits are counted until the
first miss, because a prefix cache cannot reuse a block that follows a missing one (the
block's keys and values depend on every token before it). Then every block of the
request is touched (inserted, or made most recent).

Blocks are touched in reverse prompt order, so that a prompt's first blocks are the
most recent and the last to be evicted: evicting a prefix's head first would leave its
tail cached but unreachable. Serving engines free a finished request's blocks the same
way (vLLM frees them tail first).

The cache hit rate of input tokens is the scenario's ``cache.hit_rate``: hit blocks
x 512 tokens over input tokens, where a request's hit tokens are capped at its input
length (its last block is partial). With an unbounded cache the figure is an upper
bound: a real cache is finite and its blocks also hold other models' and tenants' work.

The trace's own README quotes a different figure, the share of blocks whose id was seen
in any earlier request at any position (36.6% for Mooncake's conversation trace). It
is reported as well, under its own name; for Mooncake's position-chained hashes it
equals the unbounded block hit rate.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass

from jevons.calibrate.trace import BLOCK_TOKENS, TraceChunk

# Capacities replayed by default [blocks]: 1-2-5 steps from 1,000 blocks (0.5M tokens)
# to 10 million blocks (5G tokens), then the unbounded cache. A capacity above the
# trace's distinct blocks never evicts and equals the unbounded cache.
DEFAULT_CAPACITY_BLOCKS: tuple[int | None, ...] = (
    *(mantissa * 10**exponent for exponent in range(3, 7) for mantissa in (1, 2, 5)),
    10_000_000,
    None,
)


@dataclass(frozen=True)
class CapacityHitRate:
    """The hit rate of one cache capacity over the whole trace."""

    capacity_blocks: int | None  # [blocks of 512 tokens]; None = unbounded
    hit_blocks: int  # [blocks] leading blocks found cached, over all requests
    hit_tokens: int  # [tokens] hit blocks x 512, capped per request at its input length
    token_hit_rate: float  # [fraction] hit_tokens / input tokens: cache.hit_rate
    block_hit_rate: float  # [fraction] hit_blocks / blocks requested
    evicted: bool  # the cache filled and evicted; False: identical to the unbounded cache

    @property
    def capacity_tokens(self) -> int | None:
        """[tokens] the capacity in tokens; None = unbounded."""
        return None if self.capacity_blocks is None else self.capacity_blocks * BLOCK_TOKENS


@dataclass(frozen=True)
class PrefixCacheResult:
    """Prefix-cache replay of a trace: hit rates per capacity and the seen-before share.

    ``by_capacity`` runs from the smallest capacity to the unbounded cache (always
    present, last). ``seen_before_share`` is the trace README's figure (any position,
    unbounded); the hit rates count leading blocks only.
    """

    requests: int
    input_tokens: int  # [tokens] over all requests
    blocks: int  # [blocks] block references: the sum of the hash lists' lengths
    distinct_blocks: int  # [blocks] distinct block ids: what an unbounded cache holds at the end
    seen_before_blocks: int  # [blocks] blocks whose id appeared in an earlier request
    seen_before_share: float  # [fraction] seen_before_blocks / blocks (36.6% for Mooncake)
    by_capacity: tuple[CapacityHitRate, ...]

    @property
    def unbounded(self) -> CapacityHitRate:
        """The unbounded cache: an upper bound on the hit rate."""
        return self.by_capacity[-1]

    def at(self, capacity_blocks: int | None) -> CapacityHitRate:
        """The row of one replayed capacity [blocks]; None = unbounded."""
        for row in self.by_capacity:
            if row.capacity_blocks == capacity_blocks:
                return row
        replayed = ", ".join(str(row.capacity_blocks) for row in self.by_capacity)
        raise KeyError(f"capacity {capacity_blocks} blocks was not replayed ({replayed})")


class PrefixCacheReplay:
    """Accumulator: replays requests, in the order given, through one LRU per capacity.

    ``capacities`` are in blocks of 512 tokens (None = unbounded, always replayed).
    Chunks must arrive in time order, as readers yield them. Until the distinct blocks
    seen exceed a capacity, its cache cannot have evicted and equals the unbounded one,
    so it is only split off (copied) at its first eviction: capacities larger than the
    trace cost nothing.
    """

    def __init__(self, capacities: Iterable[int | None] | None = None):
        bounded: set[int] = set()
        for capacity in DEFAULT_CAPACITY_BLOCKS if capacities is None else capacities:
            if capacity is None:
                continue
            if isinstance(capacity, bool) or not isinstance(capacity, int) or capacity < 1:
                raise ValueError(
                    f"cache capacity must be a whole number of blocks >= 1, got {capacity!r}"
                )
            bounded.add(capacity)
        self._capacities: tuple[int | None, ...] = (*sorted(bounded), None)
        # Every block seen so far, least recently used first.
        self._unbounded: OrderedDict[int, None] = OrderedDict()
        # Capacities whose cache has evicted, each with its own LRU.
        self._split: dict[int, OrderedDict[int, None]] = {}
        # Capacities still equal to the unbounded cache, ascending.
        self._unsplit: list[int] = sorted(bounded)
        self._hit_blocks = dict.fromkeys(self._capacities, 0)
        self._hit_tokens = dict.fromkeys(self._capacities, 0)
        self._requests = 0
        self._input_tokens = 0
        self._blocks = 0
        self._seen_before = 0

    def add(self, chunk: TraceChunk) -> None:
        if chunk.hash_ids is None:
            raise ValueError("the trace has no prefix block hashes (hash_ids): no cache hit rate")
        for hashes, input_tokens in zip(chunk.hash_ids, chunk.input_tokens.tolist(), strict=True):
            self._add_request(hashes.tolist(), input_tokens)

    def _add_request(self, blocks: list[int], input_tokens: int) -> None:
        self._requests += 1
        self._input_tokens += input_tokens
        self._blocks += len(blocks)
        unbounded = self._unbounded
        self._seen_before += sum(1 for block in blocks if block in unbounded)

        unbounded_hits = _leading_hits(unbounded, blocks)
        self._record(None, unbounded_hits, input_tokens)
        for capacity in self._unsplit:
            self._record(capacity, unbounded_hits, input_tokens)
        for capacity, cache in self._split.items():
            self._record(capacity, _leading_hits(cache, blocks), input_tokens)
            _touch(cache, blocks)
            while len(cache) > capacity:
                cache.popitem(last=False)

        _touch(unbounded, blocks)
        while self._unsplit and len(unbounded) > self._unsplit[0]:
            capacity = self._unsplit.pop(0)
            cache = OrderedDict(unbounded)
            while len(cache) > capacity:
                cache.popitem(last=False)
            self._split[capacity] = cache

    def _record(self, capacity: int | None, hits: int, input_tokens: int) -> None:
        self._hit_blocks[capacity] += hits
        self._hit_tokens[capacity] += min(hits * BLOCK_TOKENS, input_tokens)

    def finish(self) -> PrefixCacheResult:
        rows = tuple(
            CapacityHitRate(
                capacity_blocks=capacity,
                hit_blocks=self._hit_blocks[capacity],
                hit_tokens=self._hit_tokens[capacity],
                token_hit_rate=_share(self._hit_tokens[capacity], self._input_tokens),
                block_hit_rate=_share(self._hit_blocks[capacity], self._blocks),
                evicted=capacity in self._split,
            )
            for capacity in self._capacities
        )
        return PrefixCacheResult(
            requests=self._requests,
            input_tokens=self._input_tokens,
            blocks=self._blocks,
            distinct_blocks=len(self._unbounded),
            seen_before_blocks=self._seen_before,
            seen_before_share=_share(self._seen_before, self._blocks),
            by_capacity=rows,
        )


def _leading_hits(cache: OrderedDict[int, None], blocks: list[int]) -> int:
    """How many of the prompt's first blocks are cached, up to the first miss."""
    hits = 0
    for block in blocks:
        if block not in cache:
            break
        hits += 1
    return hits


def _touch(cache: OrderedDict[int, None], blocks: list[int]) -> None:
    """Make every block of a request most recent, its first block last (evicted last)."""
    make_recent = cache.move_to_end
    for block in reversed(blocks):
        try:
            make_recent(block)
        except KeyError:
            cache[block] = None


def _share(part: int, whole: int) -> float:
    return part / whole if whole else math.nan
