"""What every view needs: the knowledge base, argument loading and JSON responses."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, json, request
from marshmallow import Schema

from service.errors import ApiError
from service.kb import KnowledgeBase

JSON_TYPES = ("application/json", "application/problem+json")


def kb() -> KnowledgeBase:
    return current_app.extensions["kb"]


def load_args(schema: Schema) -> dict[str, Any]:
    """Query parameters validated by a schema; a bad one is a 400 naming the parameter."""
    return schema.load(request.args.to_dict())


def json_response(data: Any, schema: Schema | None = None, status: int = 200) -> Response:
    body = schema.dump(data) if schema is not None else data
    return Response(json.dumps(body), status=status, mimetype="application/json")


def page_response(
    items: list[dict[str, Any]], next_cursor: str | None, schema: Schema, limit: int
) -> Response:
    links = {"self": request.full_path.rstrip("?")}
    if next_cursor is not None:
        args = request.args.to_dict()
        args["cursor"] = next_cursor
        args["limit"] = str(limit)
        query = "&".join(f"{k}={_quote(v)}" for k, v in args.items())
        links["next"] = f"{request.path}?{query}"
    body = {"items": schema.dump(items, many=True), "next_cursor": next_cursor, "links": links}
    return json_response(body)


def _quote(value: str) -> str:
    from urllib.parse import quote

    return quote(value, safe="")


def not_found(kind: str, record_id: str) -> ApiError:
    return ApiError(
        404,
        f"No {kind} has the id {record_id!r}. List them at /v1/{kind.replace(' ', '')}s "
        "or follow the links of an article.",
    )
