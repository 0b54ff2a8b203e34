"""Generators: series values as pure functions of (seed, series identity, timestamp).

Every generator is evaluated on its interval grid (timestamps ``k * interval`` since the
epoch), vectorised with numpy over an int64 array of timestamps in ms, and is defined for
any time, past or future: there is no state and no backfill. Randomness comes from a
counter-based hash (splitmix64 over the scenario seed, a stable hash of the series' label
set, a per-purpose salt and the grid index), never from a stateful RNG, so any point can
be computed alone and every process computes the same values.

Choices worth knowing:
- ``counter``: ``rate * (t - last_reset) + rate * interval * jitter * u(k)``, with
  ``u`` in [0, 1): O(1) per point and monotone between resets whenever ``jitter <= 1``.
  Resets happen every ``reset_every`` (with a per-series phase); without it the counter
  counts from the epoch.
- ``random_walk``: a moving sum of the last 100 hashed steps in ``[-step, step]``
  (a bounded window, so a pure function of time), reflected into ``[min, max]``.
- ``flapping``: time is cut into cycles of ``mean_up + mean_down``; each cycle holds one
  down period of hashed length (0.5 to 1.5 x ``mean_down``) at a hashed offset.
- ``dropout``: time is cut into blocks of ``gap`` (default one interval); each block is
  missing with ``probability``.
- ``histogram``/``summary``: the observation count is a counter as above; bucket ``le``
  holds ``count * F(le)`` plus a jitter drawn from a slightly perturbed distribution, so
  buckets stay cumulative in ``le`` and monotone in time, and ``_count`` equals the
  ``+Inf`` bucket. Summary quantiles are the (perturbed) distribution's quantiles.
"""

from __future__ import annotations

import hashlib
import math
import statistics
from typing import Annotated, Callable, List, Literal, Optional, Union

import numpy as np
from pydantic import Field, field_validator, model_validator

from mockprom.gofloat import format_g
from mockprom.scenario.durations import DurationMs, SampleValue, StrictModel, TimeField

# -- deterministic hashing ------------------------------------------------------------------

_M64 = (1 << 64) - 1
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def stable_hash(*parts) -> int:
    """A 64-bit hash of ``parts`` that is the same in every process (unlike ``hash``)."""
    data = "\x1f".join(repr(p) for p in parts).encode("utf-8")
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "little")


def splitmix64(x: np.ndarray) -> np.ndarray:
    """The splitmix64 finaliser over a uint64 array (wrapping arithmetic)."""
    z = x + _GOLDEN
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def uniform(key: int, salt: str, k: np.ndarray) -> np.ndarray:
    """Deterministic uniforms in [0, 1), one per integer in ``k``."""
    k = np.asarray(k, dtype=np.int64)
    mixed = np.uint64(stable_hash(key, salt) & _M64)
    with np.errstate(over="ignore"):
        x = splitmix64(k.view(np.uint64) * _GOLDEN ^ mixed)
    return (x >> np.uint64(11)).astype(np.float64) * (1.0 / 9007199254740992.0)


def uniform_scalar(key: int, salt: str, k: int = 0) -> float:
    return float(uniform(key, salt, np.array([k], dtype=np.int64))[0])


def _floordiv(a: np.ndarray, b: int) -> np.ndarray:
    return np.floor_divide(a, np.int64(b))


# -- the generator specs (validated parameters) ---------------------------------------------


class _Gen(StrictModel):
    pass


class ConstantGen(_Gen):
    """Always ``value``."""
    kind: Literal["constant"]
    value: float = 0.0


class LinearGen(_Gen):
    """``start + slope * seconds since origin``; ``origin`` is a time (default: the
    series' ``start``, else the scenario's ``start``)."""
    kind: Literal["linear"]
    start: float = 0.0
    slope: float = 1.0
    origin: Optional[TimeField] = None


