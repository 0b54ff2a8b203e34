"""Values inside the evaluator. The engine evaluates every node over *all* the steps of a
query at once (an instant query is a range query of one step), holding one numpy array
per series instead of one sample at a time; this is what makes range queries fast.

- a scalar is a float64 array with one value per step;
- an instant vector is a list of ``StepSeries``: labels, one value per step, and a mask of
  the steps where the series has a value;
- a range vector (a matrix argument of a function) is a list of ``RangeSeries``: the raw
  samples (stale markers removed) plus, for every step, the index range of the samples in
  that step's window ``(t - range, t]``;
- a string is a Python ``str``.

Native histograms ride along in ``hists``: an object array (``FloatHistogram`` where a
step or sample holds one, None elsewhere; the float value there is NaN) or a
``HistogramColumn`` when every step or sample does. ``hist_mask`` tells where they are;
code that only knows floats sees ``float_steps`` / ``float_samples``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from mockprom import versions
from mockprom.promql.semantics import EvalRules, rules_of
from mockprom.scenario.labels import Labels


@dataclass
class StepSeries:
    """One series of an instant vector over the query's steps."""

    labels: Labels
    vals: np.ndarray  # float64[n_steps]; meaningless where not present
    present: np.ndarray  # bool[n_steps]
    # For series straight from a vector selector: the timestamp (ms) of the sample chosen
    # at each step (``timestamp()`` needs it). None otherwise.
    sample_ts: Optional[np.ndarray] = None
    # Set when an operation dropped the metric name but the series was not yet
    # deduplicated (Prometheus checks "vector cannot contain metrics with the same
    # labelset" per step).
    drop_name: bool = False
    # ``promql-delayed-name-removal``: the labels still hold the metric name, which is
    # removed when the query's result is complete (Prometheus's ``DropName``).
    name_pending: bool = False
    # native histograms per step (see the module docstring), or None
    hists: Optional[object] = None


@dataclass
class RangeSeries:
    """One series of a range vector: samples ``ts``/``vals`` (ascending, no stale
    markers) and per-step windows ``ts[lo[i]:hi[i]]`` for step ``i``."""

    labels: Labels
    ts: np.ndarray  # int64 ms
    vals: np.ndarray  # float64
    lo: np.ndarray  # int64[n_steps]
    hi: np.ndarray  # int64[n_steps]
    # native histograms per sample (see the module docstring), or None
    hists: Optional[object] = None


def hist_mask(hists, n: int) -> np.ndarray:
    """Where ``hists`` (a ``StepSeries.hists`` or ``RangeSeries.hists``) holds
    histograms, over ``n`` steps or samples."""
    if hists is None:
        return np.zeros(n, dtype=bool)
    if isinstance(hists, np.ndarray):
        return np.fromiter((h is not None for h in hists), dtype=bool, count=n)
    return np.ones(n, dtype=bool)  # a HistogramColumn


def has_histograms(series) -> bool:
    """Whether any series of a vector or range vector holds native histograms."""
    return any(s.hists is not None for s in series)


def float_steps(s: StepSeries) -> StepSeries:
    """``s`` without its histogram steps."""
    if s.hists is None:
        return s
    return StepSeries(s.labels, s.vals, s.present & ~hist_mask(s.hists, len(s.present)),
                      s.sample_ts, s.drop_name, s.name_pending)


def float_samples(rs: RangeSeries) -> RangeSeries:
    """``rs`` without its histogram samples (windows recomputed over the floats left)."""
    if rs.hists is None:
        return rs
    keep = ~hist_mask(rs.hists, len(rs.ts))
    before = np.concatenate([[0], np.cumsum(keep)])  # floats before each position
    return RangeSeries(rs.labels, rs.ts[keep], rs.vals[keep], before[rs.lo], before[rs.hi])


@dataclass(frozen=True)
class Annotation:
    """A PromQL warning or info: its text and, when known, the position (start, end) in
    the query of the node it is about (the API appends ``(line:column)``)."""

    message: str
    pos: Optional[tuple] = None


@dataclass
class EvalContext:
    """What every node and function sees of the query being evaluated: its steps, the
    emulated Prometheus (``emulation``; ``rules``, the evaluation row of its line) and
    the annotations collected so far (``warnings``/``infos``, shared by nested
    contexts)."""

    steps: np.ndarray  # int64[n_steps]: evaluation timestamps in ms
    start_ms: int  # the query's start (for @ start())
    end_ms: int  # the query's end (for @ end())
    interval_ms: int  # the query's step (0 for instant queries)
    lookback_ms: int = 300_000
    warnings: list = field(default_factory=list)  # of Annotation, distinct messages
    infos: list = field(default_factory=list)
    emulation: versions.Emulation = field(default_factory=versions.resolve)
    rules: EvalRules = None  # set from ``emulation``
    # ``--enable-feature=promql-delayed-name-removal``: names are removed at the end
    delayed_names: bool = False
    # Inside a subquery with ``@``: selectors without ``@`` of their own fetch no sample
    # after this time (less their offset), as Prometheus asks its storage only for the
    # data up to the ``@`` time (what shows past it: see ``Evaluator.eval_SubqueryExpr``)
    fetch_end_ms: Optional[int] = None

    def __post_init__(self):
        if self.rules is None:
            self.rules = rules_of(self.emulation)
        self.delayed_names = self.emulation.has("promql-delayed-name-removal")

    @property
    def n(self) -> int:
        return len(self.steps)

    def inner(self, steps: np.ndarray, interval_ms: int) -> "EvalContext":
        """The context of a subquery's inner expression: its own steps, the rest shared."""
        return EvalContext(steps=steps, start_ms=self.start_ms, end_ms=self.end_ms,
                           interval_ms=interval_ms, lookback_ms=self.lookback_ms,
                           warnings=self.warnings, infos=self.infos,
                           emulation=self.emulation, rules=self.rules,
                           fetch_end_ms=self.fetch_end_ms)

    def warn(self, message: str, pos: Optional[tuple] = None) -> None:
        """Add a PromQL warning (when the emulated line words annotations)."""
        _annotate(self.warnings, self.rules, message, pos)

    def info(self, message: str, pos: Optional[tuple] = None) -> None:
        """Add a PromQL info (when the emulated line words annotations)."""
        _annotate(self.infos, self.rules, message, pos)


def _annotate(into: list, rules: EvalRules, message: str, pos) -> None:
    """Prometheus keeps annotations in a map keyed by their text (without position):
    the same text again replaces the earlier one, position included."""
    if not rules.annotations:
        return
    for i, a in enumerate(into):
        if a.message == message:
            into[i] = Annotation(message, pos)
            return
    into.append(Annotation(message, pos))
