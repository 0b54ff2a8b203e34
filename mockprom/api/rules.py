"""Rules and alerts: ``/api/v1/rules`` and ``/api/v1/alerts``, shaped as Prometheus 2.42
answers them (checked against a real server), from the scenario's rules evaluated on
their schedule up to the clock's now (``mockprom.promql.rules``)."""

from __future__ import annotations

from flask import Blueprint, request

from mockprom.api.context import get_state
from mockprom.api.envelope import invalid_param, success
from mockprom.api.format import alert_value, rfc3339_nano

bp = Blueprint("rules", __name__)

DEFAULT_GROUP_INTERVAL_MS = 60_000  # Prometheus's default evaluation_interval


def _query_text(expr: str) -> str:
    """A rule's query as Prometheus prints it (``rule.Query().String()``)."""
    try:
        from mockprom.promql.parse import expr_string

        return expr_string(expr, get_state().settings.emulation)
    except Exception:  # the scenario loader validates; never fail the endpoint
        return expr


def _alert_json(alert) -> dict:
    out = {"labels": dict(sorted(alert.labels.items())),
           "annotations": dict(sorted(alert.annotations.items())),
           "state": alert.state,
           "activeAt": rfc3339_nano(alert.active_at_ms)}
    if alert.keep_firing_since_ms is not None:
        out["keepFiringSince"] = rfc3339_nano(alert.keep_firing_since_ms)
    out["value"] = alert_value(alert.value)
    return out


def _rule_json(st) -> dict:
    if st.kind == "alerting":
        rule = {
            "state": st.state,
            "name": st.name,
            "query": _query_text(st.query),
            "duration": st.duration_s,
            "keepFiringFor": st.keep_firing_for_s,
            "labels": dict(sorted(st.labels.items())),
            "annotations": dict(sorted(st.annotations.items())),
            "alerts": [_alert_json(a) for a in st.alerts],
            "health": st.health,
        }
    else:
        rule = {"name": st.name, "query": _query_text(st.query)}
        if st.labels:
            rule["labels"] = dict(sorted(st.labels.items()))
        rule["health"] = st.health
    if st.last_error:
        rule["lastError"] = st.last_error
    rule.update({"evaluationTime": st.evaluation_time_s,
                 "lastEvaluation": rfc3339_nano(st.last_evaluation_ms),
                 "type": st.kind})
    return rule


def rule_groups(state, now_ms: int) -> list[dict]:
    """The scenario's rule groups as ``/api/v1/rules`` lists them, at scenario time
    ``now_ms``."""
    rules = getattr(state.current, "rules", None)
    if rules is None:
        return []
    groups = []
    for grp in rules.groups_at(now_ms):
        groups.append({
            "name": grp.name,
            "file": grp.file,
            "rules": [_rule_json(st) for st in grp.rules],
            "interval": grp.interval_ms / 1000,
            "limit": grp.limit,
            "evaluationTime": grp.evaluation_time_s,
            "lastEvaluation": rfc3339_nano(grp.last_evaluation_ms),
        })
    return groups


@bp.route("/api/v1/rules", methods=("GET",))
def rules():
    typ = request.args.get("type", "").lower()
    if typ not in ("", "alert", "record"):
        raise invalid_param("type", f'not supported value "{typ}"')
    state = get_state()
    groups = rule_groups(state, state.clock.now_ms())
    if typ:
        keep = "alerting" if typ == "alert" else "recording"
        for grp in groups:
            grp["rules"] = [r for r in grp["rules"] if r.get("type") == keep]
    return success({"groups": groups})


@bp.route("/api/v1/alerts", methods=("GET",))
def alerts():
    state = get_state()
    out = []
    for grp in rule_groups(state, state.clock.now_ms()):
        for r in grp["rules"]:
            if r.get("type") == "alerting":
                out.extend(r.get("alerts") or [])
    return success({"alerts": out})
