"""Benchmark points, and the prefill and decode rates that reproduce each one exactly.

A measured point gives a throughput T in tokens/s per GPU at an input length
ISL and output length OSL. Which tokens T counts is its *token convention*:
InferenceX and NVIDIA count input and output tokens together
(``"input+output"``); some sources count output tokens only (``"output"``).
Either way one request of the point's own shape takes a known number of
GPU-seconds, ``tau`` = counted tokens / T. The model charges a request
``ISL / P + OSL / D`` GPU-seconds (prefill at P, decode at D, output only), so
for a prefill rate P the decode rate that reproduces the point is

    D = OSL / (tau - ISL / P).
"""

from __future__ import annotations

from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

# Documented ranges of a point's figures: wide enough for any GPU, narrow enough that
# no cost or GPU count overflows float64.
MIN_TOKENS_PER_S = 1e-3  # per GPU
MAX_TOKENS_PER_S = 1e9
MAX_INTERACTIVITY = 1e6  # tokens/s per user
MAX_REQUEST_TOKENS = 1e8  # ISL or OSL of one request [tokens]
MAX_TTFT_S = 1e5

TokenConvention = Literal["input+output", "output"]
TOKEN_CONVENTIONS: tuple[str, ...] = ("input+output", "output")
Precision = Literal["bf16", "fp8", "fp4"]
PRECISIONS: tuple[str, ...] = ("bf16", "fp8", "fp4")


def seconds_per_request(tokens_per_s_per_gpu, token_convention, input_tokens, output_tokens):
    """GPU-seconds one request of the point's shape takes at the point's throughput [GPU-s].

    ``tokens_per_s_per_gpu`` [tokens/s per GPU] counts input and output tokens
    (``"input+output"``) or output tokens only (``"output"``);
    ``input_tokens`` and ``output_tokens`` [tokens] are the request's ISL and OSL.
    """
    counted = input_tokens + output_tokens if token_convention == "input+output" else output_tokens
    return counted / tokens_per_s_per_gpu


def reproducing_decode_rate(seconds_per_request, input_tokens, output_tokens, prefill_tokens_per_s):
    """Output-only decode rate [tokens/s per GPU] that, after prefill at
    ``prefill_tokens_per_s`` [tokens/s per GPU], makes a request of ``input_tokens`` and
    ``output_tokens`` [tokens] take ``seconds_per_request`` [GPU-s]:
    ``OSL / (tau - ISL / P)``. Only meaningful where ``tau > ISL / P``.
    """
    return output_tokens / (seconds_per_request - input_tokens / prefill_tokens_per_s)


def throughput_of(prefill_tokens_per_s, decode_tokens_per_s, token_convention, input_tokens,
                  output_tokens):  # fmt: skip
    """The inverse: tokens/s per GPU, in ``token_convention``, of requests of
    ``input_tokens`` and ``output_tokens`` [tokens] prefilled at P and decoded at D
    [tokens/s per GPU]."""
    seconds = input_tokens / prefill_tokens_per_s + output_tokens / decode_tokens_per_s
    counted = input_tokens + output_tokens if token_convention == "input+output" else output_tokens
    return counted / seconds


class BenchmarkPoint(BaseModel):
    """One measured serving point: a model at a precision and request shape on one GPU type.

    ``assumed`` names every field whose value the source does not state, with the
    reason for the value given (NVIDIA's seed figures state no ISL/OSL, say).
    """

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    model: str = Field(
        min_length=1, description="The model served: a key of jevons/catalog/models.toml"
    )
    precision: Precision = Field(description="Precision served at: bf16, fp8 or fp4")
    input_tokens: float = Field(
        gt=0, le=MAX_REQUEST_TOKENS, description="ISL: input tokens per request [tokens]"
    )
    output_tokens: float = Field(
        gt=0, le=MAX_REQUEST_TOKENS, description="OSL: output tokens per request [tokens]"
    )
    tokens_per_s_per_gpu: float = Field(
        ge=MIN_TOKENS_PER_S,
        le=MAX_TOKENS_PER_S,
        description="Measured throughput, counting the tokens token_convention names"
        " [tokens/s per GPU]",
    )
    token_convention: TokenConvention = Field(
        description='Which tokens the throughput counts: "input+output" (as InferenceX and'
        ' NVIDIA count) or "output"'
    )
    interactivity: float | None = Field(
        default=None,
        gt=0,
        le=MAX_INTERACTIVITY,
        description="Output tokens/s each user sees, 1000 / TPOT in ms [tokens/s per user]",
    )
    ttft_s: float | None = Field(
        default=None, gt=0, le=MAX_TTFT_S, description="Time to first token, where published [s]"
    )
    serving_stack: str = Field(default="", description="The serving software and its version")
    date: str = Field(default="", description="When the point was measured or published")
    source: str = Field(default="", description="Where the point is published")
    headline: bool = Field(
        default=False,
        description="The point a scenario with no interactivity runs at (default: the first)",
    )
    assumed: dict[str, str] = Field(
        default_factory=dict,
        description="Each field the source does not state, with the reason for the value given",
    )

    @model_validator(mode="after")
    def _assumed_names_fields(self) -> Self:
        unknown = sorted(set(self.assumed) - set(type(self).model_fields))
        if unknown:
            raise ValueError(f"assumed names no field of a point: {', '.join(unknown)}")
        return self

    @property
    def seconds_per_request(self) -> float:
        """GPU-seconds of one request of the point's own shape [GPU-s]."""
        return seconds_per_request(
            self.tokens_per_s_per_gpu, self.token_convention, self.input_tokens, self.output_tokens
        )

    def label(self) -> str:
        at = f" at {self.interactivity:g} tok/s/user" if self.interactivity is not None else ""
        return (
            f"{self.tokens_per_s_per_gpu:g} tok/s/GPU ({self.token_convention},"
            f" {self.input_tokens:g}/{self.output_tokens:g}){at}"
        )

    def decode_rate(self, prefill_tokens_per_s: float, profile: str) -> float:
        """Output-only decode rate [tokens/s per GPU] reproducing this point after prefill
        at ``prefill_tokens_per_s``; raises ``ValueError`` naming ``profile`` when none can."""
        tau = self.seconds_per_request
        prefill_seconds = self.input_tokens / prefill_tokens_per_s
        if not tau > prefill_seconds:
            raise ValueError(
                f"hardware '{profile}': the point {self.label()} takes {tau:.4g} GPU-s per"
                f" request, but prefilling its {self.input_tokens:g} input tokens at"
                f" {prefill_tokens_per_s:,.0f} tokens/s alone takes {prefill_seconds:.4g};"
                " no decode rate reproduces it (check the token convention and prefill rate)"
            )
        return reproducing_decode_rate(
            tau, self.input_tokens, self.output_tokens, prefill_tokens_per_s
        )
