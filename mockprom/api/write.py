"""Ingestion and scrape faces as one Flask blueprint: remote write, Pushgateway,
``/federate`` and mockprom's own ``/metrics``.

``make_write_blueprint(get_state)``: ``get_state()`` returns the server state (``.store``,
``.clock.now_ms()``, ``.scenario``). Errors are plain text, as Prometheus's write handler
and the Pushgateway answer them. Every request Flask answers is counted in
``mockprom_http_requests_total`` (by URL rule and status code), except those the fault
middleware answers or alters: it counts them itself, with the status they got.
"""

from __future__ import annotations

import time

from flask import Blueprint, Response, current_app, request
from werkzeug.exceptions import NotFound

from mockprom import limits
from mockprom.faults.middleware import ANSWERED_KEY
from mockprom.ingest import pushproto
from mockprom.ingest.errors import IngestError
from mockprom.ingest.pushgateway import parse_grouping_key
from mockprom.ingest.selfmetrics import EXTENSION_KEY, SelfMetrics, self_metrics
from mockprom.ingest.state import (emulation_of, ingest_for, scenario_lookback_ms,
                                   server_settings)

MAX_BODY_BYTES = limits.MAX_WRITE_BYTES
STARTED_KEY = "mockprom.started"
ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]


def _text(message: str, status: int) -> Response:
    """Go's ``http.Error``: the message and a newline, as plain text."""
    return Response(message + "\n", status=status, content_type="text/plain; charset=utf-8")


def _not_allowed() -> Response:
    return _text("Method Not Allowed", 405)


def _body() -> bytes:
    """The raw request body, within the size limit (413 beyond it)."""
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        raise IngestError(f"request body too large: {request.content_length} bytes; the "
                          f"limit is {MAX_BODY_BYTES} bytes", status=413)
    body = request.get_data(cache=False)
    if len(body) > MAX_BODY_BYTES:
        raise IngestError(f"request body too large; the limit is {MAX_BODY_BYTES} bytes", 413)
    return body


def _decoded(body: bytes, encoding: str) -> bytes:
    """A push body as the Pushgateway decodes it (``gzip`` and ``snappy`` streams; any
    other encoding is read as it is), never more than ``limits.MAX_DECODED_BYTES``."""
    try:
        if encoding == "gzip":
            return limits.gunzip(body)
        if encoding == "snappy":
            return limits.unsnappy_framed(body)
    except limits.TooLarge as err:
        raise IngestError(f"request body too large: {err}", 413) from None
    except limits.Corrupt as err:
        raise IngestError(str(err)) from None
    return body


