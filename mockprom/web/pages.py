"""Where the console lives, per emulated version, and the routes that stay in the app.

A real Prometheus redirects ``/`` to its home page (``/graph`` in 2.x, ``/query`` in
3.x, where ``/graph`` itself redirects to ``/query`` keeping the query string). Clients
probe ``/`` to check the connection (prometheus-api-client's
``check_prometheus_connection``), so ``/`` stays under the server's authentication like
any API path; the page shells it leads to are served by ``ConsoleFiles``.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from typing import Optional

from flask import Blueprint, Response, request

from mockprom import versions
from mockprom.api.context import get_state
from mockprom.api.envelope import success
from mockprom.web import families


@dataclass(frozen=True)
class UiRoutes:
    home: str  # where ``/`` redirects
    graph_redirect: Optional[str]  # where ``/graph`` redirects (None: it is a page)


ROUTES = versions.table("web UI routes", {
    "2.42": UiRoutes(home="/graph", graph_redirect=None),
    "3.5": UiRoutes(home="/query", graph_redirect="/query"),
})

bp = Blueprint("web", __name__)


def found_body(location: str) -> str:
    """The body of Go's ``http.Redirect`` 302 for a GET."""
    return f'<a href="{escape(location)}">Found</a>.\n\n'


def redirect(location: str) -> Response:
    """A 302 as Go's ``http.Redirect`` writes it."""
    return Response(found_body(location) if request.method == "GET" else "", status=302,
                    headers={"Location": location}, content_type="text/html; charset=utf-8")


@bp.route("/", methods=("GET", "HEAD"))
def root():
    return redirect(ROUTES[get_state().settings.emulation].home)


# The console's own control endpoint: under /-/mockprom/, so the control API's checks apply.
bp.add_url_rule(families.PATH, view_func=families.families, methods=("GET",))

CONTROL_API = {  # what GET /-/mockprom/ lists
    "scenario": "GET the scenario (?format=yaml); PUT a new one (YAML or JSON, or ?name=)",
    "scenarios": "GET the names PUT scenario?name= takes",
    "reset": "POST: rebuild from the scenario",
    "clock": 'GET the mock\'s now; PUT {"now": ...} or {"advance": "5m"}',
    "faults": "GET the fault rules; POST one (or a list); DELETE all",
    "faults/<id>": "DELETE one fault rule",
    "timeline": "GET where the timeline is",
    "requests": "GET the request journal (endpoint, expr, method, fault, since, limit); DELETE it",
    "families": "GET the scenario's series families with previews (range, points)",
}


@bp.route("/-/mockprom/", methods=("GET",), strict_slashes=False)
def control_index():
    """The control API's endpoints, and where the console is."""
    return success({"console": "/mockprom/scenario",
                    "endpoints": {f"/-/mockprom/{k}": v for k, v in CONTROL_API.items()}})


@bp.after_request
def _explain_refusal(resp: Response) -> Response:
    """A browser refused at ``/`` (bearer auth: it cannot send the token itself) gets a
    page pointing to the console, which asks for the credentials; the status and the
    challenge stay what a client would see."""
    accept = request.accept_mimetypes
    if (request.path == "/" and resp.status_code == 401 and request.method == "GET"
            and accept.best_match(["application/json", "text/html"]) == "text/html"):
        home = ROUTES[get_state().settings.emulation].home
        resp.set_data(
            "<!doctype html><title>mockprom: credentials needed</title>"
            "<p>This mock Prometheus asks for credentials. "
            f'<a href="{home}">Open the console</a>: it asks for them and sends them with '
            "each request.</p>\n")
        resp.content_type = "text/html; charset=utf-8"
    return resp

