"""Query results as the API returns them: ``Scalar``, ``String``, ``Vector``, ``Matrix``.

Timestamps are integer milliseconds; values are floats (NaN and ±Inf allowed) or native
histograms (``mockprom.histograms.FloatHistogram``). The API layer turns these into
Prometheus's JSON (``resultType`` / ``result``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Optional, Tuple

from mockprom.scenario.labels import Labels


@dataclass
class Scalar:
    t_ms: int
    value: float
    result_type = "scalar"


@dataclass
class String:
    t_ms: int
    value: str
    result_type = "string"


@dataclass
class Sample:
    labels: Labels
    t_ms: int
    value: float
    histogram: Optional[object] = None  # a FloatHistogram instead of the float value


@dataclass
class Vector:
    samples: List[Sample] = field(default_factory=list)
    result_type = "vector"


class Series:
    """A matrix series: ``points``, the float samples ``(t_ms, value)`` ascending, and
    ``histograms``, the native histogram samples ``(t_ms, FloatHistogram)`` ascending.

    The engine builds its result series from arrays (``Series.from_arrays``): ``ts``
    (int64 ms) and ``vals`` (float64), which the API formats directly; ``points`` is then
    made from them on first use."""

    __slots__ = ("labels", "_points", "ts", "vals", "histograms")

    def __init__(self, labels: Labels, points: Optional[List[Tuple[int, float]]] = None,
                 histograms: Optional[List[Tuple[int, object]]] = None):
        self.labels = labels
        self._points = [] if points is None else points
        self.ts = self.vals = None
        self.histograms = [] if histograms is None else histograms

    @classmethod
    def from_arrays(cls, labels: Labels, ts, vals) -> "Series":
        out = cls(labels)
        out._points, out.ts, out.vals = None, ts, vals
        return out

    @property
    def points(self) -> List[Tuple[int, float]]:
        if self._points is None:
            self._points = list(zip(self.ts.tolist(), self.vals.tolist()))
        return self._points

    @points.setter
    def points(self, points: List[Tuple[int, float]]) -> None:
        self._points, self.ts, self.vals = points, None, None

    def __eq__(self, other) -> bool:
        if not isinstance(other, Series):
            return NotImplemented
        return ((self.labels, self.points, self.histograms)
                == (other.labels, other.points, other.histograms))

    __hash__ = None

    def __repr__(self) -> str:
        return (f"Series(labels={self.labels!r}, points={self.points!r}, "
                f"histograms={self.histograms!r})")


@dataclass
class Matrix:
    series: List[Series] = field(default_factory=list)
    result_type = "matrix"


@dataclass
class Result:
    """An evaluated query: the value plus any warnings/infos Prometheus would attach."""

    value: object  # Scalar | String | Vector | Matrix
    warnings: List[str] = field(default_factory=list)
    infos: List[str] = field(default_factory=list)
