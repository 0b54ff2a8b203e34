"""Scrape targets in the shape of ``/api/v1/targets`` (Prometheus 2.42 field order)."""

from __future__ import annotations

from mockprom.api.context import get_state
from mockprom.api.format import rfc3339_nano  # noqa: F401  (re-exported)

_FIELDS = (
    ("discoveredLabels", ("discoveredLabels", "discovered_labels")),
    ("labels", ("labels",)),
    ("scrapePool", ("scrapePool", "scrape_pool")),
    ("scrapeUrl", ("scrapeUrl", "scrape_url")),
    ("globalUrl", ("globalUrl", "global_url")),
    ("lastError", ("lastError", "last_error")),
    ("lastScrape", ("lastScrape", "last_scrape")),
    ("lastScrapeDuration", ("lastScrapeDuration", "last_scrape_duration")),
    ("health", ("health",)),
    ("scrapeInterval", ("scrapeInterval", "scrape_interval")),
    ("scrapeTimeout", ("scrapeTimeout", "scrape_timeout")),
)


def _duration_text(v) -> str:
    from mockprom.scenario.durations import format_duration_ms

    if isinstance(v, str):
        return v
    return format_duration_ms(int(v))


def _as_dict(t) -> dict:
    if isinstance(t, dict):
        return t
    if hasattr(t, "model_dump"):
        return t.model_dump(by_alias=False)
    return dict(vars(t))


def api_target(raw, now_ms: int, interval_ms: int) -> dict:
    """One active target in the API's shape; missing fields get plausible, deterministic
    values (last scrape on the interval grid before now)."""
    d = _as_dict(raw)
    out = {}
    for key, names in _FIELDS:
        for n in names:
            if n in d and d[n] is not None:
                out[key] = d[n]
                break
    labels = dict(out.get("labels") or {})
    out["labels"] = labels
    job, instance = labels.get("job", ""), labels.get("instance", "")
    si = out.get("scrapeInterval")
    si_text = _duration_text(si) if si is not None else _duration_text(interval_ms)
    st = out.get("scrapeTimeout")
    st_text = _duration_text(st) if st is not None else "10s"
    discovered = dict(out.get("discoveredLabels") or {})
    if not discovered:
        discovered = {"__address__": instance, "__metrics_path__": "/metrics",
                      "__scheme__": "http", "__scrape_interval__": si_text,
                      "__scrape_timeout__": st_text, "job": job}
    url = out.get("scrapeUrl") or f"http://{instance}/metrics"
    last = out.get("lastScrape")
    if last is None:
        step = max(1, int(interval_ms))
        last_ms = now_ms - now_ms % step
    elif hasattr(last, "resolve"):
        last_ms = last.resolve(now_ms)
    elif isinstance(last, (int, float)):
        last_ms = int(last)
    else:
        last_ms = None
    return {
        "discoveredLabels": discovered,
        "labels": labels,
        "scrapePool": out.get("scrapePool") or job,
        "scrapeUrl": url,
        "globalUrl": out.get("globalUrl") or url,
        "lastError": out.get("lastError") or "",
        "lastScrape": rfc3339_nano(last_ms) if last_ms is not None else str(last),
        "lastScrapeDuration": float(out.get("lastScrapeDuration") or 0.0),
        "health": out.get("health") or "up",
        "scrapeInterval": si_text,
        "scrapeTimeout": st_text,
    }


def active_targets() -> list[dict]:
    from mockprom.scenario.build import scenario_targets

    state = get_state()
    gen = state.current
    now = state.clock.now_ms()
    interval = int(getattr(gen.scenario, "interval", 15_000) or 15_000)
    out = [api_target(t, now, interval) for t in scenario_targets(gen.scenario, gen.store, now)]
    out.sort(key=lambda t: (t["scrapePool"], t["scrapeUrl"]))
    return out


def dropped_targets() -> list[dict]:
    from mockprom.scenario.build import scenario_dropped_targets

    return [{"discoveredLabels": dict(_as_dict(t).get("discoveredLabels")
                                      or _as_dict(t).get("discovered_labels") or {})}
            for t in scenario_dropped_targets(get_state().scenario)]
