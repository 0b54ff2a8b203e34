"""Rules and alerts: ``/api/v1/rules`` and ``/api/v1/alerts``, shaped as Prometheus 2.42
and 3.5 answer them (checked against real servers), from the scenario's rules evaluated
on their schedule up to the clock's now (``mockprom.promql.rules``).

3.5 adds filters (``rule_name[]``, ``rule_group[]``, ``file[]``: exact names, an empty
value matching nothing; ``match[]``: selectors on each rule's configured labels, any set
matching), ``exclude_alerts`` (``"alerts": null``), groups left without rules dropped, and
pagination: ``group_limit`` groups per answer and ``groupNextToken``, the SHA-1 of the next
group's ``file;name``, to pass back as ``group_next_token``."""

from __future__ import annotations

import hashlib

from flask import Blueprint, request

from mockprom.api.context import get_state
from mockprom.api.dialect import dialect
from mockprom.api.envelope import invalid_param, success
from mockprom.api.format import LabelSet, alert_value, rfc3339_nano

bp = Blueprint("rules", __name__)

DEFAULT_GROUP_INTERVAL_MS = 60_000  # Prometheus's default evaluation_interval


def _query_text(expr: str) -> str:
    """A rule's query as Prometheus prints it (``rule.Query().String()``)."""
    try:
        from mockprom.promql.parse import expr_string

        return expr_string(expr, get_state().settings.emulation)
    except Exception:  # the scenario loader validates; never fail the endpoint
        return expr


def _label_set(d: dict) -> dict:
    """Labels or annotations, sorted, as the emulated version escapes label sets."""
    out = dict(sorted(d.items()))
    return out if dialect().html_escaped_labels else LabelSet(out)


def _alert_json(alert) -> dict:
    out = {"labels": _label_set(alert.labels),
           "annotations": _label_set(alert.annotations),
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
            "labels": _label_set(st.labels),
            "annotations": _label_set(st.annotations),
            "alerts": [_alert_json(a) for a in st.alerts],
            "health": st.health,
        }
    else:
        rule = {"name": st.name, "query": _query_text(st.query)}
        if st.labels:
            rule["labels"] = _label_set(st.labels)
        rule["health"] = st.health
    if st.last_error:
        rule["lastError"] = st.last_error
    rule.update({"evaluationTime": st.evaluation_time_s,
                 "lastEvaluation": rfc3339_nano(st.last_evaluation_ms),
                 "type": st.kind})
    return rule


def _group_json(grp, rules: list) -> dict:
    return {
        "name": grp.name,
        "file": grp.file,
        "rules": rules,
        "interval": grp.interval_ms / 1000,
        "limit": grp.limit,
        "evaluationTime": grp.evaluation_time_s,
        "lastEvaluation": rfc3339_nano(grp.last_evaluation_ms),
    }


def _group_states(state, now_ms: int) -> list:
    """The groups in the rule manager's order: by file, then by name."""
    rules = getattr(state.current, "rules", None)
    groups = [] if rules is None else rules.groups_at(now_ms)
    return sorted(groups, key=lambda g: (g.file, g.name))


def rule_groups(state, now_ms: int) -> list[dict]:
    """The scenario's rule groups as ``/api/v1/rules`` lists them, at scenario time
    ``now_ms``."""
    return [_group_json(grp, [_rule_json(st) for st in grp.rules])
            for grp in _group_states(state, now_ms)]


def next_token(grp) -> str:
    """``getRuleGroupNextToken``: the SHA-1 (hex) of ``<file>;<name>``."""
    return hashlib.sha1(f"{grp.file};{grp.name}".encode()).hexdigest()


