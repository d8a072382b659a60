"""The real thing: `kb serve` runs gunicorn, and curl-style requests get the documented answers."""

from __future__ import annotations

import http.client
import json
import os
import socket
import sys
from urllib.parse import quote

import pytest

from service import limits
from service.openapi import spec_dict
from tests.helpers import free_port, kb_serve, make_config, read_log, request, serving

SEED_LINES = (
    "Trying to open IPC connection with APM...  CCIM32  $$<CCIM32><Thu Jul 26 14:22:53.512 2001 "
    "Pacific Standard Time><thread=1600 (0x640)>\n"
    'Component "Remote Control" moved from index 0 to 6  CCIM32\n'
)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("serve")
    with kb_serve(make_config(root), root) as port:
        yield port


def test_curl_data_binary_of_a_log_file_gets_the_issue_and_its_fix(server: int) -> None:
    # exactly what `curl --data-binary @Ccim32.log http://host/v1/match` sends
    status, headers, body = request(
        server,
        "POST",
        "/v1/match",
        SEED_LINES.encode(),
        {"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert status == 200
    result = json.loads(body)
    top = result["matches"][0]
    assert top["issue_id"] == "264630-1"
    assert top["remediation"][0]["id"].startswith("264630-w")
    assert "app;dur=" in headers["Server-Timing"]


def test_the_article_is_served_with_its_links(server: int) -> None:
    status, headers, body = request(server, "GET", "/v1/articles/264630")
    assert status == 200
    assert headers["Content-Type"] == "application/json"
    assert json.loads(body)["links"]["self"] == "/v1/articles/264630"


def test_errors_are_problem_json_under_gunicorn(server: int) -> None:
    status, headers, body = request(server, "GET", "/v1/issues/nope")
    assert status == 404
    assert headers["Content-Type"] == "application/problem+json"
    assert json.loads(body)["status"] == 404


def test_docs_and_contract_are_served(server: int) -> None:
    assert request(server, "GET", "/docs")[0] == 200
    status, headers, _ = request(server, "GET", "/openapi.yaml")
    assert status == 200 and headers["Content-Type"].startswith("application/yaml")


def test_metrics_add_up_across_workers_and_request_ids_come_back(server: int) -> None:
    for i in range(8):
        status, headers, _ = request(
            server, "GET", "/healthz", headers={"X-Correlation-ID": f"r{i}"}
        )
        assert headers["X-Correlation-ID"] == f"r{i}"
        assert len(headers["X-Request-ID"]) == 32
    _, _, body = request(server, "GET", "/metrics")
    text = body.decode()
    line = next(
        x
        for x in text.splitlines()
        if x.startswith('kb_http_requests_total{method="GET",route="/healthz",status="200"}')
    )
    # every request counted once, whichever of the two workers answered it
    assert float(line.rsplit(" ", 1)[1]) >= 8


def test_a_chunked_body_over_the_limit_is_a_413_not_a_paste_cut_short(server: int) -> None:
    # No Content-Length: the server reads up to its 2 MiB and refuses the rest, as for a body
    # whose Content-Length is too large, rather than matching the first 2 MiB.
    conn = http.client.HTTPConnection("127.0.0.1", server, timeout=30)
    try:
        conn.request(
            "POST",
            "/v1/match",
            body=iter([b"x" * 65_536] * 33),
            headers={"Content-Type": "text/plain"},
            encode_chunked=True,
        )
        response = conn.getresponse()
        assert response.status == 413
        assert response.getheader("Content-Type") == "application/problem+json"
        assert json.loads(response.read())["status"] == 413
    finally:
        conn.close()


def _raw_exchange(port: int, head: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send a request written out byte for byte (http.client would refuse some of these):
    the answer's status, headers and body, read until the server closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(head)
        received = b""
        while chunk := sock.recv(65_536):
            received += chunk
    status_line, _, rest = received.partition(b"\r\n")
    header_block, _, body = rest.partition(b"\r\n\r\n")
    headers = dict(
        line.decode("latin-1").split(": ", 1) for line in header_block.split(b"\r\n") if line
    )
    return int(status_line.split()[1]), headers, body


def test_a_line_in_the_query_string_may_be_as_long_as_the_contract_allows(server: int) -> None:
    # Gunicorn's default request line is 4,094 bytes; the contract's `line` is longer.
    line = "a" * limits.MAX_QUERY_LINE_CHARS
    status, headers, _ = request(server, "GET", f"/v1/match?line={line}")
    assert status == 200 and headers["Content-Type"] == "application/json"


@pytest.mark.parametrize(
    ("head", "status", "advice"),
    [
        (
            f"GET /v1/match?line={'a' * limits.REQUEST_LINE_BYTES} HTTP/1.1\r\nHost: x\r\n\r\n",
            414,
            "POST /v1/match",
        ),
        (
            # 1,000 CJK characters: within `q`'s maxLength, over the request line once encoded
            f"GET /v1/search?q={quote('漢' * 1_000)} HTTP/1.1\r\nHost: x\r\n\r\n",
            414,
            "POST /v1/match",
        ),
        (
            f"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: {'a' * (limits.REQUEST_HEADER_BYTES + 1)}"
            "\r\n\r\n",
            431,
            "fewer or shorter headers",
        ),
        (
            "GET /healthz HTTP/1.1\r\nHost: x\r\n"
            + "".join(f"X-H{i}: v\r\n" for i in range(limits.REQUEST_HEADERS + 1))
            + "\r\n",
            431,
            "fewer or shorter headers",
        ),
    ],
    ids=["long-line", "encoded-cjk-q", "long-header", "many-headers"],
)
def test_requests_gunicorn_refuses_unread_are_problem_json_saying_what_to_do(
    server: int, head: str, status: int, advice: str
) -> None:
    got, headers, body = _raw_exchange(server, head.encode())
    assert got == status
    assert headers["Content-Type"] == "application/problem+json"
    assert int(headers["Content-Length"]) == len(body)
    problem = json.loads(body)
    assert problem["status"] == status
    assert (
        problem["type"]
        == f"/problems/{'uri-too-long' if status == 414 else 'header-fields-too-large'}"
    )
    assert advice in problem["detail"]
    # The contract documents the answer, in the shape it is given.
    name = "UriTooLong" if status == 414 else "HeadersTooLarge"
    example = spec_dict()["components"]["responses"][name]["content"]["application/problem+json"][
        "example"
    ]
    assert example == problem


def test_workers_replaced_under_gunicorn_alone_leave_the_server_answering(tmp_path) -> None:
    """Gunicorn run on the service's config without `kb serve` (as the benchmarks run it, with
    no metrics directory), each worker replaced after two requests: every request is answered,
    and the server is still running afterwards."""
    config = make_config(tmp_path)
    port = free_port()
    env = {name: value for name, value in os.environ.items() if name != "PROMETHEUS_MULTIPROC_DIR"}
    env.update(KB_HOME=str(config.kb_home), KB_DATA=str(config.kb_data))
    argv = [sys.executable, "-m", "gunicorn", "--config", "python:service.gunicorn_conf"]
    argv += ["--workers", "1", "--max-requests", "2", "--max-requests-jitter", "0"]
    argv += ["--bind", f"127.0.0.1:{port}", "service.wsgi:app"]
    log_path = tmp_path / "gunicorn.log"
    with serving(argv, port, env, log_path) as process:
        statuses = [request(port, "GET", "/healthz")[0] for _ in range(8)]
        assert statuses == [200] * 8, read_log(log_path)
        assert process.poll() is None, read_log(log_path)
