"""Prometheus remote read (``/api/v1/read``, ``storage/remote/read_handler.go`` and
``codec.go``): a snappy-compressed ``prometheus.ReadRequest`` in, the matching series of
the store (generated, notation and written alike) out, as raw samples (``SAMPLES``: one
snappy-compressed ``ReadResponse``) or as XOR chunks (``STREAMED_XOR_CHUNKS``: a stream of
``ChunkedReadResponse`` frames, each a uvarint length, a big-endian CRC32-Castagnoli of
the message and the message; one series per frame, split across frames past 1 MiB).

Each query selects ``[start_timestamp_ms, end_timestamp_ms]``, or the hints' ``start_ms``
and ``end_ms`` when the query has hints (as Prometheus's TSDB querier takes them);
``func: series`` hints ask for the series without samples. The scenario's
``global.external_labels`` are added to every series and matchers on them match as
Prometheus filters them. A selection past ``SAMPLE_LIMIT`` samples answers 400
``exceeded sample limit (...)`` as Prometheus does past its own limit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import cramjam
import crc32c

from mockprom import goregex, versions
from mockprom.ingest import xorchunk
from mockprom.ingest.errors import IngestError
from mockprom.ingest.prompb import (CHUNK_XOR, MATCH_EQ, MATCH_NEQ, MATCH_NRE, MATCH_RE,
                                    SAMPLES, STREAMED_XOR_CHUNKS, V1)
from mockprom.ingest.remote_write import decompress
from mockprom.scenario.labels import Matcher
from mockprom.scenario.store import TooManySamples

@dataclass(frozen=True)
class ReadRules:
    """One release line's remote read: how its head cuts chunks, how its bit stream ends,
    how it words a regex it cannot compile."""

    max_chunk_bytes: Optional[int]  # chunks are cut past this size (None: never)
    old_bit_stream: bool  # 2.42's chunks may end with one more, empty byte
    regex: goregex.Dialect  # how matchers read (and word errors of) regexes


RULES = versions.table("remote_read", {
    "2.42": ReadRules(max_chunk_bytes=None, old_bit_stream=True, regex=goregex.PROMETHEUS_2),
    "3.5": ReadRules(max_chunk_bytes=xorchunk.MAX_CHUNK_BYTES, old_bit_stream=False,
                     regex=goregex.PROMETHEUS_3),
})

SAMPLE_LIMIT = 5_000_000  # Prometheus's default is 5e7; Python holds far fewer comfortably
MAX_BYTES_IN_FRAME = 1_048_576  # --storage.remote.read-max-bytes-in-frame
SAMPLES_CONTENT_TYPE = "application/x-protobuf"
STREAMED_CONTENT_TYPE = "application/x-streamed-protobuf; proto=prometheus.ChunkedReadResponse"
_RESPONSE_TYPES = {SAMPLES: "SAMPLES", STREAMED_XOR_CHUNKS: "STREAMED_XOR_CHUNKS"}
_OPS = {MATCH_EQ: "=", MATCH_NEQ: "!=", MATCH_RE: "=~", MATCH_NRE: "!~"}


def decode_request(body: bytes):
    """The ``ReadRequest`` of a body. Raises IngestError (400) as Prometheus words it."""
    raw = decompress(body)
    req = V1.ReadRequest()
    try:
        req.ParseFromString(raw)
    except Exception as err:
        raise IngestError(f"proto: cannot unmarshal ReadRequest: {err}") from None
    return req


def response_type(accepted, streamed: bool = True) -> int:
    """``NegotiateResponseType``: the first accepted type served (SAMPLES if none asked;
    always SAMPLES when ``streamed`` is off, as a server without streamed remote read)."""
    wanted = list(accepted) or [SAMPLES]
    for t in wanted:
        if t in _RESPONSE_TYPES:
            return t if streamed else SAMPLES
    names = " ".join(_RESPONSE_TYPES.get(t, str(t)) for t in wanted)
    supported = " ".join(f"{n}:{{}}" for n in _RESPONSE_TYPES.values())
    raise IngestError(f"server does not support any of the requested response types: "
                      f"[{names}]; supported: map[{supported}]")


def _matchers(query, external: dict, rules: "ReadRules") -> list[Matcher]:
    """The query's matchers; equality on an external label's value matches the label's
    absence in storage (``filterExtLabelsFromMatchers``). Raises IngestError (500, as
    Prometheus answers a matcher it cannot build)."""
    out = []
    for m in query.matchers:
        op = _OPS.get(m.type)
        if op is None:
            raise IngestError("invalid matcher type", 500)
        value = m.value
        if op == "=" and m.name in external and external[m.name] == value:
            value = ""
        try:
            out.append(Matcher.of(m.name, op, value, rules.regex))
        except goregex.RegexError as exc:  # a regex that does not compile
            raise IngestError(str(exc), 500) from None
    return out


@dataclass
class Selection:
    labels: tuple  # sorted (name, value) pairs, external labels merged
    ts: object  # int64 ms array (empty for func=series)
    vals: object


def query_range(query) -> tuple[int, int, bool]:
    """``(mint, maxt, series_only)`` of a query: its own range, or its hints' (as
    Prometheus's TSDB querier takes them), and whether the hints ask for series only."""
    if query.HasField("hints"):
        return query.hints.start_ms, query.hints.end_ms, query.hints.func == "series"
    return query.start_timestamp_ms, query.end_timestamp_ms, False


