"""Hardware profiles: what serving one model on one GPU type costs and yields.

A profile is one of three kinds:

* **measured**: benchmark points (:mod:`jevons.supply.points`). Each point is
  converted to the output-only decode rate that reproduces it exactly after
  prefill at the profile's prefill rate; points at different interactivity
  form a throughput-interactivity frontier, interpolated linearly in log-log
  space (frontiers are close to power laws).
* **estimated**: a catalog GPU and model with no measured point; rates come from
  the roofline (:mod:`jevons.supply.estimate`).
* **rates**: prefill and output-only decode rates typed in by hand.

$/GPU-hour and power come from the profile, or else from its catalog GPU.
"""

from __future__ import annotations

import bisect
import functools
import math
import tomllib
from pathlib import Path
from typing import Any, Literal, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    model_validator,
)

from jevons.catalog import table
from jevons.supply import estimate
from jevons.supply.points import (
    MAX_INTERACTIVITY,
    MAX_TOKENS_PER_S,
    MIN_TOKENS_PER_S,
    BenchmarkPoint,
    Precision,
)
from jevons.supply.specs import MAX_COST_PER_GPU_HOUR, MAX_POWER_KW, gpu, model

Kind = Literal["measured", "estimated", "rates"]


class HardwareProfile(BaseModel):
    """Throughput, price and power of one GPU type serving one model."""

    # inf and nan are no one's figure; finite-ness is checked before any bound
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    key: str = Field(
        min_length=1,
        description="The profile's label on the output's hardware dim; by default \"<gpu>:<model>\""
        ' for a roofline estimate and "<base>-custom" for a changed catalog profile',
    )
    name: str = Field(default="", description="Name of the GPU system, for people")
    gpu: str | None = Field(
        default=None,
        description="A GPU of the catalog (jevons/catalog/gpus.toml): its $/GPU-hour, power and"
        " specifications",
    )
    model: str | None = Field(
        default=None,
        description="A model of the catalog (jevons/catalog/models.toml), for the roofline",
    )
    precision: Precision | None = Field(
        default=None, description="Precision the model is served at: bf16, fp8 or fp4"
    )
    cost_per_gpu_hour: float | None = Field(
        default=None,
        gt=0,
        le=MAX_COST_PER_GPU_HOUR,
        description="Price of a GPU-hour; none: the catalog GPU's [USD/GPU-hour]",
    )
    power_kw: float | None = Field(
        default=None,
        gt=0,
        le=MAX_POWER_KW,
        description="All-in power per GPU; none: the catalog GPU's [kW]",
    )
    prefill_tokens_per_s: float | None = Field(
        default=None,
        ge=MIN_TOKENS_PER_S,
        le=MAX_TOKENS_PER_S,
        description="Prefill rate; none: the roofline's compute-bound estimate [tokens/s per GPU]",
    )
    decode_tokens_per_s: float | None = Field(
        default=None,
        ge=MIN_TOKENS_PER_S,
        le=MAX_TOKENS_PER_S,
        description="Output-only decode rate of a profile of typed-in rates (no points); it"
        " needs prefill_tokens_per_s [tokens/s per GPU]",
    )
    interactivity: float | None = Field(
        default=None,
        gt=0,
        le=MAX_INTERACTIVITY,
        description="Tokens/s per user at which typed-in rates hold; none: they hold at no"
        " stated interactivity [tokens/s per user]",
    )
    points: list[BenchmarkPoint] = Field(
        default_factory=list,
        description="Measured benchmark points; points at several interactivities form the"
        " profile's frontier",
    )
    gpus_per_replica: int | None = Field(
        default=None,
        ge=1,
        le=1024,
        description="GPUs per model replica in the roofline; none: the smallest power of two"
        " holding the weights in half its memory [GPUs]",
    )
    decode_efficiency: float | None = Field(
        default=None,
        gt=0,
        le=1,
        description="Share of HBM bandwidth the roofline's decode reaches; none: fitted to the"
        " catalog's points [1]",
    )
    source: str = Field(default="", description="Where the profile's figures come from")
    notes: str = Field(default="", description="Assumptions and caveats, in words")

    _prefill: float = PrivateAttr(default=math.nan)
    _decode: tuple[float, ...] = PrivateAttr(default=())  # per point, reproducing it

    @property
    def kind(self) -> Kind:
        if self.points:
            return "measured"
        return "rates" if self.decode_tokens_per_s is not None else "estimated"

    @model_validator(mode="before")
    @classmethod
    def _price_and_power_from_the_gpu(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("gpu"), str):
            spec = gpu(data["gpu"])
            data = {**data}
            data.setdefault("cost_per_gpu_hour", spec.cost_per_gpu_hour)
            data.setdefault("power_kw", spec.power_kw)
            data.setdefault("name", spec.name)
        return data

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        for field in ("cost_per_gpu_hour", "power_kw"):
            if getattr(self, field) is None:
                raise ValueError(f"hardware '{self.key}': give {field} or a catalog gpu")
        if self.model is not None:
            model(self.model)  # raises for an unknown model
        if self.points:
            self._check_points()
        elif self.decode_tokens_per_s is not None:
            if self.prefill_tokens_per_s is None:
                raise ValueError(
                    f"hardware '{self.key}': decode_tokens_per_s needs prefill_tokens_per_s"
                )
            self._prefill = self.prefill_tokens_per_s
        else:
            if self.gpu is None or self.model is None:
                raise ValueError(
                    f"hardware '{self.key}': give benchmark points, both gpu and model (for"
                    " the roofline estimate), or prefill_tokens_per_s and decode_tokens_per_s"
                )
            self._prefill = self.prefill_tokens_per_s or self._estimated_prefill()
        return self

    def _check_points(self) -> None:
        if self.decode_tokens_per_s is not None:
            raise ValueError(
                f"hardware '{self.key}': decode_tokens_per_s is derived from the points;"
                " remove one or the other"
            )
        for field in ("model", "precision"):
            values = {getattr(p, field) for p in self.points}
            own = getattr(self, field)
            if len(values) > 1 or (own is not None and own not in values):
                raise ValueError(
                    f"hardware '{self.key}': every point must be of the profile's {field},"
                    f" got {', '.join(sorted(values | ({own} - {None})))}"
                )
        model(self.points[0].model)
        at = [p.interactivity for p in self.points if p.interactivity is not None]
        if len(at) != len(set(at)):
            raise ValueError(f"hardware '{self.key}': two points at the same interactivity")
        if sum(p.headline for p in self.points) > 1:
            raise ValueError(f"hardware '{self.key}': at most one point can be the headline")
        self._prefill = self.prefill_tokens_per_s or self._estimated_prefill()
        self._decode = tuple(p.decode_rate(self._prefill, self.key) for p in self.points)

    @property
    def serving_model(self) -> str | None:
        return self.points[0].model if self.points else self.model

    @property
    def serving_precision(self) -> str | None:
        return self.points[0].precision if self.points else self.precision

    def _roofline(self) -> estimate.Pair:
        return estimate.pair(
            self.gpu, self.serving_model, self.serving_precision, self.gpus_per_replica
        )

    def _estimated_prefill(self) -> float:
        if self.gpu is None or self.serving_model is None:
            raise ValueError(
                f"hardware '{self.key}': give prefill_tokens_per_s, or a catalog gpu and model"
                " to estimate it"
            )
        peak = estimate.prefill_peak(self.gpu, self.serving_model, self.serving_precision)
        return peak * estimate.prefill_efficiency()

    @property
    def prefill_rate(self) -> float:
        """Prefill tokens/s per GPU: given, or the roofline's compute-bound estimate."""
        return self._prefill

    def point_decode_rates(self) -> tuple[float, ...]:
        """The output-only decode rate that reproduces each point, in order [tokens/s]."""
        return self._decode

    def headline(self) -> int:
        """Index of the point used when a scenario states no interactivity."""
        flagged = [i for i, p in enumerate(self.points) if p.headline]
        return flagged[0] if flagged else 0

    def frontier(self, ttft_limit: float | None = None) -> list[tuple[float, float]]:
        """(interactivity, output-only decode rate) of the points that state an
        interactivity and meet ``ttft_limit`` [s] where they state a TTFT, by
        interactivity."""
        return sorted(
            (p.interactivity, d)
            for p, d in zip(self.points, self._decode, strict=True)
            if p.interactivity is not None
            and (ttft_limit is None or p.ttft_s is None or p.ttft_s <= ttft_limit)
        )

    def decode_rate(self, interactivity: float | None, context_tokens: float = 0.0,
                    ttft_limit: float | None = None) -> float:  # fmt: skip
        """Output-only decode tokens/s per GPU at ``interactivity`` [tokens/s per user].

        Measured: the frontier, flat below its slowest point (the slowest measured
        rate is a floor there), an error above its fastest. Estimated: the roofline
        with ``context_tokens`` [tokens] of KV cache per sequence. Raises
        ``ValueError`` naming the profile when it cannot serve ``interactivity``.
        """
        if self.kind == "rates":
            return self._typed_decode_rate(interactivity)
        if self.kind == "estimated":
            return self._estimated_decode_rate(interactivity, context_tokens)
        if interactivity is None:
            point = self.points[self.headline()]
            if ttft_limit is not None and point.ttft_s is not None and point.ttft_s > ttft_limit:
                raise ValueError(
                    f"hardware '{self.key}': its headline point's TTFT {point.ttft_s:g} s exceeds"
                    f" supply.ttft_limit_s {ttft_limit:g}; state supply.interactivity"
                )
            return self._decode[self.headline()]
        frontier = self.frontier(ttft_limit)
        if not frontier:
            within = f" within a TTFT of {ttft_limit:g} s" if ttft_limit is not None else ""
            raise ValueError(
                f"hardware '{self.key}' has no point with a stated interactivity{within}"
            )
        xs = [x for x, _ in frontier]
        if interactivity > xs[-1] * (1 + 1e-12):
            within = (
                f" within supply.ttft_limit_s {ttft_limit:g}"
                if ttft_limit is not None and len(frontier) < len(self.frontier())
                else ""
            )
            raise ValueError(
                f"supply.interactivity {interactivity:g} is beyond hardware '{self.key}''s"
                f" frontier, which reaches at most {xs[-1]:g} tokens/s per user{within}"
            )
        if interactivity <= xs[0]:
            return frontier[0][1]
        if interactivity >= xs[-1]:
            return frontier[-1][1]
        k = bisect.bisect_right(xs, interactivity)
        (x0, y0), (x1, y1) = frontier[k - 1], frontier[k]
        slope = math.log(y1 / y0) / math.log(x1 / x0)
        return y0 * math.exp(slope * math.log(interactivity / x0))

    def _typed_decode_rate(self, interactivity: float | None) -> float:
        if (
            interactivity is not None
            and self.interactivity is not None
            and not math.isclose(interactivity, self.interactivity)
        ) or (interactivity is not None and self.interactivity is None):
            raise ValueError(
                f"hardware '{self.key}' has typed-in rates without points, valid only at its"
                f" own interactivity ({self.interactivity}); give it points or remove"
                " supply.interactivity"
            )
        return self.decode_tokens_per_s

    def efficiencies(self) -> tuple[float, float]:
        """(decode memory, prefill compute) efficiency of the roofline [0-1]."""
        decode = self.decode_efficiency or estimate.fitted_decode_efficiency()
        return decode, estimate.prefill_efficiency()

    def efficiency_decode_rate(self, decode_efficiency, prefill_efficiency,
                               interactivity: float, context_tokens: float):  # fmt: skip
        """The roofline's output-only decode tokens/s per GPU at drawn efficiencies (arrays
        over trajectories allowed); 0 where they cannot reach ``interactivity``."""
        return self._roofline().decode.decode_rate(
            interactivity, context_tokens, decode_efficiency, prefill_efficiency
        )

    def _estimated_decode_rate(self, interactivity: float | None, context_tokens: float) -> float:
        if interactivity is None:
            raise ValueError(
                f"hardware '{self.key}' is a roofline estimate (no measured point): state"
                " supply.interactivity, the tokens/s per user the product needs"
            )
        decode = self._roofline().decode
        memory_efficiency, compute_efficiency = self.efficiencies()
        rate = decode.decode_rate(interactivity, context_tokens, memory_efficiency,
                                  compute_efficiency)  # fmt: skip
        if rate <= 0.0:
            top = decode.highest_interactivity(context_tokens, memory_efficiency,
                                               compute_efficiency)  # fmt: skip
            raise ValueError(
                f"supply.interactivity {interactivity:g} is beyond hardware '{self.key}''s"
                f" estimated frontier, which reaches at most {top:.4g} tokens/s per user"
                f" at {context_tokens:,.0f} tokens of context"
            )
        return rate

    def rates(self, interactivity: float | None, context_tokens: float = 0.0,
              ttft_limit: float | None = None) -> tuple[float, float]:  # fmt: skip
        """(prefill, output-only decode) tokens/s per GPU for a scenario's requirement."""
        return self.prefill_rate, self.decode_rate(interactivity, context_tokens, ttft_limit)


