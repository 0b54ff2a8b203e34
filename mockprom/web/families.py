"""``GET /-/mockprom/families``: the scenario's series families, each with a preview.

One family per entry of the scenario's ``series:`` list (a generator, a notation series
or explicit samples): its metric name, type, help, how it is made (the generator's
settings, or notation/explicit), the values each label takes, how many series it
expands to, and a preview of what those series hold over the last ``range`` (default
6h, ending at the mock's now rounded down to the step, so that an answer can be reused)
as ``points`` evenly spaced values per series, exactly as ``query_range`` answers the
series' selector, to 6 significant digits (null where there is no value, for NaN and
infinities). Histograms and summaries preview their ``_count`` series, native histograms
their count. At most ``MAX_PREVIEW_SERIES`` series per family are previewed.

Parameters: ``range`` (a duration, at most 7d), ``points`` (10 to 500). Errors answer in
Prometheus's dialect (400 ``bad_data``).
"""

from __future__ import annotations

import math

import orjson
from flask import request

from mockprom.api.context import get_state
from mockprom.api.envelope import invalid_param, success
from mockprom.scenario.durations import format_duration_ms, parse_duration_ms
from mockprom.scenario.generators import GenContext, expand_family
from mockprom.promql.errors import PromQLError
from mockprom.promql.nodes import VectorSelector
from mockprom.scenario.labels import Matcher, make_labels
from mockprom.scenario.model import ExplicitSeries, GeneratedSeries, NotationSeries

PATH = "/-/mockprom/families"
DEFAULT_RANGE_MS = 6 * 3600 * 1000
MAX_RANGE_MS = 7 * 86400 * 1000
DEFAULT_POINTS = 120
MIN_POINTS, MAX_POINTS = 10, 500
MAX_PREVIEW_SERIES = 8
PREVIEW_DIGITS = 6  # significant digits of a preview value (a plot needs no more)
PREVIEW_SUFFIX = "_count"  # what a histogram or summary family previews
CACHE_KEY = "web.families"  # the last answer, in the generation's cache


