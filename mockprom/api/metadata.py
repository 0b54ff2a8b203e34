"""Series metadata endpoints: ``series``, ``labels``, ``label/<name>/values``,
``metadata``, ``targets``, ``targets/metadata`` (as web/api/v1/api.go in 2.42)."""

from __future__ import annotations

from flask import Blueprint, request

from mockprom.api.context import get_state
from mockprom.api.envelope import ApiError, bad_data, invalid_param, success
from mockprom.api.format import labels_json
from mockprom.api.params import (MAX_TIME, MIN_TIME, check_label_name, form_value,
                                 form_values, int_param, matcher_sets, parse_selector,
                                 time_param, time_to_store_ms)
from mockprom.api.targets import active_targets, dropped_targets
from mockprom.promql.errors import ParseError
from mockprom.scenario.labels import series_matches

bp = Blueprint("metadata", __name__)

BOTH = ("GET", "POST")


def _range():
    start = time_param("start", MIN_TIME)
    end = time_param("end", MAX_TIME)
    return time_to_store_ms(start), time_to_store_ms(end)


@bp.route("/api/v1/series", methods=BOTH)
def series():
    matches = form_values("match[]")
    if not matches:
        raise bad_data("no match[] parameter provided")
    mint, maxt = _range()
    sets = matcher_sets(matches, param="match[]")
    store = get_state().store
    found = store.series_in_range(sets, mint, maxt) if mint <= maxt else []
    body = b"[" + b",".join(labels_json(l) for l in found) + b"]"
    return success(data_json=body)


@bp.route("/api/v1/series", methods=("DELETE",))
def drop_series():
    """Prometheus 2.42 routes DELETE /series to a stub."""
    raise ApiError("internal", "not implemented")


@bp.route("/api/v1/labels", methods=BOTH)
def labels():
    mint, maxt = _range()
    sets = matcher_sets(form_values("match[]"))
    store = get_state().store
    names = store.label_names(sets, mint, maxt) if mint <= maxt else []
    return success(names)


@bp.route("/api/v1/label/<name>/values", methods=("GET",))
def label_values(name: str):
    check_label_name(name)
    mint, maxt = _range()
    sets = matcher_sets(form_values("match[]"))
    limit = int_param("limit", "limit must be a number")
    store = get_state().store
    vals = store.label_values(name, sets, mint, maxt) if mint <= maxt else []
    warnings = []
    if limit is not None and limit > 0 and len(vals) > limit:
        vals = vals[:limit]
        warnings.append("results truncated due to limit")
    return success(vals, warnings=warnings)


@bp.route("/api/v1/metadata", methods=("GET",))
def metadata():
    limit = int_param("limit")
    limit = -1 if limit is None else limit
    per_metric = form_value("limit_per_metric")
    per = int(per_metric) if per_metric.lstrip("+-").isdigit() else -1
    metric = form_value("metric")
    state = get_state()
    table = _with_written(state.current.metadata, state)
    res = {}
    for name in sorted(table):
        if metric and name != metric:
            continue
        if limit >= 0 and len(res) >= limit:
            break
        entries = [_meta_entry(m) for m in table[name]]
        if per > 0:
            entries = entries[:per]
        res[name] = entries
    return success(res)


def _with_written(table: dict, state) -> dict:
    """The scenario's metadata and what remote write 2.0 brought (``IngestState.metadata``),
    by metric family name."""
    ing = getattr(state, "ingest", None)
    written = getattr(ing, "metadata", None) if ing is not None and ing.store is state.store else None
    if not written:
        return table
    out = {name: list(entries) for name, entries in table.items()}
    for name, entry in list(written.items()):
        entries = out.setdefault(name, [])
        if entry not in entries:
            entries.append(entry)
    return out


def _meta_entry(m) -> dict:
    if isinstance(m, dict):
        return {"type": m.get("type", "unknown"), "help": m.get("help", ""),
                "unit": m.get("unit", "")}
    return {"type": getattr(m, "type", "unknown"), "help": getattr(m, "help", ""),
            "unit": getattr(m, "unit", "")}


@bp.route("/api/v1/targets", methods=("GET",))
def targets():
    state_param = request.args.get("state", "").lower()
    show_active = state_param in ("", "any", "active")
    show_dropped = state_param in ("", "any", "dropped")
    return success({
        "activeTargets": active_targets() if show_active else [],
        "droppedTargets": dropped_targets() if show_dropped else [],
    })


@bp.route("/api/v1/targets/metadata", methods=("GET",))
def targets_metadata():
    limit = int_param("limit")
    limit = -1 if limit is None else limit
    match_target = form_value("match_target")
    matchers = None
    if match_target:
        try:
            matchers = parse_selector(match_target)
        except ParseError as exc:
            raise invalid_param("match_target", exc.message) from None
    metric = form_value("metric")
    state = get_state()
    gen = state.current
    table = gen.metadata
    res = []
    for t in active_targets():
        if limit >= 0 and len(res) >= limit:
            break
        tl = tuple(sorted(t["labels"].items()))
        if matchers is not None and not series_matches(tl, matchers):
            continue
        names = _target_metrics(gen, t["labels"])
        if metric:
            if metric in names and metric in table:
                m = _meta_entry(table[metric][0])
                res.append({"target": t["labels"], **m})
            continue
        for name in sorted(names):
            if name in table:
                m = _meta_entry(table[name][0])
                res.append({"target": t["labels"], "metric": name, **m})
    return success(res)


def _target_metrics(gen, target_labels: dict) -> set:
    """Metric families a target exposes: the names of its series (by job and instance),
    with histogram/summary suffixes folded onto the family name."""
    key = ("target_metrics", target_labels.get("job"), target_labels.get("instance"))

    def build():
        from mockprom.scenario.labels import Matcher

        ms = [Matcher.of(k, "=", target_labels[k]) for k in ("job", "instance")
              if target_labels.get(k)]
        names = set()
        for labels in gen.store.matching_labels(ms):
            name = dict(labels).get("__name__", "")
            if not name:
                continue
            names.add(name)
            for suffix in ("_bucket", "_sum", "_count", "_total"):
                if name.endswith(suffix):
                    names.add(name[: -len(suffix)])
        return names

    return gen.cached(str(key), build)
