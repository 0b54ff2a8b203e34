"""Prometheus's XOR chunk encoding (``tsdb/chunkenc/xor.go``, after Gorilla), bit for bit:
what remote read's ``STREAMED_XOR_CHUNKS`` responses carry.

A chunk is a big-endian uint16 sample count, then a bit stream: the first timestamp as a
signed varint and its value's 64 bits; the second timestamp's delta as an unsigned varint
and its value XORed with the first; from then on each timestamp as the delta of deltas
in a prefix-coded bucket (0, 14, 17, 20 or 64 bits) and each value as the XOR with the
previous one, reusing the previous leading/trailing zero counts when they fit.
``decode`` reads a chunk back (tests, and a check of the encoder).
"""

from __future__ import annotations

import math
import struct

MAX_SAMPLES = 120  # Prometheus cuts its head chunks at 120 samples

_DOD_BUCKETS = ((14, 0b10, 2), (17, 0b110, 3), (20, 0b1110, 4))


def _bits(v: float) -> int:
    return struct.unpack(">Q", struct.pack(">d", v))[0]


def _varint(n: int) -> list:
    """Go's ``binary.PutVarint`` (zig-zag) bytes."""
    u = (n << 1) ^ (n >> 63) if n < 0 else n << 1
    return _uvarint(u & 0xFFFFFFFFFFFFFFFF)


def _uvarint(u: int) -> list:
    out = []
    while u >= 0x80:
        out.append((u & 0x7F) | 0x80)
        u >>= 7
    out.append(u)
    return out


def _bit_range(x: int, nbits: int) -> bool:
    return -((1 << (nbits - 1)) - 1) <= x <= 1 << (nbits - 1)


