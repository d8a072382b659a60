"""`/v1/products`: the products and versions the articles apply to, for the filters."""

from __future__ import annotations

from flask import Blueprint, Response

from schemas.api import ProductsArgsSchema, ProductsOut
from service.products import products_listing
from service.views.common import json_response, kb, load_args

bp = Blueprint("products", __name__, url_prefix="/v1")

_args = ProductsArgsSchema()
_out = ProductsOut()


@bp.get("/products")
def list_products() -> Response:
    """Products with their versions and article counts, narrowed by `product` if given."""
    args = load_args(_args)
    return json_response(products_listing(kb(), args["product"]), _out)
