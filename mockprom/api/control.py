"""The control API under ``/-/mockprom/``: replace the scenario, reset, move the clock.

- ``GET /-/mockprom/scenario``: the current scenario (JSON);
- ``PUT /-/mockprom/scenario``: replace it (YAML or JSON body), atomically; a bad one
  gets 400 with every validation problem and the old one stays; ``?name=x`` switches to
  a scenario of the served directory (``GET /-/mockprom/scenarios`` lists them);
- ``POST /-/mockprom/reset``: rebuild from the current scenario (ingested data, deletes,
  clock changes, faults added since and the request journal are dropped), as
  ``MockPrometheus.reset()`` does;
- ``GET|PUT /-/mockprom/clock``: ``{"now": <RFC3339|unix seconds>}`` freezes the clock
  there, ``{"advance": "5m"}`` moves it; answers the new now.

Answers use Prometheus's envelope. Protected by ``server.control_token`` when one is set
(see ``auth.py``).
"""

from __future__ import annotations

import orjson
from flask import Blueprint, Response, current_app, request

from mockprom import limits
from mockprom.api.context import get_state
from mockprom.api.envelope import ApiError, bad_data, json_response, success
from mockprom.api.format import dumps
from mockprom.scenario.loader import ScenarioText

bp = Blueprint("control", __name__)

PREFIX = "/-/mockprom"


def scenario_problems(exc) -> list[str]:
    problems = getattr(exc, "problems", None)
    if problems:
        return [str(p) for p in problems]
    return [str(exc) or type(exc).__name__]


def problems_response(exc) -> "Response":  # noqa: F821
    problems = scenario_problems(exc)
    n = len(problems)
    body = dumps({"status": "error", "errorType": "bad_data",
                  "error": f"invalid scenario ({n} problem{'s' if n != 1 else ''}): "
                           + "; ".join(problems),
                  "data": {"problems": problems}})
    return json_response(body, 400)


REDACTED = "<redacted>"


def scenario_json(scenario) -> dict:
    """The scenario as JSON, with secrets (auth token/password, control token) redacted."""
    if hasattr(scenario, "model_dump"):
        doc = scenario.model_dump(mode="json", by_alias=True, exclude_none=True)
    else:
        doc = dict(scenario)
    auth = doc.get("auth") or {}
    for key in ("token", "password"):
        if auth.get(key):
            auth[key] = REDACTED
    server = doc.get("server") or {}
    if server.get("control_token"):
        server["control_token"] = REDACTED
    return doc


@bp.route(PREFIX + "/scenario", methods=("GET",))
def get_scenario():
    """The scenario as JSON in the envelope; ``?format=yaml``: as a YAML document."""
    doc = scenario_json(get_state().scenario)
    fmt = request.args.get("format", "json")
    if fmt == "yaml":
        import yaml

        text = yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=100)
        return Response(text, content_type="application/yaml; charset=utf-8")
    if fmt != "json":
        raise bad_data(f'invalid parameter "format": expected json or yaml, got {fmt!r}')
    return success(doc)


@bp.route(PREFIX + "/scenarios", methods=("GET",))
def list_scenarios():
    """The names ``PUT /-/mockprom/scenario?name=...`` can switch to."""
    state = get_state()
    return success({"current": state.scenario.name, "available": sorted(state.library)})


@bp.route(PREFIX + "/scenario", methods=("PUT", "POST"))
def put_scenario():
    state = get_state()
    name = request.args.get("name")
    text = limited_body(state.max_scenario_bytes, "scenario",
                        "mockprom serve --max-scenario-size").decode("utf-8", "replace")
    if name is not None:
        if name not in state.library:
            known = ", ".join(sorted(state.library)) or "none"
            raise ApiError("not_found", f"no scenario named {name!r} (available: {known})")
        source = state.library[name]
    elif not text.strip():
        raise bad_data("empty scenario body: send the scenario as YAML or JSON, "
                       "or name one with ?name=")
    else:
        source = ScenarioText(text)  # the body is a scenario, never a path to read
    from mockprom.api.notifications import RELOAD_FAILED, hub

    try:
        gen = state.replace_scenario(source)
    except Exception as exc:  # ScenarioError, FaultRuleError, ...: the old one stays
        hub(state).add(RELOAD_FAILED)  # as Prometheus after a failed config reload
        return problems_response(exc)
    hub(state).remove(RELOAD_FAILED)
    return success({"name": gen.scenario.name, "series": len(gen.store),
                    "now": clock_answer(state)["now"]})