class CounterGen(_Gen):
    """A counter increasing by ``rate`` per second, with ``jitter`` (0..1, share of one
    interval's increase) and resets every ``reset_every``."""
    kind: Literal["counter"]
    rate: float = Field(1.0, ge=0)
    jitter: float = Field(0.0, ge=0, le=1)
    reset_every: Optional[DurationMs] = None
    start: float = Field(0.0, ge=0)
    integer: bool = False

    @field_validator("reset_every")
    @classmethod
    def _positive(cls, v):
        if v is not None and v <= 0:
            raise ValueError("reset_every must be positive")
        return v


class RandomWalkGen(_Gen):
    """A bounded random walk: moving sum of hashed steps, reflected into [min, max]."""
    kind: Literal["random_walk"]
    start: float = 0.0
    step: float = Field(1.0, ge=0)
    min: Optional[float] = None
    max: Optional[float] = None

    @model_validator(mode="after")
    def _bounds(self):
        if self.min is not None and self.max is not None and self.min >= self.max:
            raise ValueError("min must be below max")
        return self


class SineGen(_Gen):
    """``offset + amplitude * sin(2π (t / period + phase))``; phase in periods (0..1)."""
    kind: Literal["sine"]
    amplitude: float = 1.0
    period: DurationMs = 3_600_000
    offset: float = 0.0
    phase: float = 0.0


class SquareGen(_Gen):
    """``high`` for the first ``duty`` share of each period, else ``low``."""
    kind: Literal["square", "step"]
    low: float = 0.0
    high: float = 1.0
    period: DurationMs = 3_600_000
    duty: float = Field(0.5, ge=0, le=1)
    phase: float = 0.0


class SawtoothGen(_Gen):
    """Rises linearly from ``min`` to ``max`` over each period, then drops."""
    kind: Literal["sawtooth"]
    min: float = 0.0
    max: float = 1.0
    period: DurationMs = 3_600_000
    phase: float = 0.0


class SpikesGen(_Gen):
    """``base``, plus ``height`` during spikes of ``width`` that start ``every`` period or
    at each grid point with ``probability``."""
    kind: Literal["spikes"]
    base: float = 0.0
    height: float = 1.0
    every: Optional[DurationMs] = None
    probability: Optional[float] = Field(None, ge=0, le=1)
    width: Optional[DurationMs] = None

    @model_validator(mode="after")
    def _one_trigger(self):
        if (self.every is None) == (self.probability is None):
            raise ValueError("give exactly one of 'every' or 'probability'")
        if self.every is not None and self.every <= 0:
            raise ValueError("every must be positive")
        return self


class SequenceGen(_Gen):
    """Cycles through ``values``, one per grid point."""
    kind: Literal["sequence"]
    values: List[SampleValue] = Field(min_length=1)


class FlappingGen(_Gen):
    """``up``/``down`` (1/0) alternating with mean durations ``mean_up``/``mean_down``."""
    kind: Literal["flapping"]
    mean_up: DurationMs = 600_000
    mean_down: DurationMs = 120_000
    up: float = 1.0
    down: float = 0.0

    @model_validator(mode="after")
    def _positive(self):
        if self.mean_up <= 0 or self.mean_down <= 0:
            raise ValueError("mean_up and mean_down must be positive")
        return self


class DropoutGen(_Gen):
    """Another generator (``of``) or a constant ``value``, with seeded gaps: each block of
    ``gap`` (default one interval) is missing with ``probability``."""
    kind: Literal["dropout"]
    of: Optional["GeneratorSpec"] = None
    value: Optional[float] = None
    probability: float = Field(0.1, ge=0, le=1)
    gap: Optional[DurationMs] = None

    @model_validator(mode="after")
    def _base(self):
        if (self.of is None) == (self.value is None):
            raise ValueError("give exactly one of 'of' (a generator) or 'value'")
        if self.of is not None and self.of.kind in ("histogram", "summary", "native_histogram"):
            raise ValueError("dropout cannot wrap a histogram or summary")
        if self.gap is not None and self.gap <= 0:
            raise ValueError("gap must be positive")
        return self


class LogNormal(StrictModel):
    median: float = Field(gt=0)
    sigma: float = Field(gt=0)


class Normal(StrictModel):
    mean: float
    stddev: float = Field(gt=0)