def families():
    range_ms = _range_param()
    points = _points_param()
    state = get_state()
    gen = state.current
    step = max(1, range_ms // (points - 1))
    end = state.clock.now_ms() // step * step  # on the step grid: the answer can be reused
    start = end - step * (points - 1)
    key = (start, end, step, gen.store.data_version())
    cached = gen.cache.get(CACHE_KEY)
    if cached is None or cached[0] != key:
        cached = gen.cache[CACHE_KEY] = (key, _answer(gen, start, end, step, points))
    return success(data_json=cached[1])


def _answer(gen, start: int, end: int, step: int, points: int) -> bytes:
    scenario = gen.scenario
    out = []
    for index, spec in enumerate(scenario.series):
        family = _describe(spec, scenario, gen.metadata)
        label_sets = family.pop("_series")
        family["index"] = index
        family["series"] = len(label_sets)
        family["labels"] = _label_values(label_sets)
        shown = _preview_sets(label_sets, family.get("type"))[:MAX_PREVIEW_SERIES]
        try:
            family["preview"] = _preview(gen.engine, shown, start, end, step)
        except PromQLError as exc:  # e.g. a query timeout on a huge scenario
            family["preview"] = []
            family["preview_error"] = str(exc)
        out.append(family)
    data = {"name": scenario.name, "start": int(start), "end": int(end), "step": int(step),
            "points": points, "families": out, "total_series": len(gen.store)}
    return orjson.dumps(data)  # plain floats and None: no Go formatting


def _range_param() -> int:
    raw = request.args.get("range")
    if raw is None or raw == "":
        return DEFAULT_RANGE_MS
    try:
        value = parse_duration_ms(raw)
    except (ValueError, TypeError, OverflowError) as exc:
        raise invalid_param("range", str(exc)) from None
    if not 0 < value <= MAX_RANGE_MS:
        raise invalid_param("range", "must be positive and at most "
                                     + format_duration_ms(MAX_RANGE_MS))
    return value


def _points_param() -> int:
    raw = request.args.get("points")
    if raw is None or raw == "":
        return DEFAULT_POINTS
    try:
        value = int(raw)
    except ValueError:
        raise invalid_param("points", f"cannot parse {raw!r} to an integer") from None
    if not MIN_POINTS <= value <= MAX_POINTS:
        raise invalid_param("points", f"must be between {MIN_POINTS} and {MAX_POINTS}")
    return value


def _describe(spec, scenario, metadata: dict) -> dict:
    """What the family is and the label sets of its series (``_series``)."""
    if isinstance(spec, GeneratedSeries):
        interval = spec.interval or scenario.interval
        sets = []
        for label_set in spec.label_sets(scenario.seed):
            base = dict(label_set, __name__=spec.metric)
            ctx = GenContext(scenario.seed, "", interval)
            sets.extend(labels for labels, _ in expand_family(spec.generator, base, ctx))
        return {"metric": spec.metric, "kind": "generator",
                "type": "unknown" if spec.type == "untyped" else spec.type,
                "help": spec.help, "unit": spec.unit,
                "generator": spec.generator.model_dump(mode="json", exclude_none=True,
                                                       exclude_defaults=True),
                "interval": format_duration_ms(interval), "_series": sets}
    if isinstance(spec, NotationSeries):
        kind, labels, extra = "notation", dict(spec.labels), {"values": spec.values}
    elif isinstance(spec, ExplicitSeries):
        kind, labels, extra = "samples", dict(spec.labels), {"samples": len(spec.samples)}
    else:  # pragma: no cover - the model has no other kind
        return {"metric": "", "kind": type(spec).__name__, "_series": []}
    metric = labels.get("__name__", "")
    meta = _metadata_of(metric, metadata)
    return {"metric": metric, "kind": kind, "type": meta.get("type", "unknown"),
            "help": meta.get("help", ""), "unit": meta.get("unit", ""), **extra,
            "_series": [labels]}


def _metadata_of(metric: str, metadata: dict) -> dict:
    for name in (metric, *(metric[: -len(s)] for s in ("_bucket", "_sum", "_count")
                           if metric.endswith(s))):
        entries = metadata.get(name)
        if entries:
            return entries[0]
    return {}


def _label_values(label_sets: list[dict]) -> dict[str, list[str]]:
    """Each label name (but ``__name__``) with its distinct values, in order of appearance."""
    values: dict[str, dict[str, None]] = {}
    for labels in label_sets:
        for name, value in labels.items():
            if name != "__name__":
                values.setdefault(name, {})[value] = None
    return {name: list(vals) for name, vals in sorted(values.items())}


def _preview_sets(label_sets: list[dict], typ) -> list[dict]:
    if typ in ("histogram", "summary"):
        counts = [l for l in label_sets if l.get("__name__", "").endswith(PREVIEW_SUFFIX)]
        if counts:
            return counts
    return label_sets


def _preview(engine, label_sets: list[dict], start: int, end: int, step: int) -> list[dict]:
    """Each series' values on the grid, as ``query_range`` answers its selector (the
    engine evaluates the selector node directly: no PromQL text to parse)."""
    count = (end - start) // step + 1
    out = []
    for labels in label_sets:
        node = VectorSelector(labels.get("__name__"), tuple(
            Matcher.of(name, "=", value) for name, value in sorted(labels.items())))
        values: list = [None] * count
        want = make_labels(labels)
        for series in engine.range_query(node, start, end, step).value.series:
            if series.labels != want:
                continue
            counts = [(t, getattr(h, "count", None)) for t, h in getattr(series, "histograms", ())]
            for t, v in [*series.points, *counts]:  # a native histogram shows its count
                if isinstance(v, float) and math.isfinite(v):
                    values[(t - start) // step] = float(f"{v:.{PREVIEW_DIGITS}g}")
        out.append({"labels": labels, "values": values})
    return out