class _Bits:
    """A bit stream written most significant bit first (``tsdb/chunkenc/bstream.go``).
    ``by_bytes``: the last write ended with whole bytes; Prometheus 2.42's stream then
    holds one more, empty byte (its ``writeByte`` always opened the next one)."""

    __slots__ = ("acc", "n", "by_bytes")

    def __init__(self):
        self.acc = 0
        self.n = 0
        self.by_bytes = False

    def write(self, value: int, nbits: int) -> None:
        self.acc = (self.acc << nbits) | (value & ((1 << nbits) - 1))
        self.n += nbits
        self.by_bytes = nbits % 8 == 0

    def to_bytes(self, old_stream: bool = False) -> bytes:
        if not self.n:
            return b""
        pad = -self.n % 8
        out = (self.acc << pad).to_bytes((self.n + pad) // 8, "big")
        return out + b"\0" if old_stream and not pad and self.by_bytes else out


class Appender:
    """A chunk built sample by sample (``xorAppender``), its size known at each step."""

    __slots__ = ("bits", "n", "leading", "trailing", "t", "t_delta", "v", "min_t", "max_t")

    def __init__(self):
        self.bits = _Bits()
        self.n = 0
        self.leading, self.trailing = 0xFF, 0
        self.t = self.t_delta = self.v = 0
        self.min_t = self.max_t = None

    def nbytes(self) -> int:
        return 2 + (self.bits.n + 7) // 8

    def append(self, t: int, value: float) -> None:
        b, v = self.bits, _bits(value)
        if self.n == 0:
            for byte in _varint(t):
                b.write(byte, 8)
            b.write(v, 64)
            self.min_t = t
        else:
            delta = (t - self.t) & 0xFFFFFFFFFFFFFFFF
            if self.n == 1:
                for byte in _uvarint(delta):
                    b.write(byte, 8)
            else:
                dod = (delta - self.t_delta) & 0xFFFFFFFFFFFFFFFF
                if dod >= 1 << 63:
                    dod -= 1 << 64
                if dod == 0:
                    b.write(0, 1)
                else:
                    for nbits, prefix, plen in _DOD_BUCKETS:
                        if _bit_range(dod, nbits):
                            b.write(prefix, plen)
                            b.write(dod, nbits)
                            break
                    else:
                        b.write(0b1111, 4)
                        b.write(dod, 64)
            self._write_value(v)
            self.t_delta = delta
        self.t, self.v, self.max_t = t, v, t
        self.n += 1

    def _write_value(self, v: int) -> None:
        b, x = self.bits, v ^ self.v
        if x == 0:
            b.write(0, 1)
            return
        b.write(1, 1)
        new_leading = min(64 - x.bit_length(), 31)
        new_trailing = (x & -x).bit_length() - 1
        if self.leading != 0xFF and new_leading >= self.leading and new_trailing >= self.trailing:
            b.write(0, 1)
            b.write(x >> self.trailing, 64 - self.leading - self.trailing)
            return
        self.leading, self.trailing = new_leading, new_trailing
        b.write(1, 1)
        b.write(new_leading, 5)
        sig = 64 - new_leading - new_trailing
        b.write(sig, 6)  # 64 is written as 0 (6 bits), as Prometheus does
        b.write(x >> new_trailing, sig)

    def data(self, old_stream: bool = False) -> bytes:
        """The chunk's bytes (``old_stream``: as Prometheus 2.42 leaves them)."""
        return self.n.to_bytes(2, "big") + self.bits.to_bytes(old_stream)


def encode(ts, vals, old_stream: bool = False) -> bytes:
    """One XOR chunk of the samples (at most 65,535; Prometheus cuts at ``MAX_SAMPLES``)."""
    app = Appender()
    for t, v in zip(ts, vals):
        app.append(int(t), float(v))
    return app.data(old_stream)


# -- where the TSDB head cuts chunks (tsdb/head_append.go, appendPreprocessor) ------------
CHUNK_RANGE_MS = 7_200_000  # the head's chunk range (the 2 h block range)
SAMPLES_PER_CHUNK = 120
MAX_CHUNK_BYTES = 1024 - 19  # MaxBytesPerXORChunk less a maximal next sample


def range_end(t: int, width: int = CHUNK_RANGE_MS) -> int:
    """``rangeForTimestamp``: the end of the chunk range holding ``t`` (Go division)."""
    q = abs(t) // width
    return (q if t >= 0 else -q) * width + width


def range_start(t: int, width: int = CHUNK_RANGE_MS) -> int:
    return range_end(t, width) - width


def _chunk_end(start: int, cur: int, max_t: int, ratio: float) -> int:
    """``computeChunkEndTime``."""
    n = float(max_t - start) / (float(cur - start + 1) * ratio)
    if n <= 1:
        return max_t
    return int(float(start) + float(max_t - start) / math.floor(n))


def head_chunks(ts, vals, max_bytes=MAX_CHUNK_BYTES) -> list:
    """The chunks (``Appender``s) a Prometheus head builds when the samples are appended
    in order: a new chunk at each chunk range boundary, when the chunk passes ``max_bytes``
    (~1 KiB in 3.5, None: no limit as in 2.42), at twice 120 samples, or at the end time
    predicted once it holds 30 samples."""
    chunks = []
    c = None
    next_at = 0
    quarter = SAMPLES_PER_CHUNK // 4
    for t, v in zip(ts, vals):
        t = int(t)
        if c is None or (max_bytes is not None and c.nbytes() > max_bytes):
            c = Appender()
            chunks.append(c)
            next_at = range_end(t)
        n = c.n
        if n == quarter:
            next_at = _chunk_end(c.min_t, c.max_t, next_at, 4)
        if n and (t >= next_at or n >= SAMPLES_PER_CHUNK * 2):
            c = Appender()
            chunks.append(c)
            next_at = range_end(t)
        c.append(t, float(v))
    return chunks


class _Reader:
    __slots__ = ("data", "pos")

    def __init__(self, data: bytes):
        self.data = data
        self.pos = 0  # in bits

    def read(self, nbits: int) -> int:
        out = 0
        for _ in range(nbits):
            byte = self.data[self.pos >> 3]
            out = (out << 1) | ((byte >> (7 - (self.pos & 7))) & 1)
            self.pos += 1
        return out

    def uvarint(self) -> int:
        u = shift = 0
        while True:
            byte = self.read(8)
            u |= (byte & 0x7F) << shift
            if byte < 0x80:
                return u
            shift += 7


def _signed(u: int, nbits: int) -> int:
    """As Go's reader: ``1 << (nbits - 1)`` itself stands for the positive value."""
    if nbits == 64:
        return u - (1 << 64) if u >= 1 << 63 else u
    return u - (1 << nbits) if u > 1 << (nbits - 1) else u


def decode(chunk: bytes) -> tuple[list, list]:
    """The ``(timestamps, values)`` of an XOR chunk."""
    n = int.from_bytes(chunk[:2], "big")
    r = _Reader(chunk[2:])
    ts, vals = [], []
    leading = trailing = 0
    t = t_delta = v = 0
    for i in range(n):
        if i == 0:
            u = r.uvarint()
            t = (u >> 1) ^ -(u & 1)
            v = r.read(64)
        else:
            if i == 1:
                t_delta = r.uvarint()
            else:
                dod = 0
                if r.read(1) == 1:
                    for nbits in (14, 17, 20, 64):
                        if nbits == 64 or r.read(1) == 0:
                            dod = _signed(r.read(nbits), nbits)
                            break
                t_delta += dod
            t += t_delta
            if r.read(1) == 1:
                if r.read(1) == 1:
                    leading = r.read(5)
                    sig = r.read(6) or 64
                    trailing = 64 - leading - sig
                v ^= r.read(64 - leading - trailing) << trailing
        ts.append(t)
        vals.append(struct.unpack(">d", struct.pack(">Q", v))[0])
    return ts, vals
