"""How the HTTP API of each emulated Prometheus line behaves where the lines differ: the
``api`` behaviour table (``mockprom.versions``), one ``ApiDialect`` row per line.

Every difference below was measured by sending the same requests to a real Prometheus
2.42.0 and a real 3.5.3 holding the same data (``tests/realprom.py``). Endpoints read the
row of the server's emulation with ``dialect()`` and never test a version themselves.
"""

from __future__ import annotations

from dataclasses import dataclass

from mockprom import versions


@dataclass(frozen=True)
class ApiDialect:
    # -- JSON ---------------------------------------------------------------------------
    # Label sets (query results, /series, rules, alerts, targets) written by Go's
    # encoding/json, which escapes <, >, & and U+2028/9 (2.42), or by 3.x's jsoniter
    # label encoder, which does not (3.5). Plain strings are escaped in both.
    html_escaped_labels: bool
    # -- CORS ---------------------------------------------------------------------------
    # Access-Control-Allow-Origin: "*" (2.42) or the request's own Origin (3.5); and
    # whether "Vary: Origin" is sent on every API answer (3.5) or only with CORS (2.42).
    cors_echoes_origin: bool
    vary_origin_always: bool
    # -- parameters ---------------------------------------------------------------------
    # parseTimeParam's message: "Invalid time value for 'time': ..." (2.42), lower case (3.5)
    time_value_error: str
    # query_range wraps parse and expression-type errors as invalid parameter "query" (3.5)
    range_query_errors_name_query: bool
    # limit= on query, query_range, series, labels and label values: strconv.Atoi, refused
    # when negative, truncates with the warning "results truncated due to limit" (3.5);
    # 2.42 ignores it everywhere
    limit_param: bool
    # lookback_delta= on query and query_range (3.5); 2.42 ignores it
    lookback_delta_param: bool
    # a query with timeout<=0, once parsed: 2.42 times out in the queue, 3.5 in execution
    # (3.5 sometimes answers the context's own error instead: Go's select picks at random)
    zero_timeout_error: str
    # /api/v1/label/<name>/values: any non-empty UTF-8 name, "U__" names decoded with the
    # values escaping (3.5); legacy names only (2.42)
    utf8_label_names: bool
    # /api/v1/metadata: limit_per_metric checked ("limit_per_metric must be a number") (3.5)
    metadata_limit_per_metric_checked: bool
    # /api/v1/status/tsdb?limit= (a positive integer, else "limit must be a positive
    # number"; 10 by default) (3.5)
    tsdb_limit_param: bool
    # /api/v1/rules: rule_name[], rule_group[], file[], match[], exclude_alerts,
    # group_limit, group_next_token (3.5)
    rules_filters: bool
    # /api/v1/notifications and /api/v1/notifications/live exist (3.5)
    notifications: bool
    # /api/v1/parse_query (the expression's syntax tree as JSON) exists (3.5)
    parse_query: bool
    # /api/v1/series with one match[]: series in the order the head created them (3.5
    # skips sorting then), or sorted by labels (2.42 always sorts)
    series_in_creation_order: bool
    # /api/v1/targets: the scrapePool filter, dropped targets with their scrapePool, and
    # droppedTargetCounts per pool, null when dropped targets are not asked for (3.5)
    targets_by_pool: bool


API = versions.table("api", {
    "2.42": ApiDialect(
        html_escaped_labels=True,
        cors_echoes_origin=False,
        vary_origin_always=False,
        time_value_error="Invalid time value for '{name}': {err}",
        range_query_errors_name_query=False,
        limit_param=False,
        lookback_delta_param=False,
        zero_timeout_error="query timed out in query queue",
        utf8_label_names=False,
        metadata_limit_per_metric_checked=False,
        tsdb_limit_param=False,
        rules_filters=False,
        notifications=False,
        parse_query=False,
        series_in_creation_order=False,
        targets_by_pool=False,
    ),
    "3.5": ApiDialect(
        html_escaped_labels=False,
        cors_echoes_origin=True,
        vary_origin_always=True,
        time_value_error="invalid time value for '{name}': {err}",
        range_query_errors_name_query=True,
        limit_param=True,
        lookback_delta_param=True,
        zero_timeout_error="query timed out in query execution",
        utf8_label_names=True,
        metadata_limit_per_metric_checked=True,
        tsdb_limit_param=True,
        rules_filters=True,
        notifications=True,
        parse_query=True,
        series_in_creation_order=True,
        targets_by_pool=True,
    ),
})


def dialect() -> ApiDialect:
    """The row of the current request's server."""
    from mockprom.api.context import get_state

    return API[get_state().settings.emulation]