def select(store, query, external: dict, rules: ReadRules, from_ms=None) -> list[Selection]:
    """The series one query selects, sorted by labels, with their samples from
    ``from_ms`` (the query's start by default) to its end. A query without matchers
    selects nothing, as in Prometheus's TSDB."""
    matchers = _matchers(query, external, rules)
    mint, maxt, series_only = query_range(query)
    if not matchers:
        return []
    try:
        found = store.select(matchers, mint if from_ms is None else min(from_ms, mint), maxt,
                             max_samples=SAMPLE_LIMIT)
    except TooManySamples:
        raise IngestError(f"exceeded sample limit ({SAMPLE_LIMIT})") from None
    out = []
    for sd in found:
        if from_ms is not None and not (len(sd.ts) and sd.ts[-1] >= mint):
            continue  # samples only before the query's range
        labels = merge_external(sd.labels, external)
        if series_only:
            out.append(Selection(labels, sd.ts[:0], sd.vals[:0]))
        else:
            out.append(Selection(labels, sd.ts, sd.vals))
    if external:
        out.sort(key=lambda s: s.labels)
    return out


def merge_external(labels: tuple, external: dict) -> tuple:
    """``MergeLabels``: the series' own labels win over external ones."""
    if not external:
        return labels
    merged = dict(external)
    merged.update(labels)
    return tuple(sorted(merged.items()))


def samples_response(store, req, external: dict, rules: ReadRules) -> bytes:
    """The snappy-compressed ``ReadResponse`` of every query."""
    resp = V1.ReadResponse()
    total = 0
    for query in req.queries:
        result = resp.results.add()
        for sel in select(store, query, external, rules):
            total += len(sel.ts)
            if total > SAMPLE_LIMIT:
                raise IngestError(f"exceeded sample limit ({SAMPLE_LIMIT})")
            ts = result.timeseries.add()
            ts.labels.extend(V1.Label(name=n, value=v) for n, v in sel.labels)
            # -0.0 goes out as 0: Prometheus's (gogo) encoder leaves a zero double out
            ts.samples.extend(V1.Sample(timestamp=t, value=v if v else 0.0)
                              for t, v in zip(sel.ts.tolist(), sel.vals.tolist()))
    return bytes(cramjam.snappy.compress_raw(resp.SerializeToString()))


