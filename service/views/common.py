"""What every view needs: the knowledge base, argument loading and JSON responses."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import Response, current_app, json, request
from marshmallow import Schema, ValidationError

from service.activity import ActivityLog
from service.decoding import CHARSET_NAMES, UnsupportedCharset
from service.errors import ApiError, field_errors
from service.kb import KnowledgeBase
from service.links import public_base
from service.privacy import client_hash
from service.render import MARKDOWN, PLAIN, RENDERERS, TEXT_MEDIA

# What an answer that succeeds is: problem+json is for errors only, so a client accepting
# nothing but problem+json gets a 406 (as a problem) rather than JSON it did not ask for.
JSON_TYPES = ("application/json",)


def kb() -> KnowledgeBase:
    return current_app.extensions["kb"]


def activity() -> ActivityLog | None:
    """Where answered matches are recorded; None when the server is set not to record them."""
    return current_app.extensions.get("activity")


def client_id() -> str | None:
    """This request's client, as a keyed hash of its address (service.privacy)."""
    address = request.remote_addr
    if not address:
        return None
    key = current_app.extensions.get("client key")
    if key is None:
        key = current_app.extensions["client key"] = kb().store.client_key()
    return client_hash(address, key)


def load_args(schema: Schema) -> dict[str, Any]:
    """Query parameters validated by a schema; a bad one is a 400 naming the parameter."""
    return schema.load(request.args.to_dict())


def validated(load: Callable[[Any], dict[str, Any]], raw: Any, problem: str) -> dict[str, Any]:
    """A request body validated by `load` (a schema's load); invalid, a 422 whose detail is
    `problem` followed by the fields, each named in `errors` with what is wrong with it."""
    try:
        return load(raw)
    except ValidationError as exc:
        errors = field_errors(exc.messages)
        names = ", ".join(sorted({e["field"] for e in errors}))
        raise ApiError(422, f"{problem}: {names}.", errors=errors) from None


def json_response(data: Any, schema: Schema | None = None, status: int = 200) -> Response:
    body = schema.dump(data) if schema is not None else data
    return Response(json.dumps(body), status=status, mimetype="application/json")


# Plain before Markdown: a client asking for text/* is most likely a terminal.
TEXT_OFFER = (*JSON_TYPES, PLAIN, MARKDOWN)
View = TypeVar("View", bound=Callable[..., Response])


def renders_text(view: View) -> View:
    """Mark a view that can also answer in Markdown or plain text (see service.render)."""
    view.renders_text = True  # type: ignore[attr-defined]
    return view


def offered_media(view: Callable[..., Any] | None) -> tuple[str, ...]:
    """The media types a view can answer with, JSON first so that */* gets JSON."""
    return TEXT_OFFER if getattr(view, "renders_text", False) else JSON_TYPES


def wanted_text() -> str | None:
    """The text media type the client prefers over JSON, or None for JSON."""
    if not request.accept_mimetypes:
        return None
    best = request.accept_mimetypes.best_match(TEXT_OFFER)
    return best if best in TEXT_MEDIA else None


def text_response(kind: str, body: dict[str, Any], media: str, status: int = 200) -> Response:
    """`body` (the JSON answer, already dumped) rendered for people in `media`, its links to the
    pages absolute (service.links)."""
    text = RENDERERS[kind][media](body, public_base())
    response = Response(text, status=status, mimetype=media)
    response.headers["Vary"] = "Accept"
    return response


def negotiated_response(
    kind: str,
    data: Any,
    schema: Schema | None,
    status: int = 200,
    prepare: Callable | None = None,
) -> Response:
    """JSON by default; Markdown or plain text when the client prefers one of those.

    `schema` dumps `data`; None when the view dumped it already. `prepare` turns the dumped body
    into what the renderer of `kind` needs, when that is more than the JSON answer holds (an
    issue rendered with its causes and steps inlined).
    """
    media = wanted_text()
    if media is None:
        response = json_response(data, schema, status)
        response.headers["Vary"] = "Accept"
        return response
    body = schema.dump(data) if schema is not None else data
    return text_response(kind, prepare(body) if prepare else body, media, status)


def no_content() -> Response:
    """A 204: no body, so no Content-Type either (Flask would otherwise claim text/html)."""
    response = Response(status=204)
    del response.headers["Content-Type"]
    return response


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


def charset_refused(error: UnsupportedCharset) -> ApiError:
    """The 415 for a body declared in a charset that is not accepted, naming those that are."""
    return ApiError(
        415,
        f"The body is declared as charset={error.charset!r}, which is not accepted. Send it in "
        f"{CHARSET_NAMES}, or name no charset: UTF-8 is assumed, and UTF-16 or UTF-32 is read "
        "by its BOM.",
        errors=[{"field": "charset", "message": f"must be one of {CHARSET_NAMES}"}],
    )
