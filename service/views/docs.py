"""The API contract: `openapi.yaml` as written, and `/docs`, a page rendered from it."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import yaml
from flask import Blueprint, Response, render_template

from service.config import PROJECT_ROOT
from service.views.common import json_response

bp = Blueprint("docs", __name__)
SPEC_PATH = PROJECT_ROOT / "openapi.yaml"
METHODS = ("get", "post", "put", "delete", "patch")


@lru_cache(maxsize=1)
def _spec_text() -> str:
    return SPEC_PATH.read_text(encoding="utf-8")


def load_spec() -> dict[str, Any]:
    return yaml.safe_load(_spec_text())


@bp.get("/openapi.yaml")
def openapi_yaml() -> Response:
    return Response(_spec_text(), mimetype="application/yaml")


@bp.get("/openapi.json")
def openapi_json() -> Response:
    return json_response(load_spec())


@bp.get("/docs")
def docs() -> str:
    spec = load_spec()
    operations = []
    for path, item in spec.get("paths", {}).items():
        for method in METHODS:
            if method in item:
                operations.append((path, method.upper(), item[method]))
    return render_template("docs.html", spec=spec, operations=operations)
