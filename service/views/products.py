"""`/v1/products`: the products and versions the articles apply to, for the filters."""

from __future__ import annotations

from flask import Blueprint, Response

from schemas.api import ProductsArgsSchema, ProductsOut
from service.products import catalog, closest_products, product_names, resolve_product
from service.views.common import json_response, kb, load_args

bp = Blueprint("products", __name__, url_prefix="/v1")

_args = ProductsArgsSchema()
_out = ProductsOut()


@bp.get("/products")
def list_products() -> Response:
    args = load_args(_args)
    listing = catalog(kb()).listing()
    body: dict = {}
    if args["product"] is not None:
        names = product_names(kb())
        wanted = set(resolve_product(names, args["product"]))
        listing = [p for p in listing if p["product"] in wanted]
        if not wanted:
            body["closest_products"] = closest_products(names, args["product"])
    body = {"total": len(listing), "products": listing, **body}
    return json_response(body, _out)