def _error_line(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(part) for part in first["loc"])
    msg = first["msg"].removeprefix("Value error, ")
    return f"{where}: {msg}" if where else msg


@functools.cache
def catalog() -> dict[str, HardwareProfile]:
    """All catalog profiles by key, in file order."""
    profiles = {}
    for key, entry in table("hardware").items():
        try:
            profiles[key] = HardwareProfile.model_validate({"key": key, **entry})
        except ValidationError as exc:
            raise ValueError(f"catalog hardware '{key}': {_error_line(exc)}") from None
    return profiles


MAX_PROFILE_FILE_BYTES = 10_000_000


def profiles_in_file(path: Path) -> dict[str, Any]:
    """The profile tables of a TOML file (such as ``jevons hardware import`` writes)."""
    try:
        if path.stat().st_size > MAX_PROFILE_FILE_BYTES:
            raise ValueError(f"{path}: larger than {MAX_PROFILE_FILE_BYTES:,} bytes")
        tables = tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        raise ValueError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: cannot read it: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{path}: not valid TOML: {exc}") from None
    if not tables or not all(isinstance(v, dict) for v in tables.values()):
        raise ValueError(f"{path}: expected one [table] per hardware profile")
    return tables


def _from_file(item: dict[str, Any], base_dir: Path) -> dict[str, Any]:
    file = item["file"]
    if not isinstance(file, str):
        raise ValueError(f"file must be a path (a string), got {type(file).__name__}")
    path = Path(file) if Path(file).is_absolute() else base_dir / file
    tables = profiles_in_file(path)
    name = item.get("profile")
    if name is None:
        if len(tables) != 1:
            raise ValueError(f"{file} holds {len(tables)} profiles; name one with profile = ...")
        name = next(iter(tables))
    if name not in tables:
        raise ValueError(f"{file} has no profile '{name}'; it has: {', '.join(tables)}")
    overrides = {k: v for k, v in item.items() if k not in ("file", "profile")}
    return {"key": name, **tables[name], **overrides}


