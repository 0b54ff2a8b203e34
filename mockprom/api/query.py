"""Expression queries: ``/api/v1/query``, ``query_range``, ``format_query``,
``query_exemplars`` (as web/api/v1/api.go in Prometheus 2.42 and 3.5; where they differ,
``mockprom.api.dialect`` says how)."""

from __future__ import annotations

from flask import Blueprint, g

from mockprom.api.context import get_state, now_gotime
from mockprom.api.dialect import dialect
from mockprom.api.envelope import ApiError, bad_data, invalid_param, no_content, success
from mockprom.api.format import result_json
from mockprom.api.params import (MAX_TIME, MIN_TIME, duration_param, form_value,
                                 limit_param, parse_duration_ns, required_time, time_param,
                                 truncate)
from mockprom.promql.errors import ParseError, PromQLError

bp = Blueprint("query", __name__)

QUERY_METHODS = ("GET", "POST")


def _timeout_s(gen, timeout_ns):
    default = gen.settings.query_timeout_s
    if timeout_ns is None:
        return default
    return max(0.0, min(default, timeout_ns / 1e9))


def _lookback_ms():
    """``lookback_delta`` (Prometheus 2.43+; 2.42 ignores it): a duration, refused as
    ``error parsing lookback delta duration: ...``; zero or negative means the default."""
    if not dialect().lookback_delta_param:
        return None
    val = form_value("lookback_delta")
    if val == "":
        return None
    try:
        ns = parse_duration_ns(val)
    except ValueError as exc:
        raise bad_data(f"error parsing lookback delta duration: {exc}") from None
    return ns // 1_000_000 if ns > 0 else None


def _parse_error(exc: ParseError, param_error: bool) -> ApiError:
    return invalid_param("query", exc.message) if param_error else bad_data(exc.message)


def _expired_timeout(text: str, timeout_ns, *, param_error: bool) -> None:
    """``timeout=0`` (or negative seconds): Prometheus's context is already done when the
    query reaches the queue or the engine, after the query was parsed. (3.5 picks between
    that and the context's own error at random, Go's ``select``; mockprom answers the
    former.)"""
    if timeout_ns is None or timeout_ns > 0:
        return
    from mockprom.promql.parse import parse

    try:
        parse(text, get_state().settings.emulation)
    except ParseError as exc:
        raise _parse_error(exc, param_error) from None
    raise ApiError("timeout", dialect().zero_timeout_error)


def _eval_error(exc: PromQLError) -> ApiError:
    return ApiError(exc.error_type, exc.message)


def _answer(result, stats_param: str = "", per_step: bool = False, limit=None):
    from mockprom.promql.values import Matrix, Vector

    value, warnings = result.value, list(result.warnings or ())
    if isinstance(value, Vector):
        samples, cut = truncate(list(value.samples), limit)
        if cut:
            value, warnings = Vector(samples), warnings + cut
    elif isinstance(value, Matrix):
        series, cut = truncate(list(value.series), limit)
        if cut:
            value, warnings = Matrix(series), warnings + cut
    data = result_json(value, dialect().html_escaped_labels)
    if stats_param:
        data = data[:-1] + b',"stats":' + _stats_json(result, per_step) + b"}"
    return success(data_json=data, warnings=warnings, infos=result.infos)


# -- stats (util/stats/query_stats.go of Prometheus 2.42) -----------------------------------

def _stats_param() -> str:
    """``stats``: any non-empty value adds ``data.stats``; ``all`` asks for per-step
    counts too (given only when the server has per-step statistics enabled)."""
    return form_value("stats") or ""


def _per_step_stats_enabled(gen) -> bool:
    """Prometheus gives per-step counts only with ``--enable-feature=promql-per-step-stats``
    (off by default; a scenario turns it on with ``server: {per_step_stats: true}``)."""
    return gen.settings.per_step_stats


def _go_json_float(v: float) -> str:
    """A float64 as Go's encoding/json writes it."""
    import math

    import numpy as np

    v = float(v)
    if v == 0:
        return "0"
    if math.isfinite(v) and v == int(v) and abs(v) < 1e21:
        return str(int(v))
    if 1e-6 <= abs(v) < 1e21:
        return np.format_float_positional(v, trim="-")
    mant, exp = f"{v!r}".split("e") if "e" in repr(v) else (repr(v), "0")
    sign = "-" if exp.startswith("-") else "+"
    return f"{mant}e{sign}{exp.lstrip('+-').rjust(2, '0')}"


def _stats_json(result, per_step: bool) -> bytes:
    timings = getattr(result, "timings", None) or {}
    names = ("evalTotalTime", "resultSortTime", "queryPreparationTime", "innerEvalTime",
             "execQueueTime", "execTotalTime")
    parts = ",".join(f'"{k}":{_go_json_float(timings.get(k, 0.0))}' for k in names)
    st = result.stats
    samples = ""
    if per_step:
        points = ",".join(f"[{_go_json_float(t / 1000)},{c}]"
                          for t, c in zip(st.steps_ms, st.per_step))
        samples = f'"totalQueryableSamplesPerStep":[{points}],'
    samples += f'"totalQueryableSamples":{st.total},"peakSamples":{st.peak}'
    return ('{"timings":{' + parts + '},"samples":{' + samples + "}}").encode()


