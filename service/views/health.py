"""Liveness and readiness."""

from __future__ import annotations

from flask import Blueprint, Response

from service.views.common import json_response, kb

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> Response:
    return json_response({"status": "ok"})


@bp.get("/readyz")
def readyz() -> Response:
    knowledge = kb()
    checks = {}
    try:
        checks["store"] = {"ok": True, "articles": knowledge.store.count("articles")}
    except Exception as exc:  # a broken store is what this endpoint exists to report
        checks["store"] = {"ok": False, "error": str(exc)}
    try:
        checks["index"] = {"ok": True, "documents": knowledge.index.document_count()}
    except Exception as exc:
        checks["index"] = {"ok": False, "error": str(exc)}
    ready = all(c["ok"] for c in checks.values())
    return json_response(
        {"status": "ready" if ready else "not ready", "checks": checks},
        status=200 if ready else 503,
    )
