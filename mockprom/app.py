"""``create_app``: the Flask application serving one scenario.

The app holds one ``ServerState`` (scenario, store, clock, engine) in
``app.extensions["mockprom.state"]``, registers the API blueprints, checks
authentication, answers errors in Prometheus's dialect (404/405 as plain text, like
Prometheus's router), and is wrapped in the fault layer (``app.wsgi_app``).
"""

from __future__ import annotations

import logging
import time

from flask import Flask, Response, g, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound

from mockprom.api import (admin, control, health, metadata, notifications, query, rules,
                          status)
from mockprom.api.auth import check_request
from mockprom.api.guard import ControlGuard, HostPolicy
from mockprom.api.context import STATE_KEY
from mockprom.api.dialect import API
from mockprom.api.envelope import ApiError, error_response, no_content
from mockprom.api.state import ServerState
from mockprom.clock import Clock
from mockprom import web
from mockprom.scenario.library import ScenarioLibrary

log = logging.getLogger("mockprom")

OWN_BLUEPRINTS = {bp.name: bp for bp in (health.bp, query.bp, metadata.bp, status.bp, rules.bp,
                                         admin.bp, control.bp, web.bp,
                                         notifications.bp)}

# Endpoints only some versions have: path -> the ApiDialect field saying whether the
# emulated version serves it (404 otherwise, as that version's router answers).
VERSIONED_PATHS = {path: "notifications" for path in notifications.PATHS}
VERSIONED_PATHS["/api/v1/parse_query"] = "parse_query"

TEXT = "text/plain; charset=utf-8"
CORS_HEADERS = {
    "Access-Control-Allow-Headers": "Accept, Authorization, Content-Type, Origin",
    "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
    "Access-Control-Expose-Headers": "Date",
    "Vary": "Origin",
}


class _StaticAdapter:
    """A request's URL adapter that matches a path with a single static rule (the API's
    endpoints) by a dict lookup, as werkzeug would match it, and hands everything else
    (other paths, a method the rule lacks, URL building) to werkzeug's own adapter, built
    only then."""

    __slots__ = ("_app", "_request", "_real")

    def __init__(self, app: "MockpromFlask", request):
        self._app, self._request, self._real = app, request, None

    def match(self, path_info=None, method=None, return_rule=False, query_args=None,
              websocket=None):
        if return_rule and path_info is None and method is None and query_args is None \
                and websocket is None:
            environ = self._request.environ
            rule = self._app.static_rules().get(environ.get("PATH_INFO") or "/")
            if rule is not None and environ.get("REQUEST_METHOD", "GET").upper() in rule.methods:
                return rule, dict(rule.defaults) if rule.defaults else {}
        return self._adapter().match(path_info, method, return_rule, query_args, websocket)

    def _adapter(self):
        if self._real is None:
            self._real = Flask.create_url_adapter(self._app, self._request)
        return self._real

    def __getattr__(self, name):
        return getattr(self._adapter(), name)