def _timed(run, stats_param: str):
    """Run a query, timing it for ``data.stats`` when asked."""
    if not stats_param:
        return run(False)
    import time

    began = time.perf_counter()
    result = run(True)
    took = round(time.perf_counter() - began, 9)  # Go: a Duration's nanoseconds in seconds
    result.timings = {"evalTotalTime": took, "innerEvalTime": took, "execTotalTime": took,
                      "queryPreparationTime": 0.0, "execQueueTime": 0.0,
                      "resultSortTime": 0.0}
    return result


@bp.route("/api/v1/query", methods=QUERY_METHODS)
def query():
    state = get_state()
    gen = state.current
    limit = limit_param()
    ts = time_param("time", now_gotime())
    timeout_ns = duration_param("timeout")
    lookback = _lookback_ms()
    text = form_value("query")
    g.mockprom_expr = text
    _expired_timeout(text, timeout_ns, param_error=True)
    stats_param = _stats_param()
    try:
        result = _timed(lambda stats: gen.engine.instant_query(
            text, ts.engine_ms(), lookback_ms=lookback, timeout_s=_timeout_s(gen, timeout_ns),
            stats=stats), stats_param)
    except ParseError as exc:
        raise invalid_param("query", exc.message) from None
    except PromQLError as exc:
        raise _eval_error(exc) from None
    return _answer(result, stats_param,
                   stats_param == "all" and _per_step_stats_enabled(gen), limit)


@bp.route("/api/v1/query_range", methods=QUERY_METHODS)
def query_range():
    state = get_state()
    gen = state.current
    limit = limit_param()
    named_errors = dialect().range_query_errors_name_query
    start = required_time("start")
    end = required_time("end")
    if end.before(start):
        raise invalid_param("end", "end timestamp must not be before start time")
    try:
        step_ns = parse_duration_ns(form_value("step"))
    except ValueError as exc:
        raise invalid_param("step", str(exc)) from None
    if step_ns <= 0:
        raise invalid_param("step", "zero or negative query resolution step widths are not "
                                    "accepted. Try a positive integer")
    max_points = gen.settings.max_points
    if end.sub_ns(start) // step_ns > max_points:
        raise bad_data(f"exceeded maximum resolution of {max_points:,} points per timeseries. "
                       "Try decreasing the query resolution (?step=XX)")
    timeout_ns = duration_param("timeout")
    lookback = _lookback_ms()
    text = form_value("query")
    g.mockprom_expr = text
    _expired_timeout(text, timeout_ns, param_error=named_errors)
    step_ms = step_ns // 1_000_000
    start_ms, end_ms = start.engine_ms(), end.engine_ms()
    try:
        if step_ms == 0:
            # Prometheus 2.42 divides by the step in ms and panics; it answers this.
            from mockprom.promql.parse import parse

            parse(text, gen.settings.emulation)
            raise ApiError("execution", "unexpected error: runtime error: integer divide by zero")
        stats_param = _stats_param()
        result = _timed(lambda stats: gen.engine.range_query(
            text, start_ms, end_ms, step_ms, lookback_ms=lookback,
            timeout_s=_timeout_s(gen, timeout_ns), stats=stats), stats_param)
    except ParseError as exc:
        raise _parse_error(exc, named_errors) from None
    except PromQLError as exc:
        raise _eval_error(exc) from None
    return _answer(result, stats_param,
                   stats_param == "all" and _per_step_stats_enabled(gen), limit)


@bp.route("/api/v1/format_query", methods=QUERY_METHODS)
def format_query():
    from mockprom.promql.parse import format_expr

    text = form_value("query")
    g.mockprom_expr = text
    try:
        return success(format_expr(text, get_state().settings.emulation))
    except ParseError as exc:
        raise invalid_param("query", exc.message) from None


@bp.route("/api/v1/parse_query", methods=QUERY_METHODS)
def parse_query():
    """The expression's syntax tree (Prometheus 3's web UI tree view; 404 in 2.42)."""
    from mockprom.promql.parse import ast_json

    text = form_value("query")
    g.mockprom_expr = text
    try:
        return success(ast_json(text, get_state().settings.emulation))
    except ParseError as exc:
        raise invalid_param("query", exc.message) from None


@bp.route("/api/v1/query_exemplars", methods=QUERY_METHODS)
def query_exemplars():
    from mockprom.promql.parse import parse

    start = time_param("start", MIN_TIME)
    end = time_param("end", MAX_TIME)
    if end.before(start):
        raise bad_data("end timestamp must not be before start timestamp")
    text = form_value("query")
    g.mockprom_expr = text
    try:
        expr = parse(text, get_state().settings.emulation)
    except ParseError as exc:
        raise bad_data(exc.message) from None
    if not list(vector_selectors(expr)):
        return no_content()
    # Scenarios hold no exemplars: every selector finds none.
    return success([])


def vector_selectors(expr):
    """Every ``VectorSelector`` in an expression tree (iteratively: no recursion limit)."""
    import dataclasses

    from mockprom.promql import nodes

    stack = [expr]
    while stack:
        node = stack.pop()
        if isinstance(node, nodes.VectorSelector):
            yield node
            continue
        if dataclasses.is_dataclass(node):
            for f in dataclasses.fields(node):
                v = getattr(node, f.name)
                if isinstance(v, (list, tuple)):
                    stack.extend(x for x in v if dataclasses.is_dataclass(x))
                elif dataclasses.is_dataclass(v):
                    stack.append(v)
