"""Configuration from the environment, in one place."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from service import limits
from service.auth import load_tokens

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _int_env(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise SystemExit(f"{name} must be a whole number, got {value!r}") from None


def _public_url(value: str) -> str:
    """KB_PUBLIC_URL checked: a base for absolute links must be an http(s) URL naming a host."""
    value = value.strip().rstrip("/")
    if not value:
        return ""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise SystemExit(
            "KB_PUBLIC_URL must be the address people reach the service at, such as "
            f"https://kb.example.com or https://example.com/kb, got {value!r}"
        )
    return value


def _quorum(value: int) -> int:
    if value == 1 or value < 0:
        raise SystemExit(
            "KB_FEEDBACK_QUORUM must be 0 (feedback waits for review) or 2 or more distinct "
            f"clients; one client must never change what others see, got {value}"
        )
    return value


def _database_url(value: str) -> str:
    value = value.strip()
    if value and not value.startswith(("postgresql://", "postgres://")):
        raise SystemExit(
            "KB_DATABASE_URL must be a postgresql:// URL (postgresql://user@host:port/database), "
            f"or unset for the SQLite store under KB_HOME; got {value.split('://')[0]!r}://..."
        )
    return value


@dataclass
class Config:
    """Settings of one service instance; `from_env` reads the KB_* environment variables."""

    kb_home: Path = field(default_factory=lambda: Path("var"))
    # Empty: the store and the activity log are SQLite files under kb_home. A postgresql://
    # URL: both live in that database, shared by every node pointed at it; each node's index
    # stays under its own kb_home, derived from the store.
    database_url: str = ""
    kb_data: Path = field(default_factory=lambda: PROJECT_ROOT / "kb_data")
    max_body_bytes: int = limits.MAX_BODY_BYTES
    max_paste_lines: int = limits.MAX_PASTE_LINES
    max_line_chars: int = limits.MAX_LINE_CHARS
    # Wall-clock milliseconds one match may take before it is refused with a 413 (0: no limit),
    # so that no paste holds a worker for longer, whatever it is made of.
    match_budget_ms: int = limits.MATCH_BUDGET_MS
    # Not settings: the API's own numbers, here for the code that matches outside a request.
    default_match_limit: int = limits.MATCH_LIMIT_DEFAULT
    max_match_limit: int = limits.MATCH_LIMIT_MAX
    api_tokens: list[str] = field(default_factory=list)
    # Recent matches (normalised lines only) for feedback by request id and content-gap stats.
    record_activity: bool = True
    activity_days: int = limits.ACTIVITY_DAYS
    # Feedback takes effect when a token holder approves it, or when this many distinct clients
    # agree on a line (0: review only; one client is never enough).
    feedback_quorum: int = 0
    # Content gaps are shown once this many distinct clients have pasted the line.
    gap_min_clients: int = limits.GAP_MIN_CLIENTS
    # Proxies in front whose X-Forwarded-For/-Proto/-Host/-Prefix headers are believed (0: none,
    # the client address and the links' host are the connection's). Behind deploy/nginx.conf, 1.
    trust_proxy: int = 0
    # The address people reach the service at (scheme, host, any path prefix, no trailing
    # slash): absolute links to pages use it instead of the request's host. Empty: the request's.
    public_url: str = ""
    # Requests per minute per client address, per worker; 0 is off.
    rate_limit: int = 0
    rate_burst: int = 0
    # /readyz is not ready when the index misses more store writes than this, or has missed
    # some for longer than `ready_stall_seconds` with no import running (an import that died).
    ready_max_behind: int = limits.READY_MAX_BEHIND
    ready_stall_seconds: int = limits.READY_STALL_SECONDS
    # /metrics: a bearer token it requires (empty: none), and a listener of its own ("host:port"
    # or a port, bound by `kb serve`) that serves it and nothing else (empty: none).
    metrics_token: str = ""
    metrics_bind: str = ""
    # With a database URL, how often (milliseconds) one process of this node looks for writes
    # other nodes made and indexes them (0: never; the index then lags until a restart).
    follow_ms: int = limits.FOLLOW_MS

    @classmethod
    def from_env(cls) -> Config:
        return cls(
            kb_home=Path(os.environ.get("KB_HOME", "var")),
            database_url=_database_url(os.environ.get("KB_DATABASE_URL", "")),
            kb_data=Path(os.environ.get("KB_DATA", str(PROJECT_ROOT / "kb_data"))),
            max_body_bytes=_int_env("KB_MAX_BODY_BYTES", limits.MAX_BODY_BYTES),
            max_paste_lines=_int_env("KB_MAX_PASTE_LINES", limits.MAX_PASTE_LINES),
            max_line_chars=_int_env("KB_MAX_LINE_CHARS", limits.MAX_LINE_CHARS),
            match_budget_ms=max(0, _int_env("KB_MATCH_BUDGET_MS", limits.MATCH_BUDGET_MS)),
            api_tokens=load_tokens(),
            record_activity=_int_env("KB_RECORD_ACTIVITY", 1) != 0,
            activity_days=_int_env("KB_ACTIVITY_DAYS", limits.ACTIVITY_DAYS),
            feedback_quorum=_quorum(_int_env("KB_FEEDBACK_QUORUM", 0)),
            gap_min_clients=max(1, _int_env("KB_GAP_MIN_CLIENTS", limits.GAP_MIN_CLIENTS)),
            trust_proxy=max(0, _int_env("KB_TRUST_PROXY", 0)),
            public_url=_public_url(os.environ.get("KB_PUBLIC_URL", "")),
            rate_limit=_int_env("KB_RATE_LIMIT", 0),
            rate_burst=_int_env("KB_RATE_BURST", 0),
            ready_max_behind=_int_env("KB_READY_MAX_BEHIND", limits.READY_MAX_BEHIND),
            ready_stall_seconds=_int_env("KB_READY_STALL_SECONDS", limits.READY_STALL_SECONDS),
            metrics_token=os.environ.get("KB_METRICS_TOKEN", "").strip(),
            metrics_bind=os.environ.get("KB_METRICS_BIND", "").strip(),
            follow_ms=max(0, _int_env("KB_FOLLOW_MS", limits.FOLLOW_MS)),
        )

    @property
    def store_path(self) -> Path:
        return self.kb_home / "kb.sqlite3"

    @property
    def activity_path(self) -> Path:
        return self.kb_home / "activity.sqlite3"

    @property
    def store_location(self) -> str | Path:
        """Where the store is: the database URL when one is set, else the SQLite file."""
        return self.database_url or self.store_path

    @property
    def activity_location(self) -> str | Path:
        """Where the activity log is: the store's database when one is set, else its file."""
        return self.database_url or self.activity_path

    @property
    def index_path(self) -> Path:
        return self.kb_home / "index"

    @property
    def metrics_port(self) -> int | None:
        """The port of /metrics' own listener; None when it is served with the rest."""
        if not self.metrics_bind:
            return None
        port = self.metrics_bind.rsplit(":", 1)[-1]
        if not port.isdigit():
            raise SystemExit(
                f"KB_METRICS_BIND must be host:port or a port, got {self.metrics_bind!r}"
            )
        return int(port)
