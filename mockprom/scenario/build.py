"""Turn a validated ``Scenario`` into a ``Store`` of series, plus the metadata and targets
the API reports for it.

- notation series: sample i at ``start + i * interval`` (``_`` omitted, ``stale`` a
  staleness marker), ``start`` resolved against ``now_ms`` when relative;
- explicit samples: as given;
- generators: a ``GeneratedSource`` on the grid ``k * interval`` since the epoch, so the
  same scenario has the same timestamps whenever it is loaded; bounded by the series'
  own ``start``/``end`` when given.
"""

from __future__ import annotations

import time
from typing import Optional

import numpy as np

from mockprom.scenario.durations import format_duration_ms, format_timestamp_ms
from mockprom.scenario.generators import (NATIVE_KINDS, GenContext, expand_family, stable_hash,
                                          uniform_scalar)
from mockprom.scenario.labels import Matcher, format_labels, make_labels
from mockprom.scenario.model import ExplicitSeries, GeneratedSeries, NotationSeries, Scenario
from mockprom.scenario.samples import is_stale
from mockprom.scenario.store import GeneratedSource, StaticSource, Store


def scenario_now_ms(scenario: Scenario, real_now_ms: Optional[int] = None) -> int:
    """The scenario's "now": its fixed clock, or the real time."""
    fixed = scenario.fixed_clock_ms()
    if fixed is not None:
        return fixed
    return int(time.time() * 1000) if real_now_ms is None else int(real_now_ms)


def build_store(scenario: Scenario, now_ms: int, store: Optional[Store] = None) -> Store:
    """A store holding every series of ``scenario``; relative times resolve against
    ``now_ms`` (the moment the scenario was loaded, or its fixed clock)."""
    store = Store() if store is None else store
    start_ms = scenario.start.resolve(now_ms)
    for spec in scenario.series:
        if isinstance(spec, NotationSeries):
            _add_notation(store, spec, scenario, start_ms, now_ms)
        elif isinstance(spec, ExplicitSeries):
            if spec.samples:
                ts = [t for t, _ in spec.samples]
                vals = [v for _, v in spec.samples]
                store.add(make_labels(spec.labels), StaticSource(ts, vals))
        elif isinstance(spec, GeneratedSeries):
            _add_generated(store, spec, scenario, start_ms, now_ms)
    return store


def _add_notation(store: Store, spec: NotationSeries, scenario: Scenario, start_ms: int,
                  now_ms: int) -> None:
    interval = spec.interval or scenario.interval
    start = spec.start.resolve(now_ms) if spec.start is not None else start_ms
    ts, vals = [], []
    for i, v in enumerate(spec.expanded):
        if v is not None:
            ts.append(start + i * interval)
            vals.append(v)
    if ts:  # vals may hold native histograms (FloatHistogram)
        store.add(make_labels(spec.labels), StaticSource(np.array(ts, dtype=np.int64), vals))


def _add_generated(store: Store, spec: GeneratedSeries, scenario: Scenario, start_ms: int,
                   now_ms: int) -> None:
    interval = spec.interval or scenario.interval
    first = spec.start.resolve(now_ms) if spec.start is not None else None
    last = spec.end.resolve(now_ms) if spec.end is not None else None
    origin = first if first is not None else start_ms
    for label_set in spec.label_sets(scenario.seed):
        base = dict(label_set, __name__=spec.metric)
        ctx = GenContext(scenario.seed, format_labels(make_labels(base)), interval, origin, now_ms)
        native = spec.generator.kind in NATIVE_KINDS
        for labels, fn in expand_family(spec.generator, base, ctx):
            store.add(make_labels(labels), GeneratedSource(fn, interval, 0, first, last,
                                                           histogram=native))


def generated_series_labels(scenario: Scenario) -> list:
    """Label sets of every generated series (without evaluating any sample)."""
    out = []
    for spec in scenario.series:
        if isinstance(spec, GeneratedSeries):
            for label_set in spec.label_sets(scenario.seed):
                base = dict(label_set, __name__=spec.metric)
                ctx = GenContext(scenario.seed, "", spec.interval or scenario.interval)
                out.extend(make_labels(l) for l, _ in expand_family(spec.generator, base, ctx))
    return out


# -- metadata -------------------------------------------------------------------------------