def make_write_blueprint(get_state) -> Blueprint:
    bp = Blueprint("mockprom_write", __name__)

    @bp.record_once
    def _register(setup_state):
        setup_state.app.extensions[EXTENSION_KEY] = SelfMetrics(lambda: len(get_state().store))

    @bp.before_app_request
    def _started():
        request.environ[STARTED_KEY] = time.perf_counter()

    @bp.after_app_request
    def _count(response):
        m = self_metrics(current_app)
        if m is not None and not request.environ.get(ANSWERED_KEY):  # else the fault layer counts it
            rule = request.url_rule.rule if request.url_rule is not None else "other"
            started = request.environ.get(STARTED_KEY)
            m.record_request(rule, response.status_code,
                             None if started is None else time.perf_counter() - started)
        return response

    @bp.errorhandler(IngestError)
    def _ingest_error(err: IngestError):
        return _text(err.message, err.status)

    def _record(source: str, n: int) -> None:
        m = self_metrics(current_app)
        if m is not None:
            m.record_samples(source, n)

    # -- remote write ----------------------------------------------------------------
    @bp.route("/api/v1/write", methods=ALL_METHODS)
    @bp.route("/api/v1/prom/write", methods=ALL_METHODS)
    def remote_write_handler():
        if request.method != "POST":
            return _not_allowed()
        state = get_state()
        body = _body()
        from mockprom.ingest.receive import receive  # protobuf, loaded on first use

        answer = receive(state, request.headers.get("Content-Type", ""),
                         request.headers.get("Content-Encoding", ""), body)
        _record("remote_write", answer.samples)
        if answer.status >= 400:
            resp = _text(answer.text.rstrip("\n"), answer.status)
        else:
            resp = Response(status=answer.status)
        resp.headers.update(answer.headers)
        return resp

    # -- OTLP ----------------------------------------------------------------------------
    @bp.route("/api/v1/otlp/v1/metrics", methods=ALL_METHODS)
    def otlp_handler():
        from mockprom.ingest.acceptance import RULES
        from mockprom.ingest.receive import receive_otlp  # protobuf, loaded on first use

        state = get_state()
        if not RULES[emulation_of(state)].otlp:
            raise NotFound()  # 2.42 has no OTLP receiver
        if request.method != "POST":
            return _not_allowed()
        answer = receive_otlp(state, request.headers.get("Content-Type", ""),
                              request.headers.get("Content-Encoding", ""), _body())
        _record("otlp", answer.samples)
        if answer.status >= 400:
            return _text(answer.text.rstrip("\n"), answer.status)
        resp = Response(status=answer.status)
        del resp.headers["Content-Type"]  # Prometheus writes the status alone
        return resp

    # -- remote read -------------------------------------------------------------------
    @bp.route("/api/v1/read", methods=ALL_METHODS)
    def remote_read_handler():
        if request.method != "POST":
            return _not_allowed()
        state = get_state()
        from mockprom.ingest import remote_read  # protobuf, loaded on first use

        req = remote_read.decode_request(_body())
        kind = remote_read.response_type(req.accepted_response_types,
                                         server_settings(state).remote_read.streamed_chunks)
        external = remote_read.external_labels(getattr(state, "scenario", None))
        rules = remote_read.RULES[emulation_of(state)]
        if kind == remote_read.SAMPLES:
            try:
                body = remote_read.samples_response(state.store, req, external, rules)
            except IngestError as err:  # Prometheus had set the encoding header already
                resp = _text(err.message, err.status)
                resp.headers["Content-Encoding"] = "snappy"
                return resp
            return Response(body, status=200, headers={"Content-Encoding": "snappy"},
                            content_type=remote_read.SAMPLES_CONTENT_TYPE)
        frames = []
        try:
            for f in remote_read.streamed_frames(state.store, req, external, rules):
                frames.append(f)
        except IngestError as err:
            if not frames:
                raise
            frames.append((err.message + "\n").encode())  # Prometheus writes it into the stream
        return Response(b"".join(frames), status=200,
                        content_type=remote_read.STREAMED_CONTENT_TYPE)

    # -- Pushgateway -----------------------------------------------------------------
    def _push(job: str, rest: str):
        grouping = parse_grouping_key(job, rest)
        state = get_state()
        gw = ingest_for(state).pushgateway
        now = state.clock.now_ms()
        if request.method == "DELETE":
            gw.delete(grouping, now)
            return Response(status=202)
        if request.method not in ("PUT", "POST"):
            return _not_allowed()
        body = _decoded(_body(), request.headers.get("Content-Encoding", "").lower())
        if pushproto.is_delimited_protobuf(request.headers.get("Content-Type", "")):
            emulation = emulation_of(state)
            pushed = pushproto.parse_delimited(body, emulation.has("native-histograms"))
        else:
            try:
                pushed = body.decode("utf-8")
            except UnicodeDecodeError as err:
                raise IngestError(f"text format parsing error: body is not valid UTF-8 ({err})") from None
        n = gw.push(grouping, pushed, replace=request.method == "PUT", now_ms=now)
        _record("pushgateway", n)
        return Response(status=200)

    @bp.route("/metrics/job/<job>", methods=ALL_METHODS)
    @bp.route("/metrics/job/<job>/<path:rest>", methods=ALL_METHODS)
    def push_handler(job: str, rest: str = ""):
        return _push(job, rest)

    @bp.route("/metrics/job@base64/<job>", methods=ALL_METHODS)
    @bp.route("/metrics/job@base64/<job>/<path:rest>", methods=ALL_METHODS)
    def push_base64_handler(job: str, rest: str = ""):
        return _push(job + "@base64", rest)

    @bp.route("/api/v1/metrics", methods=["GET"])
    def pushed_metrics():
        groups = ingest_for(get_state()).pushgateway.groups_json()
        return {"status": "success", "data": groups}

    @bp.route("/api/v1/admin/wipe", methods=["PUT"])
    def wipe():
        state = get_state()
        ingest_for(state).pushgateway.wipe(state.clock.now_ms())
        return Response(status=202)

    # -- scrape faces ----------------------------------------------------------------
    @bp.route("/federate", methods=["GET", "POST"])
    def federate():
        from mockprom.ingest import exposition

        try:
            emulation = getattr(getattr(get_state(), "settings", None), "emulation", None)
            matcher_sets = [exposition.parse_selector(s, emulation)
                            for s in request.values.getlist("match[]")]
        except exposition.SelectorError as err:
            return _text(str(err), 400)
        state = get_state()
        body, content_type = exposition.federation_answer(
            state.store, matcher_sets, state.clock.now_ms(),
            scenario_lookback_ms(getattr(state, "scenario", None)),
            request.headers.get("Accept", ""), state.settings.emulation)
        return Response(body, status=200, content_type=content_type)

    @bp.route("/metrics", methods=["GET"])
    def own_metrics():
        m = self_metrics(current_app)
        body, content_type = m.answer(request.headers.get("Accept", ""),
                                      emulation_of(get_state()))
        return Response(body, status=200, content_type=content_type)

    return bp