class _Filters:
    """The 3.5 parameters of ``/api/v1/rules``, checked in Prometheus's order."""

    def __init__(self):
        from mockprom.api.params import matcher_sets

        args = request.args
        self.matchers = matcher_sets(args.getlist("match[]"))  # bare bad_data errors
        self.type = _rule_type()
        self.exclude_alerts = _parse_bool("exclude_alerts", args.get("exclude_alerts", ""))
        self.group_limit = 0
        raw = args.get("group_limit", "")
        if raw:
            try:
                self.group_limit = _parse_int(raw)
            except ValueError as exc:
                raise invalid_param("group_limit", f"group_limit needs to be a valid number: "
                                                   f"{exc}") from None
            if self.group_limit <= 0:
                raise invalid_param("group_limit", "group_limit needs to be greater than 0")
        self.token = args.get("group_next_token", "")
        if self.token and not self.group_limit:
            raise invalid_param("group_next_token", "group_limit needs to be present in order "
                                                    "to paginate over the groups")
        self.names = set(args.getlist("rule_name[]")) if "rule_name[]" in args else None
        self.groups = set(args.getlist("rule_group[]")) if "rule_group[]" in args else None
        self.files = set(args.getlist("file[]")) if "file[]" in args else None

    def keeps_rule(self, st) -> bool:
        from mockprom.scenario.labels import series_matches

        if self.names is not None and st.name not in self.names:
            return False
        if self.type and st.kind != self.type:
            return False
        if self.matchers:
            labels = tuple(sorted(st.labels.items()))
            return any(series_matches(labels, ms) for ms in self.matchers)
        return True


def _parse_int(text: str) -> int:
    """Go's ``strconv.ParseInt(text, 10, 64)``; ValueError with its message."""
    from mockprom.api.params import go_atoi

    try:
        return go_atoi(text)
    except ValueError as exc:
        raise ValueError(str(exc).replace("strconv.Atoi", "strconv.ParseInt")) from None


def _parse_bool(name: str, text: str) -> bool:
    """Go's ``strconv.ParseBool`` of an optional parameter (absent: false)."""
    from mockprom.api.params import go_quote

    if text == "":
        return False
    if text in ("1", "t", "T", "TRUE", "true", "True"):
        return True
    if text in ("0", "f", "F", "FALSE", "false", "False"):
        return False
    raise invalid_param(name, f"error converting {name}: strconv.ParseBool: parsing "
                              f"{go_quote(text)}: invalid syntax")


def _rule_type() -> str:
    """``type``: ``alerting``, ``recording`` or empty (all)."""
    typ = request.args.get("type", "").lower()
    if typ not in ("", "alert", "record"):
        raise invalid_param("type", f'not supported value "{typ}"')
    return {"alert": "alerting", "record": "recording"}.get(typ, "")


def _filtered_groups(state, f: _Filters) -> dict:
    """``data`` of a 3.5 ``/api/v1/rules`` answer."""
    out: dict = {"groups": []}
    groups = out["groups"]
    found_token = False
    for grp in _group_states(state, state.clock.now_ms()):
        if f.group_limit and f.token and not found_token:
            if next_token(grp) != f.token:
                continue
            found_token = True
        if (f.groups is not None and grp.name not in f.groups) or \
                (f.files is not None and grp.file not in f.files):
            continue
        rules = []
        for st in grp.rules:
            if f.keeps_rule(st):
                rule = _rule_json(st)
                if f.exclude_alerts and rule.get("type") == "alerting":
                    rule["alerts"] = None
                rules.append(rule)
        if not rules:
            continue  # every rule of the group filtered out
        if f.group_limit and len(groups) == f.group_limit:
            out["groupNextToken"] = next_token(grp)
            break
        groups.append(_group_json(grp, rules))
    if f.group_limit and f.token and not found_token:
        raise invalid_param("group_next_token", f"invalid group_next_token '{f.token}'. "
                                                f"were rule groups changed?")
    return out


@bp.route("/api/v1/rules", methods=("GET",))
def rules():
    state = get_state()
    if dialect().rules_filters:
        return success(_filtered_groups(state, _Filters()))
    typ = _rule_type()
    groups = rule_groups(state, state.clock.now_ms())
    if typ:
        for grp in groups:
            grp["rules"] = [r for r in grp["rules"] if r.get("type") == typ]
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
