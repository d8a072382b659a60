"""Running in production: metrics for the monitoring system only, instances that leave each
other alone, a log without credentials, and deploy/nginx.conf in front of `kb serve`.

The nginx test needs Debian's nginx (`make test` installs it when it can); without it the test
is skipped, unless KB_REQUIRE_NGINX is set, as CI does, where a missing nginx fails.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from gunicorn.config import Config as GunicornConfig

from bench.balancer import main_configuration, nginx_binary
from service.config import PROJECT_ROOT, Config
from service.gunicorn_conf import JsonAccessLogger, redact_query
from service.kb import KnowledgeBase
from tests.helpers import free_port, make_config, request, started, wait_ready
from tests.test_contract import assert_conforms

NGINX = nginx_binary()


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Config:
    """One knowledge base, built once, that the servers of these tests share."""
    config = make_config(tmp_path_factory.mktemp("deploy"))
    knowledge = KnowledgeBase(config)
    knowledge.build()
    knowledge.close()
    return config


def serve(
    spawned: list[subprocess.Popen],
    config: Config,
    log: Path,
    workers: int = 1,
    **env: str,
) -> int:
    """Start `kb serve` on a free port with `env` added and wait until it is ready."""
    port = free_port()
    environment = dict(os.environ, KB_HOME=str(config.kb_home), KB_DATA=str(config.kb_data), **env)
    with open(log, "ab") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "service.cli", "serve", "--port", str(port)]
            + ["--workers", str(workers)],
            env=environment,
            cwd=PROJECT_ROOT,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    spawned.append(process)
    wait_ready(port, process, log)
    return port


def stop(process: subprocess.Popen) -> None:
    """Stop a server the way an operator does (SIGTERM) and wait for it to be gone."""
    os.killpg(process.pid, signal.SIGTERM)
    process.wait(timeout=30)


def healthz_count(port: int, path: str = "/metrics", headers=None) -> float:
    """How many /healthz requests this server's /metrics counted."""
    status, _, body = request(port, "GET", path, headers=headers)
    assert status == 200
    for line in body.decode().splitlines():
        if line.startswith('kb_http_requests_total{method="GET",route="/healthz",status="200"}'):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


# -- the access log -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "logged"),
    [
        ("token=s3cr3t&line=x", "token=REDACTED&line=x"),
        ("q=error+5&access_token=s3cr3t", "q=error+5&access_token=REDACTED"),
        ("api-key=s3cr3t&keyword=sql", "api-key=REDACTED&keyword=sql"),
        ("Password=s3cr3t", "Password=REDACTED"),
        ("client_secret=s3cr3t&limit=5", "client_secret=REDACTED&limit=5"),
        ("access%5Ftoken=s3cr3t", "access%5Ftoken=REDACTED"),
        ("X-Amz-Signature=s3cr3t&cursor=abc", "X-Amz-Signature=REDACTED&cursor=abc"),
        ("line=token%3Ds3cr3t&product=SMS", "line=token%3Ds3cr3t&product=SMS"),
        ("", ""),
    ],
)
def test_credentials_in_a_query_string_never_reach_the_access_log(query, logged) -> None:
    assert redact_query(query) == logged


def test_the_access_logger_writes_the_redacted_query() -> None:
    settings = GunicornConfig()
    settings.set("accesslog", "-")
    logger = JsonAccessLogger(settings)
    logger.access_log = SimpleNamespace(info=lambda line: lines.append(line))
    lines: list[str] = []
    response = SimpleNamespace(headers=[("X-Request-ID", "r1")], status_code=200, sent=2)
    req = SimpleNamespace(method="GET", path="/v1/search", query="q=boot&token=s3cr3t")
    logger.access(
        response, req, {"REMOTE_ADDR": "10.0.0.9"}, SimpleNamespace(total_seconds=lambda: 0.01)
    )
    record = json.loads(lines[0])
    assert record["query"] == "q=boot&token=REDACTED"
    assert "s3cr3t" not in lines[0]


# -- /metrics for the monitoring system only ------------------------------------------------


