"""Helpers the benchmarks share: a store with an archive, servers on free ports, sizes on disk.

`prepare_home` builds the seed and imports an archive once into a KB_HOME; `start`/`stop` run a
server in its own process group so that stopping it also stops the workers it forked;
`home_sizes` says what a KB_HOME holds on disk, part by part.
"""

from __future__ import annotations

import http.client
import json
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
MB = 2**20


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


def home_sizes(home: Path) -> dict[str, float]:
    """Megabytes on disk in a KB_HOME: the store, the Whoosh index, the line index, the rest.

    The index folder holds one generation in use (named in state.json): its Whoosh files (with
    the filter of their symptom terms, `terms-<generation>.filter`) and its line index
    (`lines-<generation>.sqlite3` and its `.filter`) are counted apart, and files of any other
    generation (an earlier one not yet removed) are counted as `other_generations_mb`, so the
    size of the index in use is not overstated. SQLite's -wal and -shm files count with their
    database.
    """
    index = home / "index"
    state = index / "state.json"
    current = json.loads(state.read_text()).get("name", "") if state.exists() else ""
    sizes = {"store_mb": 0, "whoosh_index_mb": 0, "line_index_mb": 0, "other_generations_mb": 0}
    for path in home.glob("kb.sqlite3*"):
        sizes["store_mb"] += path.stat().st_size
    for path in index.iterdir() if index.is_dir() else ():
        if not path.is_file() or path.name in ("state.json", "write.lock"):
            continue
        if path.name.startswith(f"lines-{current}."):
            sizes["line_index_mb"] += path.stat().st_size
        elif current and (
            path.name.lstrip("_").startswith(f"{current}_")
            or path.name.startswith(f"terms-{current}.")
        ):
            sizes["whoosh_index_mb"] += path.stat().st_size
        else:
            sizes["other_generations_mb"] += path.stat().st_size
    return {key: round(value / MB, 1) for key, value in sizes.items()}
