"""Internals of the PromQL parse adapter (``mockprom.promql.parse``): Prometheus's lexer,
grammar, type checks and printer, ported for each release line mockprom emulates.

Nothing outside ``mockprom.promql.parse`` imports these modules; everything else asks the
adapter (``parse``, ``check``, ``format_expr``, ``expr_string``, ``parse_metric_selector``,
``ast_json``, ``resolve_durations``).
"""
