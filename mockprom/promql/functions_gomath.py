"""Go's own ``math.Log``, ``Sin``, ``Cos`` and ``Tan`` (as compiled for amd64), vectorised,
so that ``ln``/``log2``/``log10``/``sin``/``cos``/``tan`` answer bit for bit what
Prometheus answers; the C library differs in the last bit for some arguments.

``Log`` is the amd64 assembly routine (FreeBSD's algorithm); ``Sin``/``Cos``/``Tan`` are
Go's Cephes ports. Arguments of 2**29 and more (where Go uses Payne-Hanek reduction) fall
back to numpy.
"""

from __future__ import annotations

import numpy as np

_F = np.float64

# -- Log (src/math/log_amd64.s) ---------------------------------------------------------
_HSQRT2 = 7.07106781186547524401e-01
_LN2HI = 6.93147180369123816490e-01
_LN2LO = 1.90821492927058770002e-10
_L1 = 6.666666666666735130e-01
_L2 = 3.999999999940941908e-01
_L3 = 2.857142874366239149e-01
_L4 = 2.222219843214978396e-01
_L5 = 1.818357216161805012e-01
_L6 = 1.531383769920937332e-01
_L7 = 1.479819860511658591e-01


def go_log(x) -> np.ndarray:
    x = np.asarray(x, dtype=_F)
    bits = x.view(np.uint64)
    f1 = ((bits & np.uint64(0x000FFFFFFFFFFFFF)) | np.uint64(0x3FE0000000000000)).view(_F)
    k = (((bits >> np.uint64(52)) & np.uint64(0x7FF)).astype(np.int64) - 0x3FE).astype(_F)
    small = f1 <= _HSQRT2
    k = np.where(small, k - 1.0, k)
    f1 = f1 * np.where(small, 2.0, 1.0)
    with np.errstate(all="ignore"):
        f = f1 - 1.0
        s = f / (2.0 + f)
        s2 = s * s
        s4 = s2 * s2
        t1 = (((_L7 * s4 + _L5) * s4 + _L3) * s4 + _L1) * s2
        t2 = ((_L6 * s4 + _L4) * s4 + _L2) * s4
        r = t1 + t2
        hfsq = 0.5 * f * f
        res = k * _LN2HI - ((hfsq - (s * (hfsq + r) + k * _LN2LO)) - f)
    negative = bits.view(np.int64) < 0
    res = np.where(x >= np.inf, x, res)
    res = np.where(np.isnan(x), np.nan, res)
    res = np.where(negative & ~np.isnan(x), np.nan, res)
    return np.where((bits & np.uint64(0x7FFFFFFFFFFFFFFF)) == 0, -np.inf, res)


_LN2_INV = 1.4426950408889634  # Go's constant 1/Ln2, rounded once
_LN10_INV = 0.4342944819032518  # Go's constant 1/Ln10


def go_log2(x) -> np.ndarray:
    """``Log(frac)*(1/Ln2) + exp``, exact for powers of two."""
    x = np.asarray(x, dtype=_F)
    frac, exp = np.frexp(x)
    with np.errstate(all="ignore"):
        res = go_log(frac) * _LN2_INV + exp
    res = np.where(frac == 0.5, exp - 1.0, res)
    special = ~np.isfinite(x) | (x <= 0)
    return np.where(special, go_log(x), res)


def go_log10(x) -> np.ndarray:
    return go_log(x) * _LN10_INV


# -- Sin, Cos, Tan (src/math/sin.go, tan.go) ------------------------------------------
_PI4A = 7.85398125648498535156e-1
_PI4B = 3.77489470793079817668e-8
_PI4C = 2.69515142907905952645e-15
_FOUR_OVER_PI = 1.2732395447351628
_REDUCE_THRESHOLD = float(1 << 29)
_SIN = (1.58962301576546568060e-10, -2.50507477628578072866e-8, 2.75573136213857245213e-6,
        -1.98412698295895385996e-4, 8.33333333332211858878e-3, -1.66666666666666307295e-1)