class Uniform(StrictModel):
    min: float
    max: float

    @model_validator(mode="after")
    def _order(self):
        if self.min >= self.max:
            raise ValueError("min must be below max")
        return self


class Exponential(StrictModel):
    mean: float = Field(gt=0)


class Distribution(StrictModel):
    """Exactly one of ``lognormal``, ``normal``, ``uniform``, ``exponential``."""
    lognormal: Optional[LogNormal] = None
    normal: Optional[Normal] = None
    uniform: Optional[Uniform] = None
    exponential: Optional[Exponential] = None

    @model_validator(mode="after")
    def _exactly_one(self):
        given = [n for n in ("lognormal", "normal", "uniform", "exponential") if getattr(self, n)]
        if len(given) != 1:
            raise ValueError("give exactly one of lognormal, normal, uniform, exponential")
        return self


DEFAULT_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]


def _default_distribution() -> Distribution:
    return Distribution(lognormal=LogNormal(median=0.1, sigma=0.8))


class HistogramGen(_Gen):
    """A classic histogram: ``_bucket{le}``, ``_sum``, ``_count``, ``rate`` observations
    per second drawn from ``distribution``."""
    kind: Literal["histogram"]
    rate: float = Field(1.0, ge=0)
    buckets: List[float] = Field(default_factory=lambda: list(DEFAULT_BUCKETS), min_length=1)
    distribution: Distribution = Field(default_factory=_default_distribution)
    jitter: float = Field(0.1, ge=0, le=1)
    reset_every: Optional[DurationMs] = None

    @field_validator("buckets")
    @classmethod
    def _sorted(cls, v):
        v = [float(b) for b in v if not math.isinf(b) or b < 0]
        if any(b != b for b in v) or any(b >= c for b, c in zip(v, v[1:])):
            raise ValueError("buckets must be strictly increasing numbers")
        return v


class SummaryGen(_Gen):
    """A summary: ``{quantile}`` gauges, ``_sum``, ``_count``."""
    kind: Literal["summary"]
    rate: float = Field(1.0, ge=0)
    quantiles: List[float] = Field(default_factory=lambda: [0.5, 0.9, 0.99], min_length=1)
    distribution: Distribution = Field(default_factory=_default_distribution)
    jitter: float = Field(0.1, ge=0, le=1)
    reset_every: Optional[DurationMs] = None

    @field_validator("quantiles")
    @classmethod
    def _open_unit(cls, v):
        if any(not (0 < q < 1) for q in v):
            raise ValueError("quantiles must lie strictly between 0 and 1")
        return sorted(v)


class Bimodal(StrictModel):
    """Two populations: ``second`` holds ``weight`` of the observations."""
    first: Distribution
    second: Distribution
    weight: float = Field(0.3, ge=0, le=1)


class NativeDistribution(StrictModel):
    """Exactly one of ``lognormal``, ``normal``, ``uniform``, ``exponential``,
    ``bimodal``."""
    lognormal: Optional[LogNormal] = None
    normal: Optional[Normal] = None
    uniform: Optional[Uniform] = None
    exponential: Optional[Exponential] = None
    bimodal: Optional[Bimodal] = None

    @model_validator(mode="after")
    def _exactly_one(self):
        given = [n for n in ("lognormal", "normal", "uniform", "exponential", "bimodal")
                 if getattr(self, n)]
        if len(given) != 1:
            raise ValueError("give exactly one of lognormal, normal, uniform, exponential, "
                             "bimodal")
        return self


def _default_native_distribution() -> NativeDistribution:
    return NativeDistribution(lognormal=LogNormal(median=0.1, sigma=0.8))


