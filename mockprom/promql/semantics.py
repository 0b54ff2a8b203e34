"""How PromQL *evaluation* differs between the release lines mockprom emulates: one
``EvalRules`` row per line in the ``promql_eval`` version table. The engine, selectors,
functions, aggregations and operators read the row of the query's emulation
(``ctx.rules``); nothing compares version strings. The grammar has its own table,
``promql_syntax`` (``syntax/rows.py``), which also says how regexes read (``.`` matches a
newline in 3.x: ``regex_dotall``).

Feature flags (``--enable-feature``) are not rows: they belong to one server's emulation
(``ctx.emulation.has("promql-delayed-name-removal")``).
"""

from __future__ import annotations

from dataclasses import dataclass

from mockprom import versions
from mockprom.promql import gosort


@dataclass(frozen=True)
class EvalRules:
    """The evaluation semantics of one release line."""

    # Range selectors, subquery windows and the lookback of instant selectors: left-open
    # ``(t - range, t]`` (3.x) or closed ``[t - range, t]`` (2.42).
    left_open: bool
    # A subquery's first inner step: the first multiple of its step strictly after
    # (3.x) or at or after (2.42) ``t - offset - range``.
    subquery_strictly_after: bool
    # The engine adds PromQL annotations (``warnings`` and ``infos``) as 3.x words them:
    # invalid quantiles and ratios, possible non-counters, histogram_quantile's fixes...
    annotations: bool
    # The labels removed with the metric name (arithmetic, most functions): 3.x also
    # removes the ``__type__`` and ``__unit__`` labels of ``type-and-unit-labels``.
    name_labels: tuple
    # Binary operators whose result drops the metric name (3.x adds ``atan2``).
    name_dropping_ops: frozenset
    # Aggregations and ``*_over_time`` sums with Kahan compensation; ``avg`` and
    # ``avg_over_time`` as a compensated sum divided at the end, switching to an
    # incremental mean only when the sum would overflow (3.x); 2.42 sums plainly and
    # averages incrementally.
    compensated_sums: bool
    # ``stddev``/``stdvar`` of a group whose first value is NaN or ±Inf is NaN (3.x).
    nonfinite_stddev_is_nan: bool
    # ``rate``/``increase``: the extrapolation threshold is tested before the counter's
    # zero point limits the start (3.x), not after it (2.42).
    rate_threshold_first: bool
    # ``histogram_fraction`` of classic histograms (3.x; 2.42 only has native ones).
    classic_histogram_fraction: bool
    # Selectors list series in the order the TSDB head first saw them, and an instant
    # query's vector keeps the evaluation's order (3.x); 2.42 lists them by labels (what
    # ties in sort/topk/bottomk, and the answer's order, follow).
    series_in_creation_order: bool
    # topk/bottomk: a better sample overwrites the root of a full heap, which is then
    # fixed, and a NaN root is replaced only by a number (3.x); 2.42 pops the root and
    # pushes the newcomer, and replaces a NaN root with anything.
    topk_fixes_heap: bool
    # The xorshift shifts of Go's ``sort.Sort`` (ties in sort/sort_desc/topk/bottomk of
    # many series): 2.42 is built with Go 1.19, 3.5 with Go 1.24.
    go_sort_xorshift: tuple
    # Query statistics: an aggregation (but count_values) holds only its result after its
    # input, not the input plus its outputs step by step (3.x ``rangeEvalAgg``), and
    # label_replace/label_join relabel their input in place (``evalLabelReplace``).
    lean_stats: bool
    # The parameter of topk/bottomk/limitk/limit_ratio/quantile over the whole query
    # (3.x ``fParams``): nothing when every k is below 1 (or every ratio 0), an
    # unusable k or a NaN ratio refused only at a step with input, warnings for its
    # extremes (NaN, max, min) rather than for each value out of range (2.42 and its
    # per-step checks).
    aggregation_params_summarised: bool
    # Functions this line does not have (the parser refuses them first; the experimental
    # ones of 3.x also need ``promql-experimental-functions``, a parser matter).
    missing_functions: frozenset
    # A range selector with ``@ t`` as the argument of a call evaluated step by step (not
    # step invariant: predict_linear, or a call with another argument that varies): 2.42
    # moves its window with the step (``setOffsetForAtModifier`` turned the @ into an
    # offset from the query's start) over only the samples fetched for ``@ t``, so the
    # window at step ``s`` is ``[t - range + (s - start), t]``; 3.x keeps ``[t - range,
    # t]`` at every step.
    at_windows_slide: bool


FUNCTIONS_NEW_IN_3 = frozenset({
    "double_exponential_smoothing", "histogram_avg", "histogram_stddev", "histogram_stdvar",
    "info", "mad_over_time", "sort_by_label", "sort_by_label_desc", "ts_of_last_over_time",
    "ts_of_max_over_time", "ts_of_min_over_time",
})

RULES_2_42 = EvalRules(
    left_open=False,
    subquery_strictly_after=False,
    annotations=False,
    name_labels=("__name__",),
    name_dropping_ops=frozenset({"+", "-", "*", "/", "%", "^"}),
    compensated_sums=False,
    nonfinite_stddev_is_nan=False,
    rate_threshold_first=False,
    classic_histogram_fraction=False,
    series_in_creation_order=False,
    topk_fixes_heap=False,
    go_sort_xorshift=gosort.XORSHIFT_GO_1_19,
    lean_stats=False,
    aggregation_params_summarised=False,
    missing_functions=FUNCTIONS_NEW_IN_3,
    at_windows_slide=True,
)

RULES_3_5 = EvalRules(
    left_open=True,
    subquery_strictly_after=True,
    annotations=True,
    name_labels=("__name__", "__type__", "__unit__"),
    name_dropping_ops=frozenset({"+", "-", "*", "/", "%", "^", "atan2"}),
    compensated_sums=True,
    nonfinite_stddev_is_nan=True,
    rate_threshold_first=True,
    classic_histogram_fraction=True,
    series_in_creation_order=True,
    topk_fixes_heap=True,
    go_sort_xorshift=gosort.XORSHIFT_GO_1_24,
    lean_stats=True,
    aggregation_params_summarised=True,
    missing_functions=frozenset({"holt_winters"}),
    at_windows_slide=False,
)

EVAL = versions.table("promql_eval", {"2.42": RULES_2_42, "3.5": RULES_3_5})


def rules_of(emulation) -> EvalRules:
    """The row of ``emulation`` (a ``versions.Emulation``)."""
    return EVAL[emulation]
