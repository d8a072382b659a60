"""Helpers the benchmarks share: a store with the SMS archive, servers on free ports, wrk.

`prepare_home` builds the seed and imports an archive once into a KB_HOME; `start`/`stop` run a
server in its own process group so that stopping it also stops the workers it forked.
"""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import IO

from service.config import Config
from service.importer import run_import
from service.kb import KnowledgeBase

ROOT = Path(__file__).resolve().parent.parent
SMS_ARCHIVE = ROOT.parent / "shared" / "corpus" / "kbarchive-sms.tar.gz"
ALL_ARCHIVE = ROOT.parent / "shared" / "corpus" / "kbarchive-all.tar.gz"
# Fewer articles than this means the archive has not been imported yet (the seed alone is one).
IMPORTED_AT_LEAST = 100


def prepare_home(home: Path, archive: Path) -> int:
    """Build the seed into `home` and import `archive` unless already there; returns articles.

    A missing archive is reported and the seed alone is used, so a benchmark still runs.
    """
    kb = KnowledgeBase(Config(kb_home=home))
    try:
        kb.build()
        if kb.store.count("articles") < IMPORTED_AT_LEAST:
            if not archive.exists():
                print(f"archive not found: {archive}; measuring on the seed alone", file=sys.stderr)
            else:
                run_import(kb, [archive])
        return kb.store.count("articles")
    finally:
        kb.close()


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_ready(
    port: int, path: str, timeout: float = 60, process: subprocess.Popen | None = None
) -> None:
    """Wait until GET `path` answers 200; give up after `timeout` or when `process` exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise SystemExit(f"server for port {port} exited with {process.returncode}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", path)
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"server on port {port} did not become ready")


def start(
    argv: list[str], env: dict[str, str], log: IO[bytes] | int = subprocess.DEVNULL
) -> subprocess.Popen:
    """Start a server in a new session, so `stop` can signal it and all its workers."""
    return subprocess.Popen(argv, env=env, stdout=log, stderr=log, start_new_session=True)


def stop(process: subprocess.Popen) -> None:
    """SIGTERM the process group, then SIGKILL it if it has not gone within 20 s."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        process.wait()
        return
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
