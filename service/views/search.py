"""`/v1/search`: articles for a problem described in words."""

from __future__ import annotations

from flask import Blueprint, Response

from schemas.api import SearchArgsSchema, SearchResponseOut
from service.search import search_articles
from service.views.common import json_response, kb, load_args

bp = Blueprint("search", __name__, url_prefix="/v1")

_args = SearchArgsSchema()
_out = SearchResponseOut()


@bp.get("/search")
def search() -> Response:
    args = load_args(_args)
    result = search_articles(kb(), args["q"], limit=args["limit"], product=args["product"])
    return json_response(result, _out)