_COS = (-1.13585365213876817300e-11, 2.08757008419747316778e-9, -2.75573141792967388112e-7,
        2.48015872888517045348e-5, -1.38888888888730564116e-3, 4.16666666666665929218e-2)
_TANP = (-1.30936939181383777646e4, 1.15351664838587416140e6, -1.79565251976484877988e7)
_TANQ = (1.0, 1.36812963470692954678e4, -1.32089234440210967447e6, 2.50083801823357915839e7,
         -5.38695755929454629881e7)


def _reduce(ax: np.ndarray):
    """Octant ``j`` (already mapped to even) and the remainder ``z`` of ``|x|``."""
    j = np.trunc(np.where(ax < _REDUCE_THRESHOLD, ax, 0.0) * _FOUR_OVER_PI).astype(np.uint64)
    odd = (j & np.uint64(1)) == 1
    j = j + odd.astype(np.uint64)
    y = j.astype(_F)
    z = ((ax - y * _PI4A) - y * _PI4B) - y * _PI4C
    return j, z


def _sin_poly(z, zz):
    c = _SIN
    return z + z * zz * ((((((c[0] * zz) + c[1]) * zz + c[2]) * zz + c[3]) * zz + c[4]) * zz + c[5])


def _cos_poly(zz):
    c = _COS
    return 1.0 - 0.5 * zz + zz * zz * (
        (((((c[0] * zz) + c[1]) * zz + c[2]) * zz + c[3]) * zz + c[4]) * zz + c[5])


def go_sin(x) -> np.ndarray:
    x = np.asarray(x, dtype=_F)
    with np.errstate(all="ignore"):
        ax = np.abs(x)
        j, z = _reduce(np.where(np.isfinite(ax), ax, 0.0))
        j = j & np.uint64(7)
        sign = x < 0
        flip = j > 3
        sign = sign ^ flip
        j = np.where(flip, j - np.uint64(4), j)
        zz = z * z
        use_cos = (j == 1) | (j == 2)
        y = np.where(use_cos, _cos_poly(zz), _sin_poly(z, zz))
        y = np.where(sign, -y, y)
        y = np.where(ax >= _REDUCE_THRESHOLD, np.sin(x), y)
    y = np.where(np.isinf(x), np.nan, y)
    return np.where((x == 0) | np.isnan(x), x, y)


def go_cos(x) -> np.ndarray:
    x = np.asarray(x, dtype=_F)
    with np.errstate(all="ignore"):
        ax = np.abs(x)
        j, z = _reduce(np.where(np.isfinite(ax), ax, 0.0))
        j = j & np.uint64(7)
        flip = j > 3
        sign = flip.copy()
        j = np.where(flip, j - np.uint64(4), j)
        sign = sign ^ (j > 1)
        zz = z * z
        use_sin = (j == 1) | (j == 2)
        y = np.where(use_sin, _sin_poly(z, zz), _cos_poly(zz))
        y = np.where(sign, -y, y)
        y = np.where(ax >= _REDUCE_THRESHOLD, np.cos(x), y)
    return np.where(np.isnan(x) | np.isinf(x), np.nan, y)


def go_tan(x) -> np.ndarray:
    x = np.asarray(x, dtype=_F)
    p, q = _TANP, _TANQ
    with np.errstate(all="ignore"):
        ax = np.abs(x)
        j, z = _reduce(np.where(np.isfinite(ax), ax, 0.0))
        zz = z * z
        poly = z + z * (zz * (((p[0] * zz) + p[1]) * zz + p[2])
                        / ((((zz + q[1]) * zz + q[2]) * zz + q[3]) * zz + q[4]))
        y = np.where(zz > 1e-14, poly, z)
        y = np.where((j & np.uint64(2)) == 2, -1.0 / y, y)
        y = np.where(x < 0, -y, y)
        y = np.where(ax >= _REDUCE_THRESHOLD, np.tan(x), y)
    y = np.where(np.isinf(x), np.nan, y)
    return np.where((x == 0) | np.isnan(x), x, y)
