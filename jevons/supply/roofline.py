"""A roofline estimate of serving rates for a model on a GPU with no measured point.

Prefill is compute-bound: ``P = efficiency x dense FLOP/s / (2 x active
parameters)`` (a forward pass costs two FLOPs per active parameter per token).

Decode is bound by memory: a replica of ``N`` GPUs runs the model for a batch
of ``B`` sequences, and each decode step reads the weights once for the whole
batch plus each sequence's KV cache, and emits one token per sequence. A user
needing ``I`` tokens/s allows a step time of ``1 / I``. The batch is the
largest that meets all three limits:

* bandwidth: ``(W(B) + B x S) / (N x HBM bandwidth x efficiency) <= 1 / I``,
  with ``S`` the KV bytes of one sequence and ``W(B) = W_total x (1 - (1 -
  a)^B)`` the weight bytes a batch touches, ``a = W_active / W_total``: each
  token of a mixture of experts touches a share ``a`` of the weights, routed
  independently of the others (a dense model, ``a = 1``, reads all of them);
* compute: ``2 x active parameters x B / (N x FLOP/s x compute efficiency) <= 1 / I``;
* memory: ``W_total + B x S <= N x HBM x usable share``.

Output tokens/s per GPU are then ``B / (N x t)``, with ``t`` the step's own time:
``1 / I`` where bandwidth or compute binds, less where memory caps the batch (the
users then get faster tokens than they need, so slower service never lowers
throughput). With ``B < 1`` no batch meets ``I`` and the interactivity lies beyond
the pair's frontier.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

BYTES_PER_VALUE = {"bf16": 2.0, "fp8": 1.0, "fp4": 0.5}  # [bytes per parameter or KV value]
# Share of HBM left for weights and KV cache; the rest holds activations and the runtime.
USABLE_MEMORY_SHARE = 0.9
# A replica is the smallest power-of-two group of GPUs whose memory holds the weights in
# at most this share, leaving the rest for KV cache (see replica_gpus).
WEIGHTS_SHARE_OF_REPLICA = 0.5
FLOPS_PER_PARAMETER_PER_TOKEN = 2.0
# Halvings of the batch bracket: 2^-80 of it is below float64's resolution.
BISECTIONS = 80


def prefill_rate(dense_flops_per_s, active_parameters, efficiency):
    """Compute-bound prefill [tokens/s per GPU]: ``efficiency`` [0-1] of ``dense_flops_per_s``
    [FLOP/s per GPU] at two FLOPs per ``active_parameters`` [parameters] per token."""
    return efficiency * dense_flops_per_s / (FLOPS_PER_PARAMETER_PER_TOKEN * active_parameters)


@dataclass(frozen=True)
class DecodeRoofline:
    """One model on one GPU type, in the units the limits need."""

    gpus: int  # per replica
    bandwidth: float  # HBM bytes/s per GPU
    memory: float  # HBM bytes per GPU
    flops: float  # dense FLOP/s per GPU at the serving precision
    weight_bytes: float  # all weights [bytes]
    active_weight_bytes: float  # weights one token uses [bytes]
    active_parameters: float  # [parameters]
    kv_bytes_per_token: float  # [bytes per token of context]

    def batch(self, interactivity, context_tokens, memory_efficiency, compute_efficiency):
        """The largest batch [sequences per replica] meeting ``interactivity`` [tokens/s per
        user] with ``context_tokens`` [tokens] of KV cache per sequence. The efficiencies
        may be arrays (one per trajectory); the batch then is one."""
        step = 1.0 / interactivity
        sequence = self._sequence_bytes(context_tokens)
        budget = self.gpus * self.bandwidth * np.asarray(memory_efficiency) * step
        by_bandwidth = self._batch_reading(budget, sequence)
        by_compute = (
            self.gpus * self.flops * np.asarray(compute_efficiency) * step
            / (FLOPS_PER_PARAMETER_PER_TOKEN * self.active_parameters)
        )  # fmt: skip
        by_memory = (self.gpus * self.memory * USABLE_MEMORY_SHARE - self.weight_bytes) / sequence
        return np.minimum(np.minimum(by_bandwidth, by_compute), by_memory)

    def _sequence_bytes(self, context_tokens):
        """KV bytes of one sequence: at least the token being decoded is in context."""
        return max(context_tokens, 1.0) * self.kv_bytes_per_token

    def step_seconds(self, batch, context_tokens, memory_efficiency, compute_efficiency):
        """Time of one decode step of ``batch`` sequences [s]: its reads at the bandwidth
        share, or its FLOPs at the compute share, whichever takes longer."""
        read = self.touched_weight_bytes(batch) + batch * self._sequence_bytes(context_tokens)
        flops = FLOPS_PER_PARAMETER_PER_TOKEN * self.active_parameters * np.asarray(batch)
        return np.maximum(
            read / (self.gpus * self.bandwidth * np.asarray(memory_efficiency)),
            flops / (self.gpus * self.flops * np.asarray(compute_efficiency)),
        )

    def touched_weight_bytes(self, batch):
        """Weight bytes a decode step of ``batch`` sequences reads [bytes]."""
        active_share = self.active_weight_bytes / self.weight_bytes
        if active_share >= 1.0:
            return self.weight_bytes + 0.0 * np.asarray(batch)  # dense: (1 - a)^B = 0
        return self.weight_bytes * -np.expm1(np.asarray(batch) * math.log1p(-active_share))

    def _batch_reading(self, budget, sequence):
        """The batch whose step reads exactly ``budget`` bytes (weights it touches plus
        ``sequence`` KV bytes each). The read grows with the batch, so bisect, elementwise:
        each halving keeps the bracket, and ``BISECTIONS`` reach float64's resolution."""

        def excess(batch):
            return self.touched_weight_bytes(batch) + batch * sequence - budget

        low = np.zeros_like(budget, dtype=np.float64)
        high = budget / sequence  # reads at least its KV cache
        for _ in range(BISECTIONS):
            middle = 0.5 * (low + high)
            over = excess(middle) > 0.0
            high = np.where(over, middle, high)
            low = np.where(over, low, middle)
        return low  # 0 where a dense model's weights alone take longer than the step

    def decode_rate(self, interactivity, context_tokens, memory_efficiency, compute_efficiency):
        """Output-only decode tokens/s per GPU at ``interactivity`` [tokens/s per user]; 0 where
        no batch of one sequence or more meets it. Where memory caps the batch, a step
        takes less than ``1 / interactivity``: the users get faster tokens than they need,
        and the rate is the batch over the step's own time."""
        batch = self.batch(interactivity, context_tokens, memory_efficiency, compute_efficiency)
        reached = batch >= 1.0
        batch = np.where(reached, batch, 1.0)
        step = self.step_seconds(batch, context_tokens, memory_efficiency, compute_efficiency)
        rate = np.where(reached, batch / (self.gpus * step), 0.0)
        return float(rate) if rate.ndim == 0 else rate

    def highest_interactivity(self, context_tokens, memory_efficiency, compute_efficiency):
        """Tokens/s per user of a batch of one [tokens/s]; 0 if one sequence does not fit."""
        sequence = self._sequence_bytes(context_tokens)
        if self.gpus * self.memory * USABLE_MEMORY_SHARE - self.weight_bytes < sequence:
            return 0.0
        return float(
            1.0 / self.step_seconds(1.0, context_tokens, memory_efficiency, compute_efficiency)
        )


def replica_gpus(weight_bytes, memory_per_gpu, scale_up_gpus):
    """GPUs per replica: the smallest power of two holding ``weight_bytes`` [bytes] in
    ``WEIGHTS_SHARE_OF_REPLICA`` of its memory [bytes per GPU], but no more than the
    scale-up domain where the weights fit its usable memory; beyond the domain (a
    multi-node replica) the smallest power of two whose usable memory holds them."""

    def power_of_two_for(share: float) -> int:
        wanted = max(1, math.ceil(weight_bytes / (share * memory_per_gpu)))
        gpus = 1 << (wanted - 1).bit_length()
        return gpus if weight_bytes < gpus * memory_per_gpu * share else 2 * gpus

    gpus = power_of_two_for(WEIGHTS_SHARE_OF_REPLICA)
    if gpus <= scale_up_gpus:
        return gpus
    if weight_bytes < scale_up_gpus * memory_per_gpu * USABLE_MEMORY_SHARE:
        return scale_up_gpus
    return power_of_two_for(USABLE_MEMORY_SHARE)
