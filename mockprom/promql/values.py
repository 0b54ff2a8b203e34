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


@dataclass
class Series:
    labels: Labels
    points: List[Tuple[int, float]] = field(default_factory=list)  # (t_ms, value), ascending
    # (t_ms, FloatHistogram), ascending: the native histogram samples
    histograms: List[Tuple[int, object]] = field(default_factory=list)


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