def scenario_metadata(scenario: Scenario) -> dict[str, list[dict]]:
    """``/api/v1/metadata``: metric family name -> [{type, help, unit}], from ``metadata:``
    and the type/help/unit of generated series (histograms and summaries by base name).
    ``untyped`` is reported as ``unknown``, as Prometheus does."""
    out: dict[str, list[dict]] = {}
    for spec in scenario.series:
        if isinstance(spec, GeneratedSeries):
            typ = "unknown" if spec.type == "untyped" else spec.type
            entry = {"type": typ, "help": spec.help, "unit": spec.unit}
            if entry not in out.setdefault(spec.metric, []):
                out[spec.metric].append(entry)
    for name, meta in scenario.metadata.items():
        typ = "unknown" if meta.type == "untyped" else meta.type
        out[name] = [{"type": typ, "help": meta.help, "unit": meta.unit}]
    return dict(sorted(out.items()))


# -- targets --------------------------------------------------------------------------------

DEFAULT_SCRAPE_TIMEOUT_MS = 10_000


def scenario_targets(scenario: Scenario, store: Store, now_ms: Optional[int] = None) -> list[dict]:
    """Active targets as ``/api/v1/targets`` reports them (camelCase keys). Without
    ``targets:`` in the scenario: one target per distinct (job, instance) in the series,
    healthy unless its ``up`` series reads 0 at ``now``."""
    now_ms = scenario_now_ms(scenario) if now_ms is None else int(now_ms)
    down = _down_targets(store, now_ms, scenario.server.lookback_delta)
    if scenario.targets is not None:
        out = []
        for t in scenario.targets:
            health, error = t.health, t.last_error
            if health is None:
                is_down = (t.labels["job"], t.labels["instance"]) in down
                health = "down" if is_down else "up"
                if is_down and not error:
                    error = _refused(t.labels["instance"])
            out.append(_target_dict(
                scenario, now_ms, t.labels, scrape_pool=t.scrape_pool, scrape_url=t.scrape_url,
                health=health, last_error=error,
                last_scrape=t.last_scrape.resolve(now_ms) if t.last_scrape else None,
                duration=t.last_scrape_duration, interval=t.scrape_interval,
                timeout=t.scrape_timeout, discovered=t.discovered_labels))
        return out
    pairs = sorted({(dict(l).get("job"), dict(l).get("instance")) for l in store.all_labels()
                    if dict(l).get("job") and dict(l).get("instance")})
    out = []
    for job, instance in pairs:
        is_down = (job, instance) in down
        out.append(_target_dict(scenario, now_ms, {"job": job, "instance": instance},
                                health="down" if is_down else "up",
                                last_error=_refused(instance) if is_down else ""))
    return out


def _refused(instance: str) -> str:
    return f'Get "http://{instance}/metrics": dial tcp {instance}: connect: connection refused'



def scenario_dropped_targets(scenario: Scenario) -> list[dict]:
    return [{"discoveredLabels": dict(sorted(t.discovered_labels.items()))}
            for t in scenario.dropped_targets]


def _down_targets(store: Store, now_ms: int, lookback_ms: int) -> set:
    down = set()
    for s in store.select([Matcher.of("__name__", "=", "up")], now_ms - lookback_ms, now_ms):
        if len(s.vals) and not is_stale(float(s.vals[-1])) and s.vals[-1] == 0:
            d = dict(s.labels)
            down.add((d.get("job"), d.get("instance")))
    return down


def _target_dict(scenario: Scenario, now_ms: int, labels: dict, *, scrape_pool=None,
                 scrape_url=None, health="up", last_error="", last_scrape=None, duration=None,
                 interval=None, timeout=None, discovered=None) -> dict:
    job, instance = labels["job"], labels["instance"]
    interval = interval or scenario.interval
    timeout = timeout or min(DEFAULT_SCRAPE_TIMEOUT_MS, interval)
    key = stable_hash(scenario.seed, "target", job, instance)
    url = scrape_url or f"http://{instance}/metrics"
    if last_scrape is None:
        # The most recent scrape before now, at a per-target phase within the interval.
        phase = int(uniform_scalar(key, "scrape-phase") * interval)
        last_scrape = ((now_ms - phase) // interval) * interval + phase
    if duration is None:
        duration = round(0.002 + 0.05 * uniform_scalar(key, "scrape-duration",
                                                       last_scrape // max(interval, 1)), 6)
    if not discovered:
        discovered = {"__address__": instance, "__metrics_path__": "/metrics",
                      "__scheme__": "http", "__scrape_interval__": format_duration_ms(interval),
                      "__scrape_timeout__": format_duration_ms(timeout), "job": job}
    return {
        "discoveredLabels": dict(sorted(discovered.items())),
        "labels": dict(sorted(labels.items())),
        "scrapePool": scrape_pool or job,
        "scrapeUrl": url,
        "globalUrl": url,
        "lastError": last_error,
        "lastScrape": format_timestamp_ms(last_scrape),
        "lastScrapeDuration": duration,
        "health": health,
        "scrapeInterval": format_duration_ms(interval),
        "scrapeTimeout": format_duration_ms(timeout),
    }
