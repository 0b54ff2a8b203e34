"""``/-/healthy`` and ``/-/ready``: plain text, as Prometheus answers them."""

from __future__ import annotations

from flask import Blueprint, Response, request

bp = Blueprint("health", __name__)

TEXT = "text/plain; charset=utf-8"


@bp.route("/-/healthy", methods=("GET", "HEAD"))
def healthy():
    return _answer("Prometheus Server is Healthy.\n")


@bp.route("/-/ready", methods=("GET", "HEAD"))
def ready():
    return _answer("Prometheus Server is Ready.\n")


def _answer(text: str) -> Response:
    if request.method == "HEAD":  # Prometheus answers HEAD with no body and no type
        resp = Response(status=200)
        del resp.headers["Content-Type"]
        return resp
    return Response(text, content_type=TEXT)


@bp.route("/-/reload", methods=("GET", "POST", "PUT"))
@bp.route("/-/quit", methods=("GET", "POST", "PUT"))
def lifecycle():
    """Prometheus's lifecycle API, as a default Prometheus (without
    ``--web.enable-lifecycle``) answers it."""
    if request.method == "GET":
        return Response("Only POST or PUT requests allowed", status=405, content_type=TEXT)
    return Response("Lifecycle API is not enabled.", status=403, content_type=TEXT)
