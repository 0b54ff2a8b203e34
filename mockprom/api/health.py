"""``/-/healthy`` and ``/-/ready``: plain text, as Prometheus answers them."""

from __future__ import annotations

from flask import Blueprint, Response

bp = Blueprint("health", __name__)

TEXT = "text/plain; charset=utf-8"


@bp.route("/-/healthy", methods=("GET", "HEAD"))
def healthy():
    return Response("Prometheus Server is Healthy.\n", content_type=TEXT)


@bp.route("/-/ready", methods=("GET", "HEAD"))
def ready():
    return Response("Prometheus Server is Ready.\n", content_type=TEXT)
