"""A real Prometheus 3.5.3 holding native histograms, to compare mockprom against it.

Data is mockprom's bare scenario shape, where a sample value may also be a native
histogram in the series notation: ``{"labels": {...}, "samples": [[t, "{{count:2
buckets:[2]}}"], [t, 1.5], ...]}``. The same list wrapped as ``{"series": [...]}`` is a
mockprom scenario, so both servers hold the same data.

The real server gets it by remote write 1.0, float histograms in the ``histograms`` field
of ``prometheus.TimeSeries`` (``prompb/types.proto``), started with
``--enable-feature=native-histograms``. The protobuf is hand-encoded here (as in
``realprom``), not taken from ``mockprom.ingest``, so the oracle shares no code with what
it checks; only the notation is read with ``mockprom.histograms`` (the corpus tests that).
"""

from __future__ import annotations

import struct
from typing import Sequence

import cramjam

from mockprom.histograms import FloatHistogram, parse_histogram
from realprom import RealPrometheus, _field, _varint, send_in_windows, to_ms, value_bits

NATIVE_FLAGS = ("--enable-feature=native-histograms",)


def _zigzag(n: int) -> int:
    return (n << 1) ^ (n >> 63)


def _double(number: int, v: float) -> bytes:
    return _varint(number << 3 | 1) + struct.pack("<d", v)


def _packed_doubles(number: int, vals) -> bytes:
    if not vals:
        return b""
    return _field(number, b"".join(struct.pack("<d", v) for v in vals))


def _spans(number: int, spans) -> bytes:
    out = b""
    for offset, length in spans:
        body = b""
        if offset:
            body += b"\x08" + _varint(_zigzag(offset))
        if length:
            body += b"\x10" + _varint(length)
        out += _field(number, body)
    return out


def encode_histogram(h: FloatHistogram, t_ms: int) -> bytes:
    """A ``prometheus.Histogram`` message holding ``h`` as a float histogram."""
    body = _double(2, h.count)  # count_float: always set, it marks a float histogram
    if h.sum:
        body += _double(3, h.sum)
    if h.schema:
        body += b"\x20" + _varint(_zigzag(h.schema))
    if h.zero_threshold:
        body += _double(5, h.zero_threshold)
    body += _double(7, h.zero_count)
    body += _spans(8, h.negative_spans) + _packed_doubles(10, h.negative_buckets)
    body += _spans(11, h.positive_spans) + _packed_doubles(13, h.positive_buckets)
    if h.counter_reset_hint:
        body += b"\x70" + _varint(h.counter_reset_hint)
    if t_ms:
        body += b"\x78" + _varint(t_ms)
    body += _packed_doubles(16, h.custom_values)
    return body


def _value(v):
    if isinstance(v, str) and v.strip().startswith("{{"):
        return parse_histogram(v.strip())[0]
    if isinstance(v, FloatHistogram):
        return v
    return None


def remote_write_native(url: str, series: Sequence[dict], window_ms: int = 30 * 60_000) -> int:
    """Write every sample (floats and histograms) of ``series`` in time order."""
    labelsets = [tuple(sorted(s["labels"].items())) for s in series]
    flat = []
    for i, s in enumerate(series):
        for t, v in s["samples"]:
            flat.append((to_ms(t), i, v))
    flat.sort(key=lambda x: (x[0], x[1]))

    def encode(per_series: dict) -> bytes:
        raw = b""
        for i, samples in per_series.items():
            body = b"".join(_field(1, _field(1, k.encode()) + _field(2, v.encode()))
                            for k, v in labelsets[i])
            for t_ms, v in samples:
                if _value(v) is None:
                    body += _field(2, b"\x09" + struct.pack("<Q", value_bits(v)) + b"\x10"
                                   + _varint(t_ms))
            for t_ms, v in samples:
                h = _value(v)
                if h is not None:
                    body += _field(4, encode_histogram(h, t_ms))
            raw += _field(1, body)
        return bytes(cramjam.snappy.compress_raw(raw))

    send_in_windows(url, flat, encode, window_ms, max_samples=20_000)
    return len(flat)


class RealNativePrometheus(RealPrometheus):
    """A real Prometheus (3.5.3 unless ``line`` says 2.42) with native histograms on,
    loaded by remote write."""

    def __init__(self, series: Sequence[dict] = (), extra_args: Sequence[str] = (),
                 line: str = "3.5", **kw):
        super().__init__(series, loader="none", extra_args=[*NATIVE_FLAGS, *extra_args],
                         line=line, **kw)

    def __enter__(self) -> "RealNativePrometheus":
        try:
            self.start()
            if self.series:
                remote_write_native(self.url, self.series)
            self.check_loaded()
        except BaseException:
            self.stop()
            raise
        return self


__all__ = ["RealNativePrometheus", "encode_histogram", "remote_write_native"]