class NativeHistogramGen(_Gen):
    """A native (sparse, exponential) histogram: ``rate`` observations per second drawn
    from ``distribution``, counted in buckets of ``schema`` (-4..8) above a zero bucket
    of width ``zero_threshold``; or, with ``custom_buckets``, a histogram with custom
    bucket bounds (schema -53, NHCB). A counter histogram (resets every ``reset_every``)
    unless ``gauge``, which counts the observations of one interval only. The
    distribution breathes between its shape and a shape moved by ``drift`` over
    ``drift_period``; ``jitter`` (0..1) jitters the counting instant within an
    interval."""
    kind: Literal["native_histogram"]
    rate: float = Field(10.0, ge=0)
    schema_: int = Field(3, ge=-4, le=8, alias="schema")
    zero_threshold: float = Field(2.938735877055719e-39, ge=0)
    custom_buckets: Optional[List[float]] = None
    distribution: NativeDistribution = Field(default_factory=_default_native_distribution)
    jitter: float = Field(0.1, ge=0, le=1)
    drift: float = Field(0.2, ge=0, le=2)
    drift_period: DurationMs = 3_600_000
    reset_every: Optional[DurationMs] = None
    gauge: bool = False

    @field_validator("custom_buckets")
    @classmethod
    def _bounds(cls, v):
        if v is None:
            return v
        v = [float(b) for b in v]
        if not v or any(math.isinf(b) or b != b for b in v) or any(
                b >= c for b, c in zip(v, v[1:])):
            raise ValueError("custom_buckets must be finite, strictly increasing numbers "
                             "(the +Inf bucket is implied)")
        return v

    @model_validator(mode="after")
    def _periods(self):
        if self.drift_period <= 0:
            raise ValueError("drift_period must be positive")
        if self.reset_every is not None and self.reset_every <= 0:
            raise ValueError("reset_every must be positive")
        return self


GeneratorSpec = Annotated[
    Union[ConstantGen, LinearGen, CounterGen, RandomWalkGen, SineGen, SquareGen, SawtoothGen,
          SpikesGen, SequenceGen, FlappingGen, DropoutGen, HistogramGen, SummaryGen,
          NativeHistogramGen],
    Field(discriminator="kind"),
]
DropoutGen.model_rebuild()

GENERATOR_KINDS = ("constant", "linear", "counter", "random_walk", "sine", "square", "step",
                   "sawtooth", "spikes", "sequence", "flapping", "dropout", "histogram", "summary",
                   "native_histogram")
NATIVE_KINDS = ("native_histogram",)
FAMILY_KINDS = ("histogram", "summary")

# -- implementations ------------------------------------------------------------------------

Fn = Callable[[np.ndarray], object]


class GenContext:
    """What a generator needs besides its parameters: the series identity and grid."""

    def __init__(self, seed: int, identity: str, interval_ms: int, origin_ms: int = 0,
                 now_ms: int = 0):
        self.seed = int(seed)
        self.key = stable_hash(int(seed), identity)
        self.interval_ms = int(interval_ms)
        self.origin_ms = int(origin_ms)  # where the series starts (linear's default origin)
        self.now_ms = int(now_ms)  # what relative times in parameters resolve against

    def grid_index(self, ts: np.ndarray) -> np.ndarray:
        return _floordiv(np.asarray(ts, dtype=np.int64), self.interval_ms)


def _phase_ms(ctx: GenContext, salt: str, period_ms: int) -> int:
    return int(uniform_scalar(ctx.key, salt) * period_ms)


def _counter_base(ts: np.ndarray, rate: float, reset_every: Optional[int], ctx: GenContext,
                  start: float = 0.0) -> np.ndarray:
    """``start + rate * seconds since the last reset`` (since the epoch without resets)."""
    if reset_every:
        phase = _phase_ms(ctx, "reset-phase", reset_every)
        seg_start = _floordiv(ts - phase, reset_every) * reset_every + phase
        elapsed = ts - seg_start
    else:
        elapsed = ts
    return start + rate * (elapsed.astype(np.float64) / 1000.0)


def _constant(spec: ConstantGen, ctx: GenContext) -> Fn:
    return lambda ts: np.full(len(ts), spec.value, dtype=np.float64)


def _linear(spec: LinearGen, ctx: GenContext) -> Fn:
    origin = spec.origin.resolve(ctx.now_ms) if spec.origin is not None else ctx.origin_ms
    return lambda ts: spec.start + spec.slope * ((ts - origin).astype(np.float64) / 1000.0)


