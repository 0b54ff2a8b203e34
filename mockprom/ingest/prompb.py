"""Prometheus's protobuf messages as Python classes (built by ``protobuild``):

- ``V1``: package ``prometheus`` (``prompb/types.proto`` and ``remote.proto`` of
  Prometheus 3.5): remote write 1.0 (``WriteRequest``, with exemplars, native histograms
  and metadata) and remote read (``ReadRequest``, ``ReadResponse``,
  ``ChunkedReadResponse``).
- ``V2``: package ``io.prometheus.write.v2`` (``prompb/io/prometheus/write/v2/types.proto``
  of Prometheus 3.5): remote write 2.0's ``Request``.

Enums are plain ints here; their values are the constants below.
"""

from __future__ import annotations

from mockprom.ingest.protobuild import build

_REP = "repeated"

_HISTOGRAM = [
    ("count_int", 1, "uint64", "oneof:count"), ("count_float", 2, "double", "oneof:count"),
    ("sum", 3, "double"), ("schema", 4, "sint32"), ("zero_threshold", 5, "double"),
    ("zero_count_int", 6, "uint64", "oneof:zero_count"),
    ("zero_count_float", 7, "double", "oneof:zero_count"),
    ("negative_spans", 8, "BucketSpan", _REP), ("negative_deltas", 9, "sint64", _REP),
    ("negative_counts", 10, "double", _REP),
    ("positive_spans", 11, "BucketSpan", _REP), ("positive_deltas", 12, "sint64", _REP),
    ("positive_counts", 13, "double", _REP),
    ("reset_hint", 14, "int32"), ("timestamp", 15, "int64"),
    ("custom_values", 16, "double", _REP),
]
_BUCKET_SPAN = [("offset", 1, "sint32"), ("length", 2, "uint32")]

V1 = build("mockprom/prompb/v1.proto", "prometheus", {
    "MetricMetadata": [("type", 1, "int32"), ("metric_family_name", 2, "string"),
                       ("help", 4, "string"), ("unit", 5, "string")],
    "Sample": [("value", 1, "double"), ("timestamp", 2, "int64")],
    "Exemplar": [("labels", 1, "Label", _REP), ("value", 2, "double"), ("timestamp", 3, "int64")],
    "Histogram": _HISTOGRAM,
    "BucketSpan": _BUCKET_SPAN,
    "TimeSeries": [("labels", 1, "Label", _REP), ("samples", 2, "Sample", _REP),
                   ("exemplars", 3, "Exemplar", _REP), ("histograms", 4, "Histogram", _REP)],
    "Label": [("name", 1, "string"), ("value", 2, "string")],
    "LabelMatcher": [("type", 1, "int32"), ("name", 2, "string"), ("value", 3, "string")],
    "ReadHints": [("step_ms", 1, "int64"), ("func", 2, "string"), ("start_ms", 3, "int64"),
                  ("end_ms", 4, "int64"), ("grouping", 5, "string", _REP), ("by", 6, "bool"),
                  ("range_ms", 7, "int64")],
    "Chunk": [("min_time_ms", 1, "int64"), ("max_time_ms", 2, "int64"), ("type", 3, "int32"),
              ("data", 4, "bytes")],
    "ChunkedSeries": [("labels", 1, "Label", _REP), ("chunks", 2, "Chunk", _REP)],
    "WriteRequest": [("timeseries", 1, "TimeSeries", _REP),
                     ("metadata", 3, "MetricMetadata", _REP)],
    "ReadRequest": [("queries", 1, "Query", _REP),
                    ("accepted_response_types", 2, "int32", _REP)],
    "ReadResponse": [("results", 1, "QueryResult", _REP)],
    "Query": [("start_timestamp_ms", 1, "int64"), ("end_timestamp_ms", 2, "int64"),
              ("matchers", 3, "LabelMatcher", _REP), ("hints", 4, "ReadHints")],
    "QueryResult": [("timeseries", 1, "TimeSeries", _REP)],
    "ChunkedReadResponse": [("chunked_series", 1, "ChunkedSeries", _REP),
                            ("query_index", 2, "int64")],
})

V2 = build("mockprom/prompb/v2.proto", "io.prometheus.write.v2", {
    "Request": [("symbols", 4, "string", _REP), ("timeseries", 5, "TimeSeries", _REP)],
    "TimeSeries": [("labels_refs", 1, "uint32", _REP), ("samples", 2, "Sample", _REP),
                   ("histograms", 3, "Histogram", _REP), ("exemplars", 4, "Exemplar", _REP),
                   ("metadata", 5, "Metadata"), ("created_timestamp", 6, "int64")],
    "Exemplar": [("labels_refs", 1, "uint32", _REP), ("value", 2, "double"),
                 ("timestamp", 3, "int64")],
    "Sample": [("value", 1, "double"), ("timestamp", 2, "int64")],
    "Metadata": [("type", 1, "int32"), ("help_ref", 3, "uint32"), ("unit_ref", 4, "uint32")],
    "Histogram": _HISTOGRAM,
    "BucketSpan": _BUCKET_SPAN,
})

# ReadRequest.ResponseType
SAMPLES, STREAMED_XOR_CHUNKS = 0, 1
# LabelMatcher.Type
MATCH_EQ, MATCH_NEQ, MATCH_RE, MATCH_NRE = 0, 1, 2, 3
# Chunk.Encoding
CHUNK_XOR = 1
# MetricMetadata.MetricType (1.0) and Metadata.MetricType (2.0): the same numbers
METRIC_TYPES = ("unknown", "counter", "gauge", "histogram", "gaugehistogram", "summary",
                "info", "stateset")