def test_metrics_need_their_token_when_one_is_set(make_app, tmp_path) -> None:
    _, app, client = started(make_app, tmp_path, metrics_token="scrape-me")
    refused = client.get("/metrics")
    assert refused.status_code == 401
    assert_conforms("get", "/metrics", refused)
    assert refused.mimetype == "application/problem+json"
    assert refused.headers["WWW-Authenticate"].startswith("Bearer")
    assert client.get("/metrics", headers={"Authorization": "Bearer nope"}).status_code == 401
    allowed = client.get("/metrics", headers={"Authorization": "Bearer scrape-me"})
    assert allowed.status_code == 200
    assert "kb_articles" in allowed.get_data(as_text=True)
    assert client.get("/readyz").status_code == 200  # nothing else needs the token


def test_metrics_on_a_listener_of_their_own_and_nowhere_else(make_app, tmp_path) -> None:
    _, app, client = started(make_app, tmp_path, metrics_bind="127.0.0.1:9464")
    private = "http://127.0.0.1:9464"
    elsewhere = client.get("/metrics")  # on the API's listener
    assert elsewhere.status_code == 404
    assert_conforms("get", "/metrics", elsewhere)
    assert client.get("/metrics", base_url=private).status_code == 200
    assert client.get("/v1/articles/264630", base_url=private).status_code == 404
    assert client.get("/v1/articles/264630").status_code == 200


# -- two instances on one host --------------------------------------------------------------


def test_two_instances_on_one_host_keep_their_control_sockets_and_metrics_apart(
    home: Config, spawned: list[subprocess.Popen], tmp_path: Path
) -> None:
    # Where gunicorn puts its control socket by default: one path for every instance.
    user_home = tmp_path / "user"
    user_home.mkdir()
    shared = {"HOME": str(user_home), "XDG_RUNTIME_DIR": ""}
    first = serve(spawned, home, tmp_path / "first.log", **shared)
    second = serve(spawned, home, tmp_path / "second.log", **shared)

    # Each counts its own requests: the second's start wiped nothing of the first's.
    for _ in range(3):
        request(first, "GET", "/healthz")
    for _ in range(5):
        request(second, "GET", "/healthz")
    assert healthz_count(first) == 3
    assert healthz_count(second) == 5

    # No instance took the user's one control socket path, for the next to take over.
    assert not (user_home / ".gunicorn").exists()
    # Stopping one leaves the other answering, its metrics intact.
    stop(spawned[0])
    request(second, "GET", "/healthz")
    assert healthz_count(second) == 6
    # A query string's token stays out of the log gunicorn writes.
    request(second, "GET", "/healthz?access_token=s3cr3t-value&x=1")
    time.sleep(0.5)  # the access log line is written after the answer
    log = (tmp_path / "second.log").read_text(errors="replace")
    assert "access_token=REDACTED&x=1" in log
    assert "s3cr3t-value" not in log


