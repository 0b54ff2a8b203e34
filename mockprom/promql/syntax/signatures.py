"""Parse-time signatures of PromQL's functions (Prometheus's ``promql/parser/functions.go``),
one table per release line.

A signature is ``(argument types, variadic, return type, experimental)``. ``variadic``:
0 = exact, k > 0 = up to k optional trailing arguments, -1 = the last argument type
repeats without limit. ``experimental`` functions are refused unless
``--enable-feature=promql-experimental-functions`` is on.
"""

from __future__ import annotations

from typing import NamedTuple, Tuple

from mockprom.promql.nodes import MATRIX as _M, SCALAR as _S, STRING as _STR, VECTOR as _V


class Signature(NamedTuple):
    arg_types: Tuple[str, ...]
    variadic: int
    return_type: str
    experimental: bool = False


def _same(names: str, sig: Signature) -> dict:
    return {name: sig for name in names.split()}


# Prometheus v2.42.0
FUNCTIONS_V2_42: dict[str, Signature] = {
    **_same("abs absent acos acosh asin asinh atan atanh ceil cos cosh deg exp floor "
            "histogram_count histogram_sum ln log10 log2 rad sgn sin sinh sort sort_desc "
            "sqrt tan tanh timestamp", Signature((_V,), 0, _V)),
    **_same("absent_over_time avg_over_time changes count_over_time delta deriv idelta "
            "increase irate last_over_time max_over_time min_over_time present_over_time "
            "rate resets stddev_over_time stdvar_over_time sum_over_time",
            Signature((_M,), 0, _V)),
    **_same("days_in_month day_of_month day_of_week day_of_year hour minute month year",
            Signature((_V,), 1, _V)),
    "clamp": Signature((_V, _S, _S), 0, _V),
    "clamp_max": Signature((_V, _S), 0, _V),
    "clamp_min": Signature((_V, _S), 0, _V),
    "histogram_fraction": Signature((_S, _S, _V), 0, _V),
    "histogram_quantile": Signature((_S, _V), 0, _V),
    "holt_winters": Signature((_M, _S, _S), 0, _V),
    "label_join": Signature((_V, _STR, _STR, _STR), -1, _V),
    "label_replace": Signature((_V, _STR, _STR, _STR, _STR), 0, _V),
    "pi": Signature((), 0, _S),
    "predict_linear": Signature((_M, _S), 0, _V),
    "quantile_over_time": Signature((_S, _M), 0, _V),
    "round": Signature((_V, _S), 1, _V),
    "scalar": Signature((_V,), 0, _S),
    "time": Signature((), 0, _S),
    "vector": Signature((_S,), 0, _V),
}

# Prometheus v3.5: holt_winters is gone (double_exponential_smoothing, experimental),
# native-histogram statistics, and the experimental functions below.
FUNCTIONS_V3_5: dict[str, Signature] = {
    **{k: v for k, v in FUNCTIONS_V2_42.items() if k != "holt_winters"},
    **_same("histogram_avg histogram_stddev histogram_stdvar", Signature((_V,), 0, _V)),
    "double_exponential_smoothing": Signature((_M, _S, _S), 0, _V, True),
    "info": Signature((_V, _V), 1, _V, True),
    **_same("mad_over_time ts_of_max_over_time ts_of_min_over_time ts_of_last_over_time",
            Signature((_M,), 0, _V, True)),
    **_same("sort_by_label sort_by_label_desc", Signature((_V, _STR), -1, _V, True)),
}
