"""Liveness and readiness."""

from __future__ import annotations

from flask import Blueprint, Response

from service.readiness import readiness
from service.views.common import json_response, kb

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> Response:
    return json_response({"status": "ok"})


@bp.get("/readyz")
def readyz() -> Response:
    ready, report = readiness(kb())
    return json_response(report, status=200 if ready else 503)