def test_per_instance_control_sockets_survive_the_other_instance_stopping(
    home: Config, spawned: list[subprocess.Popen], tmp_path: Path
) -> None:
    gunicornc = Path(sys.executable).with_name("gunicornc")
    if not gunicornc.exists():
        pytest.skip("this gunicorn has no control socket (gunicorn 25.1 added it)")
    sockets = tmp_path / "a.ctl", tmp_path / "b.ctl"
    serve(spawned, home, tmp_path / "a.log", KB_CONTROL_SOCKET=str(sockets[0]))
    serve(spawned, home, tmp_path / "b.log", KB_CONTROL_SOCKET=str(sockets[1]))
    # Gunicorn opens the control socket from a thread of its own, soon after it starts serving.
    deadline = time.monotonic() + 20
    while not all(path.is_socket() for path in sockets):
        assert time.monotonic() < deadline, f"no control sockets: {list(tmp_path.iterdir())}"
        time.sleep(0.1)
    stop(spawned[0])
    assert not sockets[0].exists()
    assert sockets[1].is_socket()
    shown = subprocess.run(
        [str(gunicornc), "-s", str(sockets[1]), "-c", "show workers", "-j"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["count"] == 1


def test_metrics_served_on_their_own_listener_only(
    home: Config, spawned: list[subprocess.Popen], tmp_path: Path
) -> None:
    metrics_port = free_port()
    port = serve(spawned, home, tmp_path / "serve.log", KB_METRICS_BIND=f"127.0.0.1:{metrics_port}")
    request(port, "GET", "/healthz")
    assert request(port, "GET", "/metrics")[0] == 404
    assert healthz_count(metrics_port) == 1
    assert request(metrics_port, "GET", "/v1/articles/264630")[0] == 404
    assert request(port, "GET", "/v1/articles/264630")[0] == 200


# -- behind nginx ---------------------------------------------------------------------------


def nginx_config(directory: Path, listen: int, upstream: int) -> Path:
    """deploy/nginx.conf with this test's addresses, in a main configuration of its own."""
    site = (PROJECT_ROOT / "deploy" / "nginx.conf").read_text()
    site, upstreams = re.subn(r"server 127\.0\.0\.1:8000;", f"server 127.0.0.1:{upstream};", site)
    site, listens = re.subn(r"listen 80;", f"listen 127.0.0.1:{listen};", site)
    assert upstreams == listens == 1, "deploy/nginx.conf changed shape: update this test"
    (directory / "kb.conf").write_text(site)
    return main_configuration(directory, f"    include {directory / 'kb.conf'};\n")


def upload(port: int, length: int, sent: bytes = b"") -> socket.socket:
    """A client that announces a paste of `length` bytes, sends `sent` of it and then waits."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(
        b"POST /v1/match HTTP/1.1\r\nHost: kb\r\nContent-Type: text/plain\r\n"
        b"Content-Length: %d\r\n\r\n%s" % (length, sent)
    )
    return sock


def test_behind_the_nginx_of_deploy_slow_uploads_hold_no_worker(
    home: Config, spawned: list[subprocess.Popen], tmp_path: Path
) -> None:
    if NGINX is None:
        message = "Debian's nginx is needed: apt-get install nginx"
        if os.environ.get("KB_REQUIRE_NGINX"):
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    # Trusting the proxy's headers, as the README says to run behind it.
    upstream = serve(spawned, home, tmp_path / "serve.log", workers=1, KB_TRUST_PROXY="1")
    listen = free_port()
    config = nginx_config(tmp_path, listen, upstream)
    checked = subprocess.run(
        [NGINX, "-t", "-c", str(config), "-p", str(tmp_path)], capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stderr
    proxy = subprocess.Popen(
        [NGINX, "-c", str(config), "-p", str(tmp_path), "-g", "daemon off;"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    spawned.append(proxy)
    wait_ready(listen, proxy, tmp_path / "error.log", seconds=30)

    # More stalled uploads than the server has workers (one): nginx holds them, not gunicorn.
    # (Sent to gunicorn itself, each would hold its worker until its 30 s timeout.)
    stalled = [upload(listen, 100_000, b"Trying to open IPC connection") for _ in range(4)]
    try:
        status, headers, body = request(
            listen, "POST", "/v1/match", b"Trying to open IPC connection with APM...  CCIM32"
        )
        assert status == 200
        assert json.loads(body)["matches"][0]["issue_id"] == "264630-1"
        assert "app;dur=" in headers["Server-Timing"]
        # A client cannot choose the host or path of the links a page gives: nginx sets the
        # forwarded headers itself, whatever the client sent.
        status, headers, body = request(
            listen,
            "GET",
            "/issues/264630-1",
            headers={
                "Host": "kb.example.org",
                "X-Forwarded-Host": "attacker.example",
                "X-Forwarded-Prefix": "/elsewhere",
            },
        )
        assert status == 200
        assert b"http://kb.example.org/issues/264630-1" in body
        assert b"attacker.example" not in body and b"/elsewhere" not in body
        assert "private" in headers["Cache-Control"]
        # What the proxy keeps from the public: metrics, and bodies far over the limit, which
        # it refuses unread.
        assert request(listen, "GET", "/metrics")[0] == 404
        oversized = upload(listen, 8 * 1024 * 1024)
        with oversized:
            assert oversized.recv(200).startswith(b"HTTP/1.1 413")
    finally:
        for sock in stalled:
            sock.close()


def test_workers_never_walk_what_the_master_loaded_and_collect_young_objects_rarely():
    import gc

    from service import gunicorn_conf

    before = gc.get_threshold()
    try:
        gunicorn_conf.pre_fork(None, None)
        assert gc.get_freeze_count() > 1000
        gunicorn_conf.post_fork(None, None)
        assert gc.get_threshold() == gunicorn_conf.GC_THRESHOLDS
        assert gc.get_threshold()[0] > before[0]
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
