"""How PromQL *evaluation* differs between the release lines mockprom emulates: one
``EvalRules`` row per line in the ``promql_eval`` version table. The engine, selectors,
functions, aggregations and operators read the row of the query's emulation
(``ctx.rules``); nothing compares version strings. (The grammar has its own table,
``promql_syntax``, owned by the parser.)

Feature flags (``--enable-feature``) are not rows: they belong to one server's emulation
(``ctx.emulation.has("promql-delayed-name-removal")``).
"""

from __future__ import annotations

from dataclasses import dataclass

from mockprom import versions


@dataclass(frozen=True)
class EvalRules:
    """The evaluation semantics of one release line."""

    # Range selectors, subquery windows and the lookback of instant selectors: left-open
    # ``(t - range, t]`` (3.x) or closed ``[t - range, t]`` (2.42).
    left_open: bool
    # A subquery's first inner step: the first multiple of its step strictly after
    # (3.x) or at or after (2.42) ``t - offset - range``.
    subquery_strictly_after: bool
    # ``.`` in regex matchers and ``label_replace`` matches a newline (3.x).
    regex_dotall: bool
    # The engine adds PromQL annotations (``warnings`` and ``infos``) as 3.x words them:
    # invalid quantiles and ratios, possible non-counters, histogram_quantile's fixes...
    annotations: bool
    # Removing the metric name (arithmetic, functions) also removes the ``__type__`` and
    # ``__unit__`` labels of ``type-and-unit-labels`` (3.x).
    drop_type_and_unit: bool
    # Functions that exist in this line but only evaluate with a feature flag on
    # (Prometheus refuses them at parse time otherwise).
    experimental_functions: frozenset
    # Functions this line does not have at all.
    missing_functions: frozenset


EXPERIMENTAL_FUNCTIONS_3_5 = frozenset({
    "double_exponential_smoothing", "info", "limitk", "limit_ratio", "mad_over_time",
    "sort_by_label", "sort_by_label_desc", "ts_of_last_over_time", "ts_of_max_over_time",
    "ts_of_min_over_time",
})

FUNCTIONS_NEW_IN_3 = EXPERIMENTAL_FUNCTIONS_3_5 | frozenset({
    "histogram_avg", "histogram_stddev", "histogram_stdvar",
})

RULES_2_42 = EvalRules(
    left_open=False,
    subquery_strictly_after=False,
    regex_dotall=False,
    annotations=False,
    drop_type_and_unit=False,
    experimental_functions=frozenset(),
    missing_functions=FUNCTIONS_NEW_IN_3,
)

RULES_3_5 = EvalRules(
    left_open=True,
    subquery_strictly_after=True,
    regex_dotall=True,
    annotations=True,
    drop_type_and_unit=True,
    experimental_functions=EXPERIMENTAL_FUNCTIONS_3_5,
    missing_functions=frozenset({"holt_winters"}),
)

EVAL = versions.table("promql_eval", {"2.42": RULES_2_42, "3.5": RULES_3_5})


def rules_of(emulation) -> EvalRules:
    """The row of ``emulation`` (a ``versions.Emulation``)."""
    return EVAL[emulation]
