"""The API contract: `/openapi.yaml`, `/openapi.json`, and `/docs`, a page rendered from it.

The contract is built from the code (`service.openapi`) once per process, so what is served
always describes the code that serves it; `openapi.yaml` in the repository is the same text,
kept so by a test.
"""

from __future__ import annotations

import copy
from typing import Any

from flask import Blueprint, Response, render_template

from service.openapi import served_spec
from service.views.common import json_response

bp = Blueprint("docs", __name__)
METHODS = ("get", "post", "put", "delete", "patch")


def load_spec() -> dict[str, Any]:
    """The contract as data; a fresh copy, so a caller may change it."""
    return copy.deepcopy(served_spec()[0])


@bp.get("/openapi.yaml")
def openapi_yaml() -> Response:
    return Response(served_spec()[1], mimetype="application/yaml")


@bp.get("/openapi.json")
def openapi_json() -> Response:
    return json_response(served_spec()[0])


@bp.get("/docs")
def docs() -> str:
    spec = served_spec()[0]
    operations = []
    for path, item in spec.get("paths", {}).items():
        for method in METHODS:
            if method in item:
                operations.append((path, method.upper(), item[method]))
    return render_template("docs.html", spec=spec, operations=operations)