@bp.route(PREFIX + "/reset", methods=("POST",))
def reset():
    state = get_state()
    state.reset()
    journal = current_app.extensions.get("mockprom.journal")
    if journal is not None:
        journal.clear()
    return success(clock_answer(state))


def clock_answer(state) -> dict:
    from mockprom.api.format import rfc3339_nano

    now = state.clock.now_ms()
    return {"now": rfc3339_nano(now), "now_ms": now,
            "mode": "fixed" if state.clock.is_fixed else "real"}


@bp.route(PREFIX + "/clock", methods=("GET",))
def get_clock():
    return success(clock_answer(get_state()))


@bp.route(PREFIX + "/clock", methods=("PUT", "POST"))
def put_clock():
    body = _json_body()
    state = get_state()
    if not isinstance(body, dict) or not ({"now", "advance"} & set(body)):
        raise bad_data('expected a JSON object {"now": <RFC3339|unix seconds>} '
                       'or {"advance": "<duration>"}')
    unknown = set(body) - {"now", "advance"}
    if unknown:
        raise bad_data(f"unknown field(s): {', '.join(sorted(unknown))}")
    # every value is checked before the clock moves: a refused change changes nothing
    now = parse_now_ms(body["now"]) if "now" in body else None
    step = parse_advance_ms(body["advance"]) if "advance" in body else 0
    _check_clock_range((now if now is not None else state.clock.now_ms()) + step)
    if now is not None:
        state.clock.set(now)
    if step:
        state.clock.advance(step)
    return success(clock_answer(state))


# the times an RFC3339 answer can show: years 0001 to 9999
MIN_CLOCK_MS = -62_135_596_800_000
MAX_CLOCK_MS = 253_402_300_799_999


def _check_clock_range(t_ms: int) -> None:
    if not MIN_CLOCK_MS <= t_ms <= MAX_CLOCK_MS:
        raise bad_data(f"clock out of range: {t_ms / 1000:.6g} s since 1970; the clock "
                       "stays between 0001-01-01T00:00:00Z and 9999-12-31T23:59:59.999Z")


def limited_body(limit: int, what: str, raise_with: str = "") -> bytes:
    """The request body, refused with 413 when over ``limit`` bytes (read no further);
    ``raise_with``: the setting that raises the limit, named in the error."""
    hint = f" (raise it with {raise_with})" if raise_with else ""
    length = request.content_length
    if length is not None and length > limit:
        raise ApiError("bad_data", f"{what} body too large: {length} bytes; the limit is "
                                   f"{limit} bytes{hint}", status=413)
    raw = request.stream.read(limit + 1)
    if len(raw) > limit:
        raise ApiError("bad_data", f"{what} body too large: over {limit} bytes{hint}",
                       status=413)
    return raw


def _json_body():
    raw = limited_body(limits.MAX_CONTROL_BYTES, "request")
    if not raw.strip():
        return None
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise bad_data(f"invalid JSON body: {exc}") from None


def parse_now_ms(value) -> int:
    """A point in time: unix seconds (number or string) or RFC3339."""
    from mockprom.api.params import parse_time

    if isinstance(value, bool) or value is None:
        raise bad_data(f"invalid time {value!r}: expected RFC3339 or unix seconds")
    try:
        if isinstance(value, (int, float)):
            ms = round(float(value) * 1000)
        else:
            ms = parse_time(str(value)).ms()
    except (ValueError, OverflowError) as exc:
        raise bad_data(f"invalid time: {exc}") from None
    _check_clock_range(ms)
    return ms


def parse_advance_ms(value) -> int:
    """A duration: ``"5m"``, ``"-30s"``, or seconds as a number."""
    from mockprom.scenario.durations import parse_duration_ms

    try:
        return parse_duration_ms(value, allow_negative=True)
    except (ValueError, TypeError, OverflowError) as exc:
        raise bad_data(f"invalid duration: {exc}") from None