def frame(message: bytes) -> bytes:
    """One frame of a streamed response: uvarint length, CRC32-C (big endian), message."""
    n, head = len(message), bytearray()
    while n >= 0x80:
        head.append((n & 0x7F) | 0x80)
        n >>= 7
    head.append(n)
    return bytes(head) + crc32c.crc32c(message).to_bytes(4, "big") + message


def streamed_frames(store, req, external: dict, rules: ReadRules):
    """The frames of a ``STREAMED_XOR_CHUNKS`` answer, query after query, series after
    series, a frame cut past ``MAX_BYTES_IN_FRAME``. Chunks are cut where a Prometheus
    head cuts them (``xorchunk.head_chunks``, from the start of the chunk range holding
    the query's start) and trimmed to the query's range (re-encoded), as Prometheus's
    chunk querier does. Selecting a query's series may raise IngestError, after earlier
    queries' frames."""
    for index, query in enumerate(req.queries):
        mint, maxt, _ = query_range(query)
        for sel in select(store, query, external, rules, from_ms=xorchunk.range_start(mint)):
            labels = [V1.Label(name=n, value=v) for n, v in sel.labels]
            budget = MAX_BYTES_IN_FRAME - sum(l.ByteSize() for l in labels)
            chunks = list(_trimmed_chunks(sel.ts.tolist(), sel.vals.tolist(), mint, maxt, rules))
            left, pending = budget, []
            for k, chunk in enumerate(chunks):
                pending.append(chunk)
                left -= chunk.ByteSize()
                if left > 0 and k + 1 < len(chunks):
                    continue
                msg = V1.ChunkedReadResponse(query_index=index)
                msg.chunked_series.add(labels=labels, chunks=pending)
                yield frame(msg.SerializeToString())
                left, pending = budget, []


def _trimmed_chunks(ts: list, vals: list, mint: int, maxt: int, rules: ReadRules):
    old = rules.old_bit_stream
    for app in xorchunk.head_chunks(ts, vals, rules.max_chunk_bytes):
        if app.max_t < mint or app.min_t > maxt:
            continue
        if app.min_t >= mint and app.max_t <= maxt:
            yield V1.Chunk(min_time_ms=app.min_t, max_time_ms=app.max_t, type=CHUNK_XOR,
                           data=app.data(old))
            continue
        part = [(t, v) for t, v in zip(ts, vals) if app.min_t <= t <= app.max_t and mint <= t <= maxt]
        if part:
            yield V1.Chunk(min_time_ms=part[0][0], max_time_ms=part[-1][0], type=CHUNK_XOR,
                           data=xorchunk.encode(*zip(*part), old_stream=old))


def decode_frames(body: bytes) -> list:
    """The ``ChunkedReadResponse`` messages of a streamed answer (tests and clients);
    raises ValueError on a bad checksum or a truncated frame."""
    out, i = [], 0
    while i < len(body):
        n = shift = 0
        while True:
            b = body[i]
            i += 1
            n |= (b & 0x7F) << shift
            if b < 0x80:
                break
            shift += 7
        crc = int.from_bytes(body[i:i + 4], "big")
        msg = body[i + 4:i + 4 + n]
        if len(msg) != n or crc32c.crc32c(msg) != crc:
            raise ValueError("truncated frame or checksum mismatch")
        resp = V1.ChunkedReadResponse()
        resp.ParseFromString(msg)
        out.append(resp)
        i += 4 + n
    return out


def external_labels(scenario) -> dict:
    """``global.external_labels`` of the scenario's Prometheus configuration, if any."""
    config = getattr(scenario, "config", None)
    if isinstance(config, str):
        import yaml

        try:
            config = yaml.safe_load(config)
        except yaml.YAMLError:
            return {}
    if not isinstance(config, dict):
        return {}
    ext = (config.get("global") or {}).get("external_labels") or {}
    return {str(k): str(v) for k, v in ext.items()} if isinstance(ext, dict) else {}
