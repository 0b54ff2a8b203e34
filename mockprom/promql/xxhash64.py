"""XXH64 (seed 0), as ``github.com/cespare/xxhash/v2``'s ``Sum64``, and Prometheus's
``labels.Labels.Hash()`` built on it (``limit_ratio`` samples series by that hash)."""

from __future__ import annotations

import struct

_M = (1 << 64) - 1
P1 = 0x9E3779B185EBCA87
P2 = 0xC2B2AE3D27D4EB4F
P3 = 0x165667B19E3779F9
P4 = 0x85EBCA77C2B2AE63
P5 = 0x27D4EB2F165667C5


def _rotl(x: int, r: int) -> int:
    return ((x << r) | (x >> (64 - r))) & _M


def _round(acc: int, lane: int) -> int:
    return (_rotl((acc + lane * P2) & _M, 31) * P1) & _M


def _merge(h: int, v: int) -> int:
    return ((h ^ _round(0, v)) * P1 + P4) & _M


def xxh64(data: bytes) -> int:
    """The 64-bit XXH64 digest of ``data`` with seed 0."""
    n = len(data)
    i = 0
    if n >= 32:
        v1, v2, v3, v4 = (P1 + P2) & _M, P2, 0, (-P1) & _M
        while i + 32 <= n:
            a, b, c, d = struct.unpack_from("<4Q", data, i)
            v1, v2, v3, v4 = _round(v1, a), _round(v2, b), _round(v3, c), _round(v4, d)
            i += 32
        h = (_rotl(v1, 1) + _rotl(v2, 7) + _rotl(v3, 12) + _rotl(v4, 18)) & _M
        for v in (v1, v2, v3, v4):
            h = _merge(h, v)
    else:
        h = P5
    h = (h + n) & _M
    while i + 8 <= n:
        (lane,) = struct.unpack_from("<Q", data, i)
        h = (_rotl(h ^ _round(0, lane), 27) * P1 + P4) & _M
        i += 8
    if i + 4 <= n:
        (lane,) = struct.unpack_from("<I", data, i)
        h = (_rotl(h ^ ((lane * P1) & _M), 23) * P2 + P3) & _M
        i += 4
    while i < n:
        h = (_rotl(h ^ ((data[i] * P5) & _M), 11) * P1) & _M
        i += 1
    h ^= h >> 33
    h = (h * P2) & _M
    h ^= h >> 29
    h = (h * P3) & _M
    h ^= h >> 32
    return h


def _uvarint(n: int) -> bytes:
    out = bytearray()
    while n >= 0x80:
        out.append(n & 0x7F | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def labels_hash(labels) -> int:
    """``labels.Labels.Hash()`` as Prometheus's release binaries compute it (built with
    the ``stringlabels`` tag): XXH64 of the labels' packed form, each name and value
    preceded by its length as a uvarint, in label order. (A real 3.5.3's
    ``limit_ratio`` picks series by this hash.)"""
    parts = []
    for name, value in labels:
        for text in (name, value):
            raw = text.encode("utf-8", "surrogateescape")
            parts += [_uvarint(len(raw)), raw]
    return xxh64(b"".join(parts))
