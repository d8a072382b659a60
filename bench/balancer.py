"""A load balancer for the benchmarks: Debian's nginx in front of several `kb serve` nodes,
each request sent to the node with the fewest requests in hand (`least_conn`).

Clients that each keep a connection to one node (wrk's connections split across nodes) make
one queue per node: a slow request holds up every request behind it on its node while the
other node may stand idle. A balancer that hands each request to the least busy node makes
one queue for all of them, as one node's workers share theirs.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

from bench.serving import wait_ready

_SEARCHED = ("/usr/sbin/nginx", "/sbin/nginx")


def nginx_binary() -> str | None:
    """Where nginx is, if it is installed (Debian puts it outside a user's PATH)."""
    return shutil.which("nginx") or next((p for p in _SEARCHED if os.access(p, os.X_OK)), None)


def main_configuration(directory: Path, http: str) -> Path:
    """An nginx main configuration that keeps everything in `directory` (its pid, logs and
    temp files) and runs one worker as this user, `http` its http block's own lines."""
    temp = "".join(
        f"    {kind}_temp_path {directory / kind};\n"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    # As root, nginx's workers would run as nobody, who cannot enter a private temp folder.
    user = "user root;\n" if os.geteuid() == 0 else ""
    path = directory / "nginx.conf"
    path.write_text(
        f"{user}worker_processes 1;\npid {directory / 'nginx.pid'};\n"
        f"error_log {directory / 'error.log'};\nevents {{ worker_connections 1024; }}\n"
        f"http {{\n    access_log off;\n{temp}{http}}}\n"
    )
    return path


def configuration(directory: Path, listen: int, upstreams: list[int]) -> Path:
    """An nginx main configuration proxying `listen` to the nodes on `upstreams`."""
    servers = "".join(f"        server 127.0.0.1:{port};\n" for port in upstreams)
    return main_configuration(
        directory,
        "    upstream kb_nodes {\n        least_conn;\n"
        + servers
        # Connections to the nodes are kept open, as the clients' to nginx are.
        + "        keepalive 64;\n    }\n"
        f"    server {{\n        listen 127.0.0.1:{listen};\n"
        "        location / {\n            proxy_pass http://kb_nodes;\n"
        "            proxy_http_version 1.1;\n"
        '            proxy_set_header Connection "";\n        }\n    }\n',
    )


class Balancer:
    """nginx on `port` in front of the nodes on `upstreams`, started and stopped."""

    def __init__(self, directory: Path, port: int, upstreams: list[int]) -> None:
        binary = nginx_binary()
        if binary is None:
            raise RuntimeError("nginx is not installed (make nginx)")
        directory.mkdir(parents=True, exist_ok=True)
        self.port = port
        self.directory = directory
        self._argv = [binary, "-c", str(configuration(directory, port, upstreams))]
        self._process: subprocess.Popen | None = None

    def start(self) -> None:
        self._process = subprocess.Popen(
            [*self._argv, "-g", "daemon off;"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_ready(self.port, "/healthz", process=self._process)

    def stop(self) -> None:
        if self._process is None or self._process.poll() is not None:
            return
        self._process.send_signal(signal.SIGQUIT)  # finish what is in hand, then stop
        deadline = time.monotonic() + 10
        while self._process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        if self._process.poll() is None:
            os.killpg(self._process.pid, signal.SIGKILL)
            self._process.wait()
