"""TSDB admin endpoints (``--web.enable-admin-api``): snapshot, delete_series,
clean_tombstones. Disabled unless the scenario sets ``server.admin_api: true``; then
they answer exactly as Prometheus 2.42 does when disabled: 500, ``unavailable``,
"admin APIs disabled"."""

from __future__ import annotations

import hashlib

from flask import Blueprint

from mockprom.api.context import get_state
from mockprom.api.envelope import ApiError, bad_data, invalid_param, no_content, success
from mockprom.api.params import (MAX_TIME, MIN_TIME, form_value, form_values, go_quote,
                                 parse_selector, time_param, time_to_store_ms)
from mockprom.promql.errors import ParseError

bp = Blueprint("admin", __name__)

METHODS = ("POST", "PUT")
_TRUE = ("1", "t", "T", "TRUE", "true", "True")
_FALSE = ("0", "f", "F", "FALSE", "false", "False")


def _require_enabled():
    if not get_state().settings.admin_api:
        raise ApiError("unavailable", "admin APIs disabled")


@bp.route("/api/v1/admin/tsdb/delete_series", methods=METHODS)
def delete_series():
    _require_enabled()
    matches = form_values("match[]")
    if not matches:
        raise bad_data("no match[] parameter provided")
    start = time_param("start", MIN_TIME)
    end = time_param("end", MAX_TIME)
    sets = []
    for s in matches:
        try:
            sets.append(parse_selector(s))
        except ParseError as exc:
            raise invalid_param("match[]", exc.message) from None
    store = get_state().store
    for ms in sets:
        store.delete(ms, time_to_store_ms(start), time_to_store_ms(end))
    return no_content()


@bp.route("/api/v1/admin/tsdb/clean_tombstones", methods=METHODS)
def clean_tombstones():
    _require_enabled()
    return no_content()


@bp.route("/api/v1/admin/tsdb/snapshot", methods=METHODS)
def snapshot():
    from mockprom.api.format import rfc3339_nano

    _require_enabled()
    skip = form_value("skip_head")
    if skip and skip not in _TRUE + _FALSE:
        raise invalid_param("skip_head", "unable to parse boolean: strconv.ParseBool: "
                                         f"parsing {go_quote(skip)}: invalid syntax")
    state = get_state()
    now = state.clock.now_ms()
    stamp = rfc3339_nano(now - now % 1000).replace("-", "").replace(":", "")
    digest = hashlib.sha256(f"{state.scenario.seed}:{now}".encode()).hexdigest()[:16]
    return success({"name": f"{stamp}-{digest}"})