def _counter(spec: CounterGen, ctx: GenContext) -> Fn:
    per_interval = spec.rate * ctx.interval_ms / 1000.0

    def fn(ts):
        v = _counter_base(ts, spec.rate, spec.reset_every, ctx, spec.start)
        if spec.jitter:
            v = v + per_interval * spec.jitter * uniform(ctx.key, "counter-jitter", ctx.grid_index(ts))
        return np.floor(v) if spec.integer else v
    return fn


WALK_WINDOW = 100


def _reflect(x: np.ndarray, lo: Optional[float], hi: Optional[float]) -> np.ndarray:
    if lo is not None and hi is not None:
        width = hi - lo
        y = np.mod(x - lo, 2 * width)
        return lo + np.where(y > width, 2 * width - y, y)
    if lo is not None:
        return lo + np.abs(x - lo)
    if hi is not None:
        return hi - np.abs(hi - x)
    return x


def _walk_steps(key: int, idx: np.ndarray) -> np.ndarray:
    """Integer steps in [-1000, 1000]: window sums are exact whatever the window."""
    return np.floor(uniform(key, "walk", idx) * 2001).astype(np.int64) - 1000


def _random_walk(spec: RandomWalkGen, ctx: GenContext) -> Fn:
    def fn(ts):
        k = ctx.grid_index(ts)
        if len(k) == 0:
            return np.zeros(0)
        k0, k1 = int(k.min()), int(k.max())
        if k1 - k0 <= 4 * len(k) + WALK_WINDOW:
            idx = np.arange(k0 - WALK_WINDOW, k1 + 1, dtype=np.int64)
            csum = np.concatenate([[0], np.cumsum(_walk_steps(ctx.key, idx))])
            pos = k - (k0 - WALK_WINDOW) + 1  # csum index just after k
            total = csum[pos] - csum[pos - WALK_WINDOW]
        else:
            win = k[:, None] - np.arange(WALK_WINDOW, dtype=np.int64)[None, :]
            total = _walk_steps(ctx.key, win.ravel()).reshape(win.shape).sum(axis=1)
        return _reflect(spec.start + spec.step * (total.astype(np.float64) / 1000.0), spec.min, spec.max)
    return fn


def _cycle_pos(ts: np.ndarray, period_ms: int, phase: float) -> np.ndarray:
    """Position in [0, 1) within the period."""
    x = ts.astype(np.float64) / period_ms + phase
    return x - np.floor(x)


def _sine(spec: SineGen, ctx: GenContext) -> Fn:
    if spec.period <= 0:
        raise ValueError("period must be positive")
    return lambda ts: spec.offset + spec.amplitude * np.sin(2 * np.pi * _cycle_pos(ts, spec.period, spec.phase))


def _square(spec: SquareGen, ctx: GenContext) -> Fn:
    return lambda ts: np.where(_cycle_pos(ts, spec.period, spec.phase) < spec.duty, spec.high, spec.low).astype(np.float64)


def _sawtooth(spec: SawtoothGen, ctx: GenContext) -> Fn:
    return lambda ts: spec.min + (spec.max - spec.min) * _cycle_pos(ts, spec.period, spec.phase)


