"""Binary operators where a side holds native histograms (Prometheus 3.5's
``vectorElemBinop``): ``binops`` computes every pair of series on floats over all steps
and asks ``elementwise`` for the steps where a histogram is involved. There
``native.elem_binop`` decides: histogram ``*``/``/`` float, float ``*`` histogram,
histogram ``+``/``-`` histogram (bucket layouts reconciled, else a warning), ``==``/``!=``
between histograms; any other combination has no result, with an info (also under
``bool``).
"""

from __future__ import annotations

import numpy as np

from mockprom.histograms import FloatHistogram
from mockprom.promql import native, native_2_42
from mockprom.promql.steps import hist_mask


def _value_at(vals, hists, mask_h, i):
    return hists[i] if mask_h[i] else float(vals[i])


def elementwise(op: str, lvals, lhists, rvals, rhists, steps: np.ndarray, value: np.ndarray,
                keep: np.ndarray, ctx, pos, scalar_side: bool = False):
    """The pair's result with histograms: ``(value, keep, valid, hists, bool_hists)``.
    ``value``/``keep`` are the float results over all steps (``binops.elem_op``),
    overridden at the ``steps`` where a side holds a histogram; ``valid`` is False where
    the pair has no result at all (even under ``bool``); ``hists`` the histogram results
    (or None), ``bool_hists`` those under ``bool`` (2.42 keeps a vector's histograms).
    ``lvals``/``rvals`` may be scalars (arrays) with ``lhists``/``rhists`` None
    (``scalar_side``: one side is a scalar)."""
    if native_2_42.applies(ctx):
        return native_2_42.elementwise(op, lvals, lhists, rvals, rhists, steps, ctx,
                                       scalar_side)
    n = len(steps)
    lm = hist_mask(lhists, n)
    rm = hist_mask(rhists, n)
    involved = steps & (lm | rm)
    valid = np.ones(n, dtype=bool)
    if not involved.any():
        return value, keep, valid, None, None
    value = np.array(value, dtype=np.float64, copy=True)
    keep = np.array(keep, dtype=bool, copy=True)
    hists = np.full(n, None, dtype=object)
    annos: list = []
    for i in np.flatnonzero(involved):
        lv = _value_at(lvals, lhists, lm, i)
        rv = _value_at(rvals, rhists, rm, i)
        res, ok = native.elem_binop(op, lv, rv, annos)
        if res is None:
            valid[i] = False
            keep[i] = False
            continue
        keep[i] = ok
        if isinstance(res, FloatHistogram):
            hists[i] = res
            value[i] = np.nan
        else:
            value[i] = res
    for kind, arg in annos:
        text = native.annotation_text(kind, arg)
        (ctx.warn if native.is_warning(kind) else ctx.info)(text, pos)
    if not any(h is not None for h in hists):
        hists = None
    return value, keep, valid, hists, None
