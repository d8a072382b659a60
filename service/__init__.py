"""The knowledge-base service: a Flask app over the SQLite store and the Whoosh index."""

from __future__ import annotations

import time

from flask import Flask, Response, g, request
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import BaseConverter

from service.activity import ActivityLog
from service.body_limit import init_body_limit
from service.config import Config
from service.errors import ApiError, problem, register_error_handlers
from service.kb import KnowledgeBase
from service.metrics_access import init_metrics_access
from service.observability import init_observability
from service.ratelimit import init_rate_limit
from service.views.common import offered_media


class ArticleRefConverter(BaseConverter):
    """A KB number or an alias of one (264630, Q264630, KB264630): nothing else routes there."""

    regex = r"(?:[Qq]|[Kk][Bb])?[0-9]{1,8}"


def create_app(config: Config | None = None) -> Flask:
    """Build the app: configuration, knowledge base (built or repaired), blueprints, errors."""
    config = config or Config.from_env()
    app = Flask(__name__)
    app.config["KB_CONFIG"] = config
    app.config["MAX_CONTENT_LENGTH"] = config.max_body_bytes
    app.json.sort_keys = False
    app.url_map.converters["article_ref"] = ArticleRefConverter
    # No OPTIONS answered for Flask's sake (an empty text/html 200): OPTIONS is a 405 problem
    # like any method a path does not take, with `Allow` listing those it does. Set before
    # the routes are added, which read it.
    app.config["PROVIDE_AUTOMATIC_OPTIONS"] = False
    if config.trust_proxy:
        # Behind a proxy every connection comes from the proxy: the client is the address it
        # forwards, which rate limits, feedback quorums and content-gap counts go by, and the
        # host, scheme and path prefix it was reached at are the proxy's, which absolute links
        # are built from. Only as many hops as configured are believed, and the proxy must set
        # each of these headers itself (deploy/nginx.conf does), so a client cannot name itself
        # someone else or choose the host of the links others are given.
        hops = config.trust_proxy
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_prefix=hops
        )

    knowledge = KnowledgeBase(config)
    knowledge.ensure_ready()
    app.extensions["kb"] = knowledge
    follower = knowledge.follow_store()
    if follower is not None:
        # Started by the first request of the process that serves (gunicorn also starts it
        # when a worker is ready: service/gunicorn_conf.py), never here: under gunicorn this
        # runs in the master, whose threads the forked workers do not have.
        app.before_request(follower.ensure_running)
    if knowledge.store.is_postgres:
        # A request's statements share one pooled connection, given back when it ends.
        app.before_request(knowledge.store.hold_connection)
        app.teardown_request(lambda _error: knowledge.store.release_connection())
    if config.record_activity:
        app.extensions["activity"] = ActivityLog(config.activity_location, config.activity_days)

    register_error_handlers(app)
    init_observability(app)
    init_metrics_access(app, config.metrics_token, config.metrics_port)
    init_rate_limit(app, config.rate_limit, config.rate_burst or None)
    init_body_limit(app)

    from service.views import (
        articles,
        docs,
        feedback,
        health,
        match,
        page,
        products,
        record_pages,
        search,
    )

    for module in (articles, match, search, products, feedback, health, docs, page, record_pages):
        app.register_blueprint(module.bp)

    from service.matching import PasteTooLarge

    @app.errorhandler(PasteTooLarge)
    def paste_too_large(error: PasteTooLarge) -> Response:
        # Wherever a paste is matched (feedback sent with its paste too), not only /v1/match.
        return problem(413, f"The paste is too large: {error}.")

    @app.before_request
    def check_accept() -> None:
        if not request.path.startswith("/v1/") or not request.accept_mimetypes:
            return
        offered = offered_media(app.view_functions.get(request.endpoint))
        if request.accept_mimetypes.best_match(offered) is None:
            raise ApiError(
                406,
                f"This endpoint answers with {', '.join(offered)}. Send Accept with one of them "
                f"(got {request.headers.get('Accept')!r}).",
            )

    @app.before_request
    def start_timer() -> None:
        g.started = time.perf_counter()

    @app.after_request
    def add_headers(response: Response) -> Response:
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        started = g.get("started")
        if started is not None:
            # Time spent in the app, so clients and benchmarks can tell it from the network's.
            response.headers["Server-Timing"] = (
                f"app;dur={(time.perf_counter() - started) * 1000:.2f}"
            )
        return response

    return app