class MockpromFlask(Flask):
    """Flask with less work per request: static routes matched by a dict lookup, and
    plain (not ``async``) handlers recognised once instead of inspected per call."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._sync: set = set()
        self._static: tuple[int, dict] = (-1, {})

    def static_rules(self) -> dict:
        """Path -> rule, for the paths that have exactly one rule and no variable part."""
        count, table = self._static
        rules = list(self.url_map.iter_rules())
        if count != len(rules):
            by_path: dict = {}
            for rule in rules:
                by_path.setdefault(rule.rule, []).append(rule)
            table = {path: found[0] for path, found in by_path.items()
                     if len(found) == 1 and not found[0].arguments and not found[0].host
                     and not found[0].websocket and found[0].methods is not None
                     and not found[0].redirect_to}
            self._static = (len(rules), table)
        return table

    def create_url_adapter(self, request):
        if request is not None and self.config["TRUSTED_HOSTS"] is None \
                and self.config["SERVER_NAME"] is None and not self.url_map.host_matching:
            return _StaticAdapter(self, request)
        return super().create_url_adapter(request)

    def ensure_sync(self, func):
        if func in self._sync:
            return func
        out = super().ensure_sync(func)
        if out is func:
            self._sync.add(func)
        return out


def create_app(scenario=None, *, verbose: bool = False, clock: Clock | None = None,
               library: dict | None = None, version: str | None = None,
               control_token: str | None = None, bind_host: str | None = None,
               allowed_hosts=(), max_scenario_bytes: int | None = None) -> Flask:
    """A Flask app serving ``scenario`` (a path, YAML/JSON text, dict or ``Scenario``;
    None: the embedded default). ``library``: named scenarios the control API can switch
    to (``PUT /-/mockprom/scenario?name=...``) besides the packaged library, e.g. a
    scenario directory's.
    ``version``: the Prometheus version to emulate whatever the scenario says (None: the
    scenario's ``server.version``). ``control_token``: what the control API asks for
    (None: the scenario's ``server.control_token``); ``bind_host`` and ``allowed_hosts``:
    which ``Host`` names reach the control API (``mockprom.api.guard``).
    ``max_scenario_bytes``: the largest scenario ``PUT /-/mockprom/scenario`` takes
    (default ``limits.MAX_SCENARIO_BYTES``). Raises
    ``ScenarioError`` for a bad scenario and ``versions.VersionError`` for a version
    mockprom does not emulate."""
    from mockprom.api.write import make_write_blueprint
    from mockprom.compression import CompressionMiddleware
    from mockprom.faults.engine import FaultEngine
    from mockprom.faults.journal import RequestJournal
    from mockprom.faults.middleware import FaultMiddleware
    from mockprom.ingest.selfmetrics import record_answer, record_fault

    state = ServerState(scenario, clock=clock, version=version, control_token=control_token)
    state.library = ScenarioLibrary(library)
    if max_scenario_bytes:
        state.max_scenario_bytes = int(max_scenario_bytes)
    app = MockpromFlask("mockprom")
    app.extensions[STATE_KEY] = state
    app.config["MOCKPROM_VERBOSE"] = verbose

    for bp in OWN_BLUEPRINTS.values():
        app.register_blueprint(bp)
    app.register_blueprint(make_write_blueprint(lambda: state))
    _install_hooks(app, state, verbose)
    from mockprom.ingest.selfmetrics import self_metrics

    own = self_metrics(app)
    if own is not None:  # /metrics says what it emulates, as Prometheus's own does
        own.register(status.BuildInfoCollector(lambda: state.current))

    faults = FaultEngine(seed=state.scenario.seed, now_ms=state.clock.now_ms)
    faults.load(state.scenario.faults, state.scenario.timeline, seed=state.scenario.seed)
    state.on_load.append(faults.load_scenario)  # runs before the new clock is set
    journal = RequestJournal(maxlen=10_000)
    app.extensions["mockprom.faults"] = faults
    app.extensions["mockprom.journal"] = journal

    # the control API's checks (Host, Origin, content type, credentials) are the guard's
    app.wsgi_app = FaultMiddleware(app.wsgi_app, faults, journal,
                                   on_fault=lambda info: record_fault(app),
                                   on_answer=lambda environ, code: record_answer(app, environ, code))
    app.extensions["mockprom.fault_middleware"] = app.wsgi_app
    app.wsgi_app = CompressionMiddleware(app.wsgi_app, lambda: state.settings.emulation)
    app.wsgi_app = web.ConsoleFiles(app.wsgi_app, lambda: web.ROUTES[state.settings.emulation])
    app.wsgi_app = ControlGuard(app.wsgi_app, lambda: (state.scenario, state.control_token),
                                HostPolicy(bind_host, allowed_hosts))
    if verbose:
        _enable_logging()
    return app


def _enable_logging() -> None:
    if not log.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
        log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False


def _install_hooks(app: Flask, state: ServerState, verbose: bool) -> None:
    @app.before_request
    def _before():
        g.mockprom_started = time.monotonic()
        path = request.path
        versioned = VERSIONED_PATHS.get(path)
        if versioned and not getattr(API[state.settings.emulation], versioned):
            return _not_found(None)
        if request.method == "OPTIONS" and path.startswith("/api/v1/"):
            return no_content()
        if request.method in ("HEAD", "OPTIONS") and request.blueprint in OWN_BLUEPRINTS:
            allowed = _allowed_methods(app, path)
            if request.method == "HEAD" and "HEAD" not in allowed:
                return _method_not_allowed(allowed)  # Prometheus's router has no implicit HEAD
            if request.method == "OPTIONS":
                resp = Response(status=200)
                del resp.headers["Content-Type"]
                resp.headers["Allow"] = ", ".join(allowed)
                return resp
        err = check_request(path, request.headers.get("Authorization", ""),
                            state.scenario, state.control_token)
        if err is not None:
            return error_response(err)
        return None

    @app.after_request
    def _after(resp: Response):
        # the API's handlers set CORS (and 3.x's Vary); the router's 404/405 do not
        if request.path.startswith("/api/v1/") and (request.url_rule is not None
                                                    or request.method == "OPTIONS"):
            _cors(resp, API[state.settings.emulation])
        if verbose:
            _log_request(resp)
        return resp

    @app.errorhandler(ApiError)
    def _api_error(err: ApiError):
        return error_response(err)

    @app.errorhandler(NotFound)
    def _not_found(err):
        resp = Response("404 page not found\n", status=404, content_type=TEXT)
        resp.headers["X-Content-Type-Options"] = "nosniff"
        return resp

    @app.errorhandler(MethodNotAllowed)
    def _not_allowed(err: MethodNotAllowed):
        return _method_not_allowed(_allowed_methods(app, request.path))

    @app.errorhandler(HTTPException)
    def _http_error(err: HTTPException):
        return error_response(ApiError("bad_data" if (err.code or 500) < 500 else "internal",
                                       err.description or err.name, status=err.code))

    @app.errorhandler(Exception)
    def _internal(err: Exception):
        log.exception("internal error answering %s %s", request.method, request.path)
        return error_response(ApiError("internal", f"internal error: {type(err).__name__}: {err}"))


def _cors(resp: Response, dialect) -> None:
    """Prometheus's ``httputil.SetCORS`` for the API (any origin, ``--web.cors.origin``'s
    default ``.*``): 2.42 allows ``*``, 3.5 echoes the origin and varies on it always."""
    origin = request.headers.get("Origin")
    if origin:
        for k, v in CORS_HEADERS.items():
            resp.headers[k] = v
        resp.headers["Access-Control-Allow-Origin"] = origin if dialect.cors_echoes_origin else "*"
    elif dialect.vary_origin_always:
        resp.headers["Vary"] = "Origin"


# Prometheus registers HEAD only for these; its router adds OPTIONS everywhere.
HEAD_PATHS = ("/-/healthy", "/-/ready")


def _allowed_methods(app: Flask, path: str) -> list[str]:
    """The methods Prometheus's router would list in ``Allow`` for ``path``, sorted."""
    try:
        methods = set(app.url_map.bind("localhost").allowed_methods(path))
    except Exception:  # pragma: no cover - werkzeug internals
        methods = set()
    if path not in HEAD_PATHS:
        methods.discard("HEAD")
    methods.add("OPTIONS")
    return sorted(methods)


def _method_not_allowed(allowed: list[str]) -> Response:
    resp = Response("Method Not Allowed\n", status=405, content_type=TEXT)
    resp.headers["Allow"] = ", ".join(allowed)
    resp.headers["X-Content-Type-Options"] = "nosniff"
    return resp


def _log_request(resp: Response) -> None:
    started = g.get("mockprom_started")
    ms = (time.monotonic() - started) * 1000 if started else 0.0
    expr = g.get("mockprom_expr")
    if expr is None and request.path in ("/api/v1/query", "/api/v1/query_range"):
        expr = request.values.get("query")
    extra = f" query={expr!r}" if expr else ""
    log.info("%s %s%s -> %d in %.1f ms", request.method, request.path, extra,
             resp.status_code, ms)
