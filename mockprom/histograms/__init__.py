"""Native histograms: the value type and its operations (ported from Prometheus 3.5),
the promqltest notation, the columnar form generators produce, quantiles and the JSON
wire shape. Imports nothing from the other mockprom layers except leaf modules
(``gofloat``, Go's math functions), so scenario, promql and api may all use it.
"""

from mockprom.histograms.column import HistogramColumn
from mockprom.histograms.float_histogram import (COUNTER_RESET, GAUGE_TYPE, NOT_COUNTER_RESET,
                                                 UNKNOWN_COUNTER_RESET, Bucket, FloatHistogram,
                                                 HistogramError, IncompatibleBounds,
                                                 IncompatibleSchema)
from mockprom.histograms.notation import format_histogram, parse_histogram

__all__ = ["Bucket", "COUNTER_RESET", "FloatHistogram", "GAUGE_TYPE", "HistogramColumn",
           "HistogramError", "IncompatibleBounds", "IncompatibleSchema", "NOT_COUNTER_RESET",
           "UNKNOWN_COUNTER_RESET", "format_histogram", "parse_histogram"]