def _resolve_one(item: Any, base_dir: Path) -> Any:
    entries = catalog()
    if isinstance(item, dict) and "file" in item:
        try:
            return HardwareProfile.model_validate(_from_file(item, base_dir))
        except ValidationError as exc:
            raise ValueError(f"{item['file']}: {_error_line(exc)}") from None
    if isinstance(item, str):
        if item not in entries:
            raise ValueError(f"unknown hardware '{item}'; the catalog has: {', '.join(entries)}")
        return entries[item]
    if not isinstance(item, dict):
        return item
    if "base" in item:
        base = item["base"]
        if not isinstance(base, str):
            raise ValueError(
                f"base must be a catalog key (a string), got {type(base).__name__} {base!r}"
            )
        if base not in entries:
            raise ValueError(
                f"unknown hardware base '{base}'; the catalog has: {', '.join(entries)}"
            )
        merged = entries[base].model_dump(exclude_none=True)
        overrides = {k: v for k, v in item.items() if k != "base"}
        merged.update(overrides)
        if "key" not in overrides:
            merged["key"] = base + "-custom"
    else:
        if "key" not in item and isinstance(item.get("gpu"), str):
            return {**item, "key": f"{item['gpu']}:{item.get('model')}"}
        return item  # validated in place, so errors name the key inside the table
    try:
        return HardwareProfile.model_validate(merged)
    except ValidationError as exc:
        raise ValueError(_error_line(exc)) from None


def resolve_hardware(value: Any, base_dir: Path | None = None) -> Any:
    """Turn catalog names (or a list of names and tables) into profiles for validation;
    ``file`` paths are relative to ``base_dir`` (the scenario's folder), else the working
    directory."""
    items = value if isinstance(value, list) else [value]
    return [_resolve_one(item, base_dir or Path.cwd()) for item in items]
