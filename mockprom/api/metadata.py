"""Series metadata endpoints: ``series``, ``labels``, ``label/<name>/values``,
``metadata``, ``targets``, ``targets/metadata`` (as web/api/v1/api.go in 2.42 and 3.5;
where they differ, ``mockprom.api.dialect`` says how)."""

from __future__ import annotations

from flask import Blueprint, request

from mockprom.api.chunkspan import listed_series
from mockprom.api.context import get_state
from mockprom.api.dialect import dialect
from mockprom.api.envelope import ApiError, bad_data, invalid_param, success
from mockprom.api.format import LabelSet, labels_json
from mockprom.api.params import (MAX_TIME, MIN_TIME, check_label_name, form_value,
                                 form_values, go_atoi, go_quote_bytes, int_param,
                                 limit_param, matcher_sets, parse_selector, time_param,
                                 time_to_store_ms, truncate)
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
    limit = limit_param()
    mint, maxt = _range()
    sets = matcher_sets(matches, param="match[]")
    store = get_state().store
    rules = dialect()
    # one selector: 3.5's head answers in the order it created the series (unsorted)
    sort = len(sets) > 1 or not rules.series_in_creation_order
    found = listed_series(store, sets, mint, maxt, sort, _chunk_bytes()) if mint <= maxt else []
    found, warnings = truncate(found, limit)
    html = rules.html_escaped_labels
    body = b"[" + b",".join(labels_json(l, html) for l in found) + b"]"
    return success(data_json=body, warnings=warnings)


def _chunk_bytes():
    """Where the emulated head cuts a chunk by size (the remote read table says it)."""
    from mockprom.ingest.remote_read import RULES

    return RULES[get_state().settings.emulation].max_chunk_bytes


@bp.route("/api/v1/series", methods=("DELETE",))
def drop_series():
    """Prometheus 2.42 routes DELETE /series to a stub."""
    raise ApiError("internal", "not implemented")


@bp.route("/api/v1/labels", methods=BOTH)
def labels():
    limit = limit_param()
    mint, maxt = _range()
    sets = matcher_sets(form_values("match[]"))
    store = get_state().store
    names = store.label_names(sets, mint, maxt) if mint <= maxt else []
    names, warnings = truncate(names, limit)
    return success(names, warnings=warnings)


def _raw_path() -> bytes:
    """The request path as bytes, percent-decoded but not UTF-8-decoded: from the raw
    request line when the server passes it on (werkzeug replaces bytes that are not UTF-8
    in ``PATH_INFO``), else from ``PATH_INFO`` (bytes as latin-1, as WSGI carries them)."""
    from urllib.parse import unquote_to_bytes, urlsplit

    env = request.environ
    raw = env.get("RAW_URI") or env.get("REQUEST_URI")
    if raw:
        return unquote_to_bytes(urlsplit(raw).path)
    return env.get("PATH_INFO", "").encode("latin-1", "replace")


def _label_name() -> str:
    """The ``<name>`` of ``/api/v1/label/<name>/values``, checked: a legacy name (2.42),
    or any non-empty UTF-8 name, ``U__``-prefixed ones decoded with the values escaping
    (3.5). Read from the raw path, so that bytes that are not UTF-8 are reported as
    Prometheus reports them (``invalid label name: "\\xff"``)."""
    from mockprom.nameescaping import unescape_values

    raw = _raw_path()
    raw = raw[raw.find(b"/label/") + len(b"/label/"):-len(b"/values")]
    try:
        name = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise bad_data(f"invalid label name: {go_quote_bytes(raw)}") from None
    if not dialect().utf8_label_names:
        check_label_name(name)
        return name
    name = unescape_values(name)
    if not name:
        raise bad_data(f"invalid label name: {go_quote_bytes(name.encode())}")
    return name


@bp.route("/api/v1/label/<name>/values", methods=("GET",))
def label_values(name: str):
    name = _label_name()
    limit = limit_param()
    mint, maxt = _range()
    sets = matcher_sets(form_values("match[]"))
    store = get_state().store
    vals = store.label_values(name, sets, mint, maxt) if mint <= maxt else []
    vals, warnings = truncate(vals, limit)
    return success(vals, warnings=warnings)


def _per_metric_limit() -> int:
    """``limit_per_metric``: checked in 3.5 (``limit_per_metric must be a number``), read
    leniently by 2.42 (anything but an integer is no limit)."""
    val = form_value("limit_per_metric")
    if val == "":
        return -1
    try:
        return go_atoi(val)
    except ValueError:
        if dialect().metadata_limit_per_metric_checked:
            raise bad_data("limit_per_metric must be a number") from None
        return -1


@bp.route("/api/v1/metadata", methods=("GET",))
def metadata():
    limit = int_param("limit")
    limit = -1 if limit is None else limit
    per = _per_metric_limit()
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
    if not dialect().targets_by_pool:
        return success({
            "activeTargets": active_targets() if show_active else [],
            "droppedTargets": dropped_targets() if show_dropped else [],
        })
    active = [dict(t, discoveredLabels=LabelSet(t["discoveredLabels"]),
                   labels=LabelSet(t["labels"])) for t in active_targets()]
    dropped = [{"discoveredLabels": LabelSet(t["discoveredLabels"]),
                "scrapePool": t["discoveredLabels"].get("job", "")} for t in dropped_targets()]
    counts = {pool: 0 for pool in sorted({t["scrapePool"] for t in active + dropped})}
    for t in dropped:
        counts[t["scrapePool"]] += 1
    pool = request.args.get("scrapePool", "")
    if pool:
        active = [t for t in active if t["scrapePool"] == pool]
        dropped = [t for t in dropped if t["scrapePool"] == pool]
    return success({"activeTargets": active if show_active else [],
                    "droppedTargets": dropped if show_dropped else [],
                    "droppedTargetCounts": counts if show_dropped else None})


@bp.route("/api/v1/scrape_pools", methods=("GET",))
def scrape_pools():
    """The scrape pools (jobs) of the scenario's targets, active or dropped, sorted."""
    pools = {t["scrapePool"] for t in active_targets()}
    pools.update(t["discoveredLabels"].get("job", "") for t in dropped_targets())
    return success({"scrapePools": sorted(p for p in pools if p)})


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
    html = dialect().html_escaped_labels
    for t in active_targets():
        if limit >= 0 and len(res) >= limit:
            break
        tl = tuple(sorted(t["labels"].items()))
        if matchers is not None and not series_matches(tl, matchers):
            continue
        names = _target_metrics(gen, t["labels"])
        target = t["labels"] if html else LabelSet(t["labels"])
        if metric:
            if metric in names and metric in table:
                m = _meta_entry(table[metric][0])
                res.append({"target": target, **m})
            continue
        for name in sorted(names):
            if name in table:
                m = _meta_entry(table[name][0])
                res.append({"target": target, "metric": name, **m})
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
