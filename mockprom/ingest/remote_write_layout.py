"""Where the labels and samples of each series of a remote-write 1.0 request are, found for
the whole request at once (numpy) instead of series by series, and the samples decoded.

Input: the raw bytes of each TimeSeries, of every Label message and of every Sample
message, in request order (three lists a upb parse gives in C). A request is read here
when every series holds its Label messages first, then the same number ``k`` of Sample
messages, and nothing else (no exemplar, histogram or unknown field), every Label
message under 128 bytes; and when every Sample message is the usual encoding (value, then
timestamp, either left out when zero; a timestamp from 0 to 2^63). Those assumptions are
checked, not trusted: the byte counts must add up, and at the place each record would
then start in its series the bytes must be its tag and length, so that reading the series
field by field gives exactly these records. Anything else returns None and the caller
reads the request series by series.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np

_PAD = bytes(260)  # past the end, so that reading a tag or a length never overruns
_SHIFTS = (7 * np.arange(9)).astype(np.uint64)


@dataclass
class Layout:
    label_at: list  # series i's Label messages are label_at[i] .. label_at[i + 1] - 1
    label_messages: tuple  # (uint8 buffer, where each Label message starts, its length)
    per_series: int  # samples of each series (series i's are i * k .. i * k + k - 1)
    ts: list  # every sample's timestamp (ms), in request order
    vals: list  # every sample's value


def _varint_sizes(x: np.ndarray) -> np.ndarray:
    n = np.ones_like(x)
    for bits in (7, 14, 21, 28, 35):
        n += x >= (1 << bits)
    return n


def locate(series: list, labels: tuple, samples: list) -> Optional[Layout]:
    """The layout of a request (see the module docstring), or None."""
    n, count, m = len(series), len(labels), len(samples)
    if not n or not m or m % n:
        return None
    k = m // n
    series_len = np.fromiter(map(len, series), np.int64, n)
    label_len = np.fromiter(map(len, labels), np.int64, count)
    sample_len = np.fromiter(map(len, samples), np.int64, m)
    if count and label_len.max() >= 0x80 or sample_len.max() >= 0x80:
        return None
    label_rec = label_len + 2  # tag, one length byte, the message
    sample_rec = sample_len + 2
    if int(series_len.sum()) != int(label_rec.sum()) + int(sample_rec.sum()):
        return None  # some other field in a series
    sample_end = np.concatenate(([0], np.cumsum(sample_rec)))
    samples_part = sample_end[k::k] - sample_end[:-k:k]  # bytes of each series' samples
    labels_part = series_len - samples_part
    label_end = np.concatenate(([0], np.cumsum(label_rec)))
    ends = np.cumsum(labels_part)
    label_at = np.searchsorted(label_end, ends)
    if (labels_part < 0).any() or (label_at > count).any() \
            or (label_end[np.minimum(label_at, count)] != ends).any():
        return None
    label_at = np.concatenate(([0], label_at))
    # each record's tag and length where it would start, in the series' bytes
    series.append(_PAD)
    body = np.frombuffer(b"".join(series), np.uint8)
    del series[-1]
    start = np.cumsum(series_len) - series_len
    owner = np.repeat(np.arange(n), np.diff(label_at))
    at_labels = start[owner] + (label_end[:-1] - label_end[label_at[owner]])
    if count and not ((body[at_labels] == 0x0A) & (body[at_labels + 1] == label_len)).all():
        return None
    owner = np.repeat(np.arange(n), k)
    at = start[owner] + labels_part[owner] + (sample_end[:-1] - sample_end[owner * k])
    if not ((body[at] == 0x12) & (body[at + 1] == sample_len)).all():
        return None
    decoded = _samples(samples, sample_len)
    if decoded is None:
        return None
    return Layout(label_at.tolist(), (body, at_labels + 2, label_len), k, decoded[0], decoded[1])


def _samples(samples: list, sample_len: np.ndarray) -> Optional[tuple[list, list]]:
    """The timestamps and values of Sample messages in the usual encoding, or None."""
    samples.append(_PAD)
    buf = np.frombuffer(b"".join(samples), np.uint8)
    del samples[-1]
    start = np.cumsum(sample_len) - sample_len
    end = start + sample_len
    has_value = (sample_len >= 9) & (buf[start] == 0x09)
    t_at = start + 9 * has_value
    has_t = (t_at < end) & (buf[t_at] == 0x10)
    t_len = end - t_at - 1  # bytes of the timestamp's varint
    if not np.where(has_t, (t_len >= 1) & (t_len <= 9), t_at == end).all():
        return None
    t_len = np.where(has_t, t_len, 0)
    raw = buf[(t_at + 1)[:, None] + np.arange(9)]  # up to 9 varint bytes (padded past)
    place = np.arange(9)
    inside = place < t_len[:, None]
    last = place == (t_len - 1)[:, None]
    more = (raw & 0x80) != 0
    if (inside & (more == last)).any():  # continuation bits: set but on the last byte
        return None
    ts = (((raw & 0x7F).astype(np.uint64) << _SHIFTS) * inside).sum(axis=1, dtype=np.uint64)
    vals = buf[(start + 1)[:, None] + np.arange(8)].view(np.float64).reshape(-1)
    vals = np.where(has_value, vals, 0.0)
    return ts.astype(np.int64).tolist(), vals.tolist()
