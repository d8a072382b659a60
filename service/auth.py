"""Bearer tokens for writes: configured by environment or file, compared in constant time.

No token configured means writes are off: every write is refused with a 403 that says how to
turn them on. Reads never need a token.
"""

from __future__ import annotations

import hmac
import os
from pathlib import Path

from flask import request

from service.errors import ApiError


def load_tokens(env: dict[str, str] | None = None) -> list[str]:
    """Tokens from KB_API_TOKENS (comma-separated) and KB_TOKEN_FILE (one per line, # comments)."""
    env = dict(os.environ) if env is None else env
    tokens = [t.strip() for t in env.get("KB_API_TOKENS", "").split(",") if t.strip()]
    token_file = env.get("KB_TOKEN_FILE")
    if token_file:
        try:
            lines = Path(token_file).read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise SystemExit(f"KB_TOKEN_FILE {token_file!r} cannot be read: {exc}") from None
        tokens += [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    return tokens


def require_writer(tokens: list[str]) -> None:
    """Raise a problem+json 401 or 403 unless the request carries a configured token.

    No credentials is always a 401 (the client must authenticate); credentials sent to a
    server with writes turned off are a 403 that says how to turn them on.
    """
    header = request.headers.get("Authorization", "")
    scheme, _, presented = header.partition(" ")
    challenge = {"WWW-Authenticate": 'Bearer realm="kb"'}
    if scheme.lower() != "bearer" or not presented.strip():
        raise ApiError(401, "This write needs Authorization: Bearer <token>.", headers=challenge)
    if not tokens:
        raise ApiError(
            403,
            "Writes are turned off on this server: no API token is configured. Set KB_API_TOKENS "
            "or KB_TOKEN_FILE and send Authorization: Bearer <token>.",
        )
    presented_bytes = presented.strip().encode("utf-8")
    # Compare against every token, always, so timing says nothing about which one nearly matched.
    matched = False
    for token in tokens:
        matched |= hmac.compare_digest(presented_bytes, token.encode("utf-8"))
    if not matched:
        raise ApiError(
            401,
            "The bearer token is not valid for this server.",
            headers={"WWW-Authenticate": 'Bearer realm="kb", error="invalid_token"'},
        )


def carries_token(tokens: list[str]) -> bool:
    """True when the request carries one of the configured tokens; never raises.

    For reads that show more to token holders than to everyone (content gaps in /v1/stats).
    """
    try:
        require_writer(tokens)
    except ApiError:
        return False
    return True