def _spikes(spec: SpikesGen, ctx: GenContext) -> Fn:
    width = spec.width or ctx.interval_ms

    def fn(ts):
        if spec.every is not None:
            phase = _phase_ms(ctx, "spike-phase", spec.every)
            in_spike = np.mod(ts - phase, spec.every) < width
        else:
            # A spike starts at grid point k with `probability`; point k is in a spike when
            # one started within the last w points (integer counts: exact for any window).
            k = ctx.grid_index(ts)
            w = max(1, -(-width // ctx.interval_ms))
            if len(k) == 0:
                return np.zeros(0)
            k0, k1 = int(k.min()), int(k.max())
            if k1 - k0 <= 4 * len(k) + w:
                idx = np.arange(k0 - w + 1, k1 + 1, dtype=np.int64)
                starts = (uniform(ctx.key, "spike", idx) < spec.probability).astype(np.int64)
                csum = np.concatenate([[0], np.cumsum(starts)])
                pos = k - (k0 - w + 1) + 1
                in_spike = (csum[pos] - csum[pos - w]) > 0
            else:
                in_spike = np.array([bool(np.any(uniform(ctx.key, "spike", np.arange(x - w + 1, x + 1))
                                                 < spec.probability)) for x in k.tolist()], dtype=bool)
        return np.where(in_spike, spec.base + spec.height, spec.base).astype(np.float64)
    return fn


def _sequence(spec: SequenceGen, ctx: GenContext) -> Fn:
    values = np.array(spec.values, dtype=np.float64)
    return lambda ts: values[np.mod(ctx.grid_index(ts), len(values))]


def _flapping(spec: FlappingGen, ctx: GenContext) -> Fn:
    cycle = spec.mean_up + spec.mean_down

    def fn(ts):
        phase = _phase_ms(ctx, "flap-phase", cycle)
        c = _floordiv(ts - phase, cycle)
        pos = (ts - phase - c * cycle).astype(np.float64)
        down_len = np.minimum(spec.mean_down * (0.5 + uniform(ctx.key, "flap-len", c)), 0.95 * cycle)
        down_at = uniform(ctx.key, "flap-at", c) * (cycle - down_len)
        is_down = (pos >= down_at) & (pos < down_at + down_len)
        return np.where(is_down, spec.down, spec.up).astype(np.float64)
    return fn


def _dropout(spec: DropoutGen, ctx: GenContext) -> Fn:
    inner = make_fn(spec.of, ctx) if spec.of is not None else None
    gap = spec.gap or ctx.interval_ms

    def fn(ts):
        if inner is None:
            vals, present = np.full(len(ts), spec.value, dtype=np.float64), np.ones(len(ts), bool)
        else:
            out = inner(ts)
            if isinstance(out, tuple):
                vals, present = out
            else:
                vals, present = out, np.ones(len(ts), bool)
        missing = uniform(ctx.key, "dropout", _floordiv(ts, gap)) < spec.probability
        return np.asarray(vals, dtype=np.float64), present & ~missing
    return fn


_SIMPLE = {
    "constant": _constant, "linear": _linear, "counter": _counter,
    "random_walk": _random_walk, "sine": _sine, "square": _square, "step": _square,
    "sawtooth": _sawtooth, "spikes": _spikes, "sequence": _sequence, "flapping": _flapping,
    "dropout": _dropout,
}


def make_fn(spec, ctx: GenContext) -> Fn:
    """The value function of a single-series generator."""
    try:
        return _SIMPLE[spec.kind](spec, ctx)
    except KeyError:
        raise ValueError(f"generator kind {spec.kind!r} makes several series; use expand_family") from None


# -- distributions (histogram, summary) ------------------------------------------------------

def _phi(z: np.ndarray) -> np.ndarray:
    """Standard normal CDF (Abramowitz-Stegun 7.1.26 erf, |error| < 1.5e-7)."""
    x = np.abs(z) / math.sqrt(2.0)
    t = 1.0 / (1.0 + 0.3275911 * x)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    erf = 1.0 - poly * np.exp(-x * x)
    return 0.5 * (1.0 + np.where(z >= 0, erf, -erf))


def _cdf(dist: Distribution, x: float, shift: np.ndarray) -> np.ndarray:
    """CDF at ``x`` of the distribution moved by ``shift`` (in [-1, 1], per time point)."""
    if dist.lognormal:
        d = dist.lognormal
        if x <= 0:
            return np.zeros_like(shift)
        return _phi((math.log(x) - math.log(d.median) - 0.3 * d.sigma * shift) / d.sigma)
    if dist.normal:
        d = dist.normal
        return _phi((x - d.mean - 0.3 * d.stddev * shift) / d.stddev)
    if dist.uniform:
        d = dist.uniform
        lo = d.min + 0.1 * (d.max - d.min) * shift
        return np.clip((x - lo) / (d.max - d.min), 0.0, 1.0)
    d = dist.exponential
    if x <= 0:
        return np.zeros_like(shift)
    return 1.0 - np.exp(-x / (d.mean * np.exp(0.3 * shift)))


def _quantile(dist: Distribution, q: float, shift: np.ndarray) -> np.ndarray:
    z = statistics.NormalDist().inv_cdf(q)
    if dist.lognormal:
        d = dist.lognormal
        return d.median * np.exp(0.3 * d.sigma * shift + d.sigma * z)
    if dist.normal:
        d = dist.normal
        return d.mean + 0.3 * d.stddev * shift + d.stddev * z
    if dist.uniform:
        d = dist.uniform
        return d.min + 0.1 * (d.max - d.min) * shift + (d.max - d.min) * q
    d = dist.exponential
    return -d.mean * np.exp(0.3 * shift) * math.log(1.0 - q)


def distribution_mean(dist: Distribution) -> float:
    if dist.lognormal:
        return dist.lognormal.median * math.exp(dist.lognormal.sigma ** 2 / 2)
    if dist.normal:
        return dist.normal.mean
    if dist.uniform:
        return (dist.uniform.min + dist.uniform.max) / 2
    return dist.exponential.mean


# Client libraries write ``le`` and ``quantile`` label values with Go's
# ``strconv.FormatFloat(v, 'g', -1, 64)`` (``0.05``, ``1``, ``2.5``, ``1e+06``, ``+Inf``),
# which is ``gofloat.format_g``; the old name stays for tests/test_generators.py.
format_go_float = format_g


def _family_count(spec, ts: np.ndarray, ctx: GenContext):
    """(base count, jitter uniform u(k), distribution shift) shared by a family."""
    base = _counter_base(ts, spec.rate, spec.reset_every, ctx)
    k = ctx.grid_index(ts)
    u = uniform(ctx.key, "family-jitter", k)
    shift = 2.0 * uniform(ctx.key, "family-shift", k) - 1.0
    return base, u, shift


def expand_family(spec, base_labels: dict, ctx: GenContext) -> list[tuple[dict, Fn]]:
    """The series of a generator: ``[(labels, fn)]``. One series for simple kinds; the
    ``_bucket``/``_sum``/``_count`` (or ``{quantile}``) family for histogram/summary.
    ``base_labels`` holds ``__name__`` (the family's base name). A native histogram is
    one series whose ``fn`` returns a ``HistogramColumn``."""
    if spec.kind in NATIVE_KINDS:
        from mockprom.scenario.native_histogram import native_histogram_fn  # no cycle
        return [(dict(base_labels), native_histogram_fn(spec, ctx))]
    if spec.kind not in FAMILY_KINDS:
        return [(dict(base_labels), make_fn(spec, ctx))]
    name = base_labels["__name__"]
    per_interval = spec.rate * ctx.interval_ms / 1000.0
    mean = distribution_mean(spec.distribution)
    dist = spec.distribution
    out: list[tuple[dict, Fn]] = []

    def count_float(ts):
        base, u, _ = _family_count(spec, ts, ctx)
        return base + per_interval * spec.jitter * u

    if spec.kind == "histogram":
        zero = np.zeros(1)
        for le in list(spec.buckets) + [math.inf]:
            f_le = 1.0 if math.isinf(le) else float(_cdf(dist, le, zero)[0])

            def bucket(ts, le=le, f_le=f_le):
                base, u, shift = _family_count(spec, ts, ctx)
                h = np.ones(len(ts)) if math.isinf(le) else _cdf(dist, le, shift)
                return np.floor(base * f_le + per_interval * spec.jitter * u * f_le * h)
            labels = dict(base_labels, __name__=name + "_bucket", le=format_g(le))
            out.append((labels, bucket))
    else:
        for q in spec.quantiles:
            def quantile(ts, q=q):
                _, _, shift = _family_count(spec, ts, ctx)
                return _quantile(dist, q, shift)
            out.append((dict(base_labels, quantile=format_g(q)), quantile))
    out.append((dict(base_labels, __name__=name + "_sum"), lambda ts: count_float(ts) * mean))
    out.append((dict(base_labels, __name__=name + "_count"), lambda ts: np.floor(count_float(ts))))
    return out
