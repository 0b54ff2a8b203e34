"""Rules and alerts: ``/api/v1/rules`` and ``/api/v1/alerts``.

``rule_groups(state, now_ms)`` is the seam where rule evaluation plugs in: it returns the
scenario's rule groups in the API's shape. For now every rule is healthy, alerting rules
are "inactive" with no alerts; a rule evaluator replaces this function's body later.
"""

from __future__ import annotations

from flask import Blueprint, request

from mockprom.api.context import get_state
from mockprom.api.envelope import invalid_param, success
from mockprom.api.format import rfc3339_nano

bp = Blueprint("rules", __name__)

DEFAULT_GROUP_INTERVAL_MS = 60_000  # Prometheus's default evaluation_interval


def _query_text(expr: str) -> str:
    """A rule's query as Prometheus prints it (``rule.Query().String()``)."""
    try:
        from mockprom.promql.parse import format_expr

        text = format_expr(expr)
        return text if "\n" not in text else expr
    except Exception:  # the scenario loader validates; never fail the endpoint
        return expr


def rule_groups(state, now_ms: int) -> list[dict]:
    """The scenario's rule groups as ``/api/v1/rules`` lists them, at scenario time
    ``now_ms``."""
    scenario = state.current.scenario
    groups = []
    for grp in getattr(scenario, "rules", None) or []:
        interval_ms = int(grp.interval or DEFAULT_GROUP_INTERVAL_MS)
        last_eval = now_ms - now_ms % interval_ms
        rules = []
        for r in grp.rules:
            if r.kind == "alerting":
                rules.append({
                    "state": "inactive",
                    "name": r.alert,
                    "query": _query_text(r.expr),
                    "duration": (r.for_ or 0) / 1000,
                    "keepFiringFor": (r.keep_firing_for or 0) / 1000,
                    "labels": dict(sorted(r.labels.items())),
                    "annotations": dict(sorted(r.annotations.items())),
                    "alerts": [],
                    "health": "ok",
                    "evaluationTime": 0.0,
                    "lastEvaluation": rfc3339_nano(last_eval),
                    "type": "alerting",
                })
            else:
                rule = {"name": r.record, "query": _query_text(r.expr)}
                if r.labels:
                    rule["labels"] = dict(sorted(r.labels.items()))
                rule.update({"health": "ok", "evaluationTime": 0.0,
                             "lastEvaluation": rfc3339_nano(last_eval), "type": "recording"})
                rules.append(rule)
        groups.append({
            "name": grp.name,
            "file": grp.file,
            "rules": rules,
            "interval": interval_ms / 1000,
            "limit": int(getattr(grp, "limit", 0) or 0),
            "evaluationTime": 0.0,
            "lastEvaluation": rfc3339_nano(last_eval),
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
