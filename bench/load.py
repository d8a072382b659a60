"""Bounded load test: mixed traffic at 50 connections, alone and while a bulk import runs.

Serves the knowledge base (seed plus the SMS archive, imported once into --home) with `kb serve`
on 127.0.0.1 at its default worker count, and a Flask hello-world app with as many gunicorn
workers. wrk runs bench/load.lua, which sends a weighted mix (MIX below) of single-line
lookups, 200-line pastes, record reads and searches, drawn from the archive.

- Phase 1: the mix for --duration seconds, then hello-world for as long, at the same workers
  and connections: requests/s, p50, p99, errors (non-2xx and socket errors), and the ratio.
- Phase 2: `kb import` of --import-articles articles of the full archive that the store lacks,
  into the served KB_HOME, in a subprocess. The mix is measured in windows of --duration
  seconds from the import's start to its end (at most --import-windows, then it is stopped);
  each window reports the same figures, what the import did meanwhile, and how many matches
  came back empty (a 200 that finds nothing is not an error, but is a failure to the user).
  One more window follows the import's end. Throughout, /readyz is asked twice a second and
  each answer checked against the store's and the index's revisions on disk (ReadyWatch).
  The summary gives the 5xx answers during and after the import and the worst p99 of the
  windows in which the index did not move on (no searcher reopened) and of the others.

Every run serves a scratch copy of --home, so the import never leaves --home bigger; servers
and the importer are stopped at the end, also on error.

    python bench/load.py [--home DIR] [--duration 20] [--rate N] [--import-articles N] [--json]
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import math
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.pastes import make_paste  # noqa: E402
from bench.serving import (  # noqa: E402
    ALL_ARCHIVE,
    SMS_ARCHIVE,
    free_port,
    prepare_home,
    start,
    stop,
    wait_ready,
)
from service.config import Config  # noqa: E402
from service.kb import KnowledgeBase  # noqa: E402
from service.storage import StorageError, copy_store, peek_store, stored_article_ids  # noqa: E402

LUA_SCRIPT = ROOT / "bench" / "load.lua"
# Share of requests per kind, in percent.
MIX = {"lookup": 40, "paste": 10, "read": 35, "search": 15}
KIND_NAMES = {
    "lookup": "GET /v1/match?line= (1 line)",
    "paste": "POST /v1/match (200 lines)",
    "read": "GET /v1/{articles,issues,...}/{id}",
    "search": "GET /v1/search?q=",
}
# Which records the reads fetch, in percent of reads: whole articles most, as people do.
READ_MIX = {
    "articles": 40,
    "issues": 20,
    "symptoms": 15,
    "causes": 10,
    "workarounds": 10,
    "issue_list": 5,
}
TARGET_P99_MS = 250.0
PASTE_LINES = 200
# Distinct pastes in rotation: enough that the server's caches of lines it has seen before do
# not turn the test into replays (each paste comes back a few times a minute at most).
PASTE_POOL = 200
ARTICLE_ID = re.compile(r"Q(\d+)/[^/]+$")


@dataclass
class Phase:
    """One measured window: what wrk saw and, during an import, what the import did."""

    name: str
    wrk: dict[str, Any]
    import_activity: dict[str, Any] = field(default_factory=dict)
    server_log: list[str] = field(default_factory=list)
    other_cpu_cores: float = 0.0
    worker_restarts: int = 0

    @property
    def errors(self) -> int:
        """Non-2xx answers plus socket errors (connect, read, write, timeout)."""
        return self.wrk["non_2xx"] + sum(self.wrk["socket_errors"].values())

    def as_dict(self) -> dict[str, Any]:
        """The window's figures for the JSON summary."""
        out = {
            "name": self.name,
            "requests": self.wrk["requests"],
            "seconds": round(self.wrk["seconds"], 2),
            "requests_per_second": round(self.wrk["requests_per_second"], 1),
            "p50_ms": round(self.wrk["p50_ms"], 1),
            "p90_ms": round(self.wrk["p90_ms"], 1),
            "p99_ms": round(self.wrk["p99_ms"], 1),
            "max_ms": round(self.wrk["max_ms"], 1),
            "errors": self.errors,
            "non_2xx": self.wrk["non_2xx"],
            "socket_errors": self.wrk["socket_errors"],
            "statuses": self.wrk["statuses"],
            "sent": self.wrk["sent"],
            "by_kind": self.wrk["kinds"],
            "other_cpu_cores": self.other_cpu_cores,
            "worker_restarts": self.worker_restarts,
        }
        if self.wrk.get("odd_histogram_keys"):
            out["odd_histogram_keys"] = self.wrk["odd_histogram_keys"]
        if self.wrk["error_samples"]:
            out["error_samples"] = self.wrk["error_samples"]
        if self.server_log:
            out["server_log"] = self.server_log
        if self.import_activity:
            out["import"] = self.import_activity
        return out


# -- inputs ---------------------------------------------------------------------------------


def _sample_ids(kb: KnowledgeBase, table: str, count: int, rng: random.Random) -> list[str]:
    ids = kb.store.record_ids(table)
    return rng.sample(ids, min(count, len(ids)))


def _search_query(title: str, rng: random.Random) -> str:
    """A few words of an issue title, as someone describing the problem would type them."""
    words = re.findall(r"[A-Za-z][A-Za-z0-9.]+", re.sub(r"^SMS:\s*", "", title))
    if len(words) > 6:
        start = rng.randrange(len(words) - 5)
        words = words[start : start + rng.randint(3, 6)]
    return " ".join(words).lower()


def build_requests(home: Path, rng: random.Random) -> dict[str, list[dict[str, str]]]:
    """Requests of every kind, drawn from the store: lines and pastes from bench/pastes.py."""
    kb = KnowledgeBase(Config(kb_home=home))
    try:
        lookups = [
            {"method": "GET", "path": "/v1/match?line=" + quote(make_paste(kb, 1, rng), safe="")}
            for _ in range(300)
        ]
        pastes = [
            {"method": "POST", "path": "/v1/match", "body": make_paste(kb, PASTE_LINES, rng)}
            for _ in range(PASTE_POOL)
        ]
        reads: list[dict[str, str]] = []
        for kind, share in READ_MIX.items():
            if kind == "issue_list":
                ids = _sample_ids(kb, "articles", share * 2, rng)
                paths = [f"/v1/issues?article_id={i}" for i in ids]
            else:
                paths = [f"/v1/{kind}/{i}" for i in _sample_ids(kb, kind, share * 2, rng)]
            reads += [{"method": "GET", "path": path} for path in paths]
        titles = list(kb.store.titles("issues").values())
        searches = []
        for title in rng.sample(titles, min(200, len(titles))):
            query = _search_query(title, rng)
            if query:
                searches.append({"method": "GET", "path": "/v1/search?q=" + quote(query)})
    finally:
        kb.close()
    return {"lookup": lookups, "paste": pastes, "read": reads, "search": searches}


def _lua_string(text: str) -> str:
    # Decimal escapes for every byte outside printable ASCII: valid in Lua 5.1 and LuaJIT.
    out = []
    for byte in text.encode("utf-8"):
        char = chr(byte)
        if char in '"\\' or byte < 32 or byte > 126:
            out.append(f"\\{byte:03d}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def write_lua_data(
    path: Path, requests: dict[str, list[dict[str, str]]], mix: dict[str, int]
) -> None:
    """Write the data file load.lua reads: weights and, per kind, {method, path, body}."""
    lines = ["return {", "weights = {"]
    lines += [f"  {kind} = {weight}," for kind, weight in mix.items()]
    lines += ["},", "requests = {"]
    for kind, items in requests.items():
        lines.append(f"  {kind} = {{")
        for item in items:
            fields = ", ".join(f"{key} = {_lua_string(value)}" for key, value in item.items())
            lines.append(f"    {{{fields}}},")
        lines.append("  },")
    lines += ["},", "}"]
    path.write_text("\n".join(lines) + "\n")


def slice_archive(
    source: Path, dest: Path, count: int, skip: set[str], rng: random.Random
) -> list[str]:
    """Copy `count` articles of `source` not in `skip`, picked across it, into a new .tar.gz.

    Picked at random rather than the first ones, so the slice spans the archive's products and
    years as a real bulk load would. Returns the article ids copied.
    """
    with tarfile.open(source, "r:gz") as archive:
        members = []
        for member in archive.getmembers():
            found = ARTICLE_ID.search(member.name) if member.isfile() else None
            if found and found.group(1) not in skip:
                members.append((found.group(1), member))
        chosen = sorted(rng.sample(members, min(count, len(members))), key=lambda m: m[1].offset)
        with tarfile.open(dest, "w:gz", compresslevel=1) as out:
            for _, member in chosen:
                out.addfile(member, archive.extractfile(member))
    return [article_id for article_id, _ in chosen]


# -- running wrk ----------------------------------------------------------------------------


def wrk_argv(
    url: str, data: Path, args: argparse.Namespace, seconds: float, only: str = ""
) -> list[str]:
    """The wrk command line for one run of load.lua against `url`."""
    argv = ["wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{int(seconds)}s"]
    argv += ["--timeout", f"{args.timeout}s", "-s", str(args.script), url, "--", str(data)]
    return argv + ([only] if only else [])


def paced_script(path: Path, connections: int, rate: float) -> Path:
    """A wrk script that runs load.lua with a pause before each request, so that the
    connections send about `rate` requests a second in all (fewer when answers are slow): a
    server that is not saturated, as in service, instead of the most it can take."""
    pause_ms = max(1, round(connections * 1000 / rate))
    path.write_text(
        f"dofile({json.dumps(str(LUA_SCRIPT))})\nfunction delay()\n   return {pause_ms}\nend\n"
    )
    return path


def parse_wrk(completed: subprocess.CompletedProcess) -> dict[str, Any]:
    """The LOAD_RESULT line of load.lua's done(), as a dict; fails loudly if wrk failed."""
    for line in completed.stdout.splitlines():
        if line.startswith("LOAD_RESULT "):
            result = json.loads(line[len("LOAD_RESULT ") :])
            # Empty Lua tables encode as []; the Python side wants dicts for these.
            for key in ("statuses", "sent", "kinds", "socket_errors"):
                if not result.get(key):
                    result[key] = {}
            result.setdefault("error_samples", [])
            return result
    raise SystemExit(
        f"wrk gave no result (exit {completed.returncode}):\n{completed.stdout}\n{completed.stderr}"
    )


def merged_percentile(results: list[dict[str, Any]], q: float) -> float:
    """The q-th percentile (0 to 100), in ms, of the requests of several wrk runs taken as one:
    their recorded latencies added up, ranked as wrk ranks one run's (for one run, the same
    figure as its own); NaN when none recorded any."""
    counts: dict[int, int] = {}
    for result in results:
        for value, count in result.get("latencies_us") or []:
            counts[int(value)] = counts.get(int(value), 0) + int(count)
    total = sum(counts.values())
    if not total:
        return float("nan")
    rank = math.floor(q / 100 * total + 1)
    seen = 0
    for value in sorted(counts):
        seen += counts[value]
        if seen >= rank:
            return value / 1000
    return max(counts) / 1000


def run_wrk(
    url: str, data: Path, args: argparse.Namespace, seconds: float, only: str = ""
) -> dict[str, Any]:
    """Run wrk to the end and return its parsed result."""
    completed = subprocess.run(
        wrk_argv(url, data, args, seconds, only),
        capture_output=True,
        text=True,
        errors="replace",
        timeout=seconds + args.timeout + 60,
    )
    return parse_wrk(completed)


# -- the server's side ----------------------------------------------------------------------


def worker_count(master_pid: int, settle: float = 1.0, timeout: float = 15) -> int:
    """How many workers the gunicorn master forked: what `kb serve` chose for this machine.

    Read once the count has held for `settle` seconds: the server answers as soon as its
    first worker is up, while the others may still be forking.
    """
    children = Path(f"/proc/{master_pid}/task/{master_pid}/children")
    deadline = time.monotonic() + timeout
    count, since = -1, time.monotonic()
    while time.monotonic() < deadline:
        try:
            now = len(children.read_text().split())
        except OSError:
            return 0
        if now != count:
            count, since = now, time.monotonic()
        elif time.monotonic() - since >= settle:
            break
        time.sleep(0.1)
    return count


class LogTail:
    """Lines a server wrote to its log file since the last call: the ones worth showing."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0
        # Workers that gunicorn recycled (max_requests) in the last chunk read: a new worker
        # starts with cold caches, which shows in tail latency.
        self.restarts = 0

    @staticmethod
    def noteworthy(line: str) -> bool:
        """Access-log lines of failed requests; any other line but gunicorn's INFO chatter."""
        try:
            record = json.loads(line)
        except ValueError:
            return bool(line.strip()) and "[INFO]" not in line
        return isinstance(record, dict) and not 200 <= int(record.get("status") or 0) < 400

    def read(self, limit: int = 40) -> list[str]:
        """Noteworthy lines since the last read (at most `limit`, then a count of the rest)."""
        with open(self.path, "rb") as handle:
            handle.seek(self.offset)
            data = handle.read()
        # Up to the last full line: a line being written now is read next time, whole.
        data = data[: data.rfind(b"\n") + 1]
        self.offset += len(data)
        text = data.decode("utf-8", errors="replace")
        self.restarts = text.count("Autorestarting worker")
        lines = [line for line in text.splitlines() if self.noteworthy(line)]
        if len(lines) > limit:
            return lines[:limit] + [f"... and {len(lines) - limit} more such lines"]
        return lines


class CpuMeter:
    """CPU the rest of the machine used: all busy time less that of our own process groups.

    Other jobs on a small machine skew every figure here; this says by how much. Our groups are
    this process (and wrk), and each server and the importer, started in sessions of their own;
    exited workers count through their parents' cutime.
    """

    TICK = os.sysconf("SC_CLK_TCK")

    def __init__(self) -> None:
        self.groups: set[int] = {os.getpgid(0)}

    @staticmethod
    def _busy() -> int:
        with open("/proc/stat") as handle:
            fields = [int(x) for x in handle.readline().split()[1:]]
        # user nice system idle iowait irq softirq steal: all but idle and iowait is busy.
        return sum(fields[:8]) - fields[3] - fields[4]

    def _ours(self) -> int:
        total = 0
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue  # gone since the listing
            if int(fields[2]) in self.groups:
                total += sum(int(x) for x in fields[11:15])  # utime stime cutime cstime
        return total

    def snapshot(self) -> tuple[float, int, int]:
        """(time, busy ticks of the machine, ticks of our processes) now."""
        return time.monotonic(), self._busy(), self._ours()

    def others_since(self, before: tuple[float, int, int]) -> float:
        """Cores other processes kept busy on average since `before`."""
        now = self.snapshot()
        seconds = max(1e-6, now[0] - before[0])
        ticks = (now[1] - before[1]) - (now[2] - before[2])
        return round(max(0, ticks) / self.TICK / seconds, 2)


class StoreWatch:
    """Samples the store's article count and the index's revision while an import runs."""

    def __init__(self, home: Path, every: float = 0.5) -> None:
        self.home = home
        self.every = every
        self.samples: list[tuple[float, int, int, int]] = []
        # The import process, once started, and when it was first seen to have exited.
        self.process: subprocess.Popen | None = None
        self.exited_at: float | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def sample(self) -> tuple[float, int, int, int]:
        """(monotonic time, articles, store revision, index revision) right now."""
        peek = peek_store(self.home / "kb.sqlite3")
        try:
            state = json.loads((self.home / "index" / "state.json").read_text())
            indexed = int(state.get("revision", -1))
        except (OSError, ValueError):
            indexed = -1  # the index directory is being replaced
        return time.monotonic(), peek.articles, peek.revision, indexed

    def _run(self) -> None:
        while not self._stop.is_set():
            # A sample that meets a write lock is skipped; the next one comes half a second on.
            with contextlib.suppress(StorageError):
                self.samples.append(self.sample())
            if self.exited_at is None and self.process and self.process.poll() is not None:
                self.exited_at = time.monotonic()
            self._stop.wait(self.every)

    def start(self) -> None:
        """Start sampling in a background thread."""
        self.samples.append(self.sample())
        self._thread.start()

    def stop(self) -> None:
        """Stop sampling and take one last sample."""
        self._stop.set()
        self._thread.join()
        self.samples.append(self.sample())

    def between(self, begin: float, end: float) -> dict[str, Any]:
        """What the import did in [begin, end]: articles written, index behind or replaced."""
        inside = [s for s in self.samples if begin <= s[0] <= end]
        before = [s for s in self.samples if s[0] <= begin]
        first = before[-1] if before else (inside[0] if inside else self.samples[0])
        last = inside[-1] if inside else first
        return {
            "articles_at_start": first[1],
            "articles_at_end": last[1],
            "articles_written": last[1] - first[1],
            # Writes in the store the index did not reflect yet: articles not matchable yet.
            "index_lag_max": max((s[2] - s[3] for s in inside if s[3] > 0), default=0),
            # A rebuild starts from an empty index (revision 0) or an index directory in flux.
            "index_rebuilding_seconds": round(sum(self.every for s in inside if s[3] <= 0), 1),
            # Times the index moved on in the window: each makes every worker open a new
            # searcher, whose lookups start cold.
            "index_commits": sum(
                1 for a, b in zip([first, *inside], inside, strict=False) if b[3] != a[3]
            ),
        }

    def around(self, begin: float, end: float) -> list[tuple[float, int, int, int]]:
        """The samples from the last one before `begin` to the first one after `end`."""
        before = [s for s in self.samples if s[0] <= begin][-1:]
        inside = [s for s in self.samples if begin < s[0] < end]
        after = [s for s in self.samples if s[0] >= end][:1]
        return before + inside + after


class ReadyWatch:
    """Asks /readyz twice a second and checks each answer against the store and the index on
    disk (StoreWatch's samples taken around it): was it truthful?

    Truthful: an answer (200 or 503, never an error or no answer) whose store and index
    revisions lie between those on disk before and after it, that is not ready whenever the
    index missed more than `max_behind` writes throughout, and ready whenever it missed none
    throughout.
    """

    def __init__(self, port: int, store: StoreWatch, max_behind: int, every: float = 0.5) -> None:
        self.port = port
        self.store = store
        self.max_behind = max_behind
        self.every = every
        # (sent, answered, status, body): status 0 when no answer came
        self.answers: list[tuple[float, float, int, dict[str, Any]]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _ask(self) -> None:
        sent = time.monotonic()
        try:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
            try:
                conn.request("GET", "/readyz")
                response = conn.getresponse()
                status, raw = response.status, response.read()
            finally:
                conn.close()
            body = json.loads(raw) if status in (200, 503) else {"body": raw[:300].decode()}
        except (OSError, ValueError) as exc:
            status, body = 0, {"error": f"{type(exc).__name__}: {exc}"}
        self.answers.append((sent, time.monotonic(), status, body))

    def _run(self) -> None:
        while not self._stop.is_set():
            self._ask()
            self._stop.wait(self.every)

    def start(self) -> None:
        """Start asking in a background thread."""
        self._thread.start()

    def stop(self) -> None:
        """Stop asking."""
        self._stop.set()
        self._thread.join()

    def verdict(self, sent: float, answered: float, status: int, body: dict[str, Any]) -> str:
        """Why this answer was not truthful; empty when it was."""
        if status not in (200, 503):
            return f"answered {status or 'nothing'}"
        truth = self.store.around(sent, answered)
        if len(truth) < 2:
            return ""  # nothing on disk to compare with (the sampler met a lock)
        behind = [s[2] - s[3] for s in truth]
        checks = body.get("checks", {})
        index, store = checks.get("index", {}), checks.get("store", {})
        if "revision" in store and not truth[0][2] <= store["revision"] <= truth[-1][2]:
            return f"store revision {store['revision']}, on disk {truth[0][2]}..{truth[-1][2]}"
        if "revision" in index and not truth[0][3] <= index["revision"] <= truth[-1][3]:
            return f"index revision {index['revision']}, on disk {truth[0][3]}..{truth[-1][3]}"
        if status == 200 and min(behind) > self.max_behind:
            return f"ready while the index missed {min(behind)} writes or more"
        if status == 503 and max(behind) == 0:
            return f"not ready while the index was in step: {index.get('error')}"
        return ""

    def summary(self, since: float, import_ended: float | None) -> dict[str, Any]:
        """Counts of answers by kind, the untruthful ones with samples, and when readiness
        changed, in seconds from `since` (the import's start)."""
        untruthful = []
        changes = []
        previous = None
        for sent, answered, status, body in self.answers:
            why = self.verdict(sent, answered, status, body)
            if why:
                untruthful.append({"at_s": round(sent - since, 1), "status": status, "why": why})
            if status != previous:
                index = body.get("checks", {}).get("index", {})
                changes.append(
                    {
                        "at_s": round(sent - since, 1),
                        "status": status,
                        "behind": index.get("behind"),
                    }
                )
                previous = status
        statuses: dict[str, int] = {}
        for _, _, status, _ in self.answers:
            statuses[str(status)] = statuses.get(str(status), 0) + 1
        return {
            "answers": len(self.answers),
            "statuses": statuses,
            "untruthful": len(untruthful),
            "untruthful_samples": untruthful[:10],
            "changes": changes[:40],
            "max_behind": self.max_behind,
            "import_ended_at_s": None if import_ended is None else round(import_ended - since, 1),
        }


# -- the run --------------------------------------------------------------------------------


class LoadTest:
    """One run: servers, inputs and the measured windows, and stopping everything at the end."""

    def __init__(self, args: argparse.Namespace, work: Path) -> None:
        self.args = args
        self.work = work
        self.home = work / "served"
        self.data = work / "mix.lua"
        self.hello_data = work / "hello.lua"
        self.processes: list[subprocess.Popen] = []
        self.meter = CpuMeter()
        self.log = LogTail(work / "server.log")
        self.requests: dict[str, list[dict[str, str]]] = {}
        self.kb_url = self.hello_url = ""
        self.workers = 0

    def start_server(self, argv: list[str], log: Path | None = None) -> subprocess.Popen:
        """Start a server (or the importer) in its own process group, counted as ours."""
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        if log is None:
            process = start(argv, env)
        else:
            with open(log, "ab") as out:
                process = start(argv, env, log=out)
        self.processes.append(process)
        self.meter.groups.add(process.pid)
        return process

    def stop_all(self) -> None:
        """Stop every process started here, whatever state the run is in."""
        for process in self.processes:
            stop(process)

    def prepare(self) -> int:
        """Store with the SMS archive, a scratch copy to serve, the request files; articles."""
        args = self.args
        source = Path(args.home) if args.home else self.work / "sms"
        print(f"preparing the knowledge base in {source} ...", file=sys.stderr)
        prepare_home(source, Path(args.archive))
        # Phase 2 writes into the served home: serve a copy, so --home stays the SMS store.
        self.home.mkdir()
        articles = copy_store(source / "kb.sqlite3", self.home / "kb.sqlite3")
        shutil.copytree(source / "index", self.home / "index")
        self.requests = build_requests(self.home, random.Random(args.seed))
        write_lua_data(self.data, self.requests, MIX)
        write_lua_data(
            self.hello_data, {"hello": [{"method": "GET", "path": "/hello"}]}, {"hello": 1}
        )
        return articles

    def serve(self) -> None:
        """`kb serve` at its default worker count, and hello-world with as many workers."""
        kb_port, hello_port = free_port(), free_port()
        argv = [sys.executable, "-m", "service.cli", "--home", str(self.home), "serve"]
        argv += ["--host", "127.0.0.1", "--port", str(kb_port)]
        if self.args.workers:
            argv += ["--workers", str(self.args.workers)]
        kb = self.start_server(argv, log=self.log.path)
        wait_ready(kb_port, "/readyz", process=kb)
        self.workers = worker_count(kb.pid)
        argv = [sys.executable, "-m", "gunicorn", "--workers", str(self.workers)]
        argv += ["--log-level", "warning", "--bind", f"127.0.0.1:{hello_port}"]
        hello = self.start_server(argv + ["bench.hello_app:app"])
        wait_ready(hello_port, "/hello", process=hello)
        self.kb_url = f"http://127.0.0.1:{kb_port}"
        self.hello_url = f"http://127.0.0.1:{hello_port}"

    def measure(self, name: str, seconds: int, only: str = "", hello: bool = False) -> Phase:
        """One wrk run of the mix (or of one kind, or of hello-world), with its context."""
        print(f"{name}: {seconds}s ...", file=sys.stderr)
        before = self.meter.snapshot()
        url, data = (self.hello_url, self.hello_data) if hello else (self.kb_url, self.data)
        phase = Phase(name, run_wrk(url, data, self.args, seconds, only))
        phase.other_cpu_cores = self.meter.others_since(before)
        if not hello:
            phase.server_log = self.log.read()
            phase.worker_restarts = self.log.restarts
        return phase

    def import_windows(self) -> tuple[list[Phase], dict[str, Any]]:
        """The mix in windows from the start of a `kb import` into the served home to its end."""
        args = self.args
        archive = Path(args.import_archive)
        if not archive.exists():
            raise SystemExit(f"archive to import not found: {archive}")
        present = stored_article_ids(self.home / "kb.sqlite3")
        print(f"taking {args.import_articles} new articles from {archive} ...", file=sys.stderr)
        slice_path = self.work / "import-slice.tar.gz"
        rng = random.Random(args.seed + 1)
        chosen = slice_archive(archive, slice_path, args.import_articles, present, rng)
        argv = [sys.executable, "-m", "service.cli", "--home", str(self.home), "import"]
        argv += ["--json", "--no-progress", str(slice_path)]
        import_log = self.work / "import.log"
        watch = self.watch = StoreWatch(self.home)
        watch.start()
        # Readiness is asked from the import's start until after the window that follows it.
        max_behind = Config.from_env().ready_max_behind
        self.ready = ReadyWatch(int(self.kb_url.rsplit(":", 1)[1]), watch, max_behind)
        self.ready.start()
        windows: list[Phase] = []
        importer: subprocess.Popen | None = None
        started = time.monotonic()
        try:
            for number in range(1, args.import_windows + 1):
                name = f"import window {number}"
                print(f"{name}: {args.duration}s ...", file=sys.stderr)
                before = self.meter.snapshot()
                wrk = subprocess.Popen(
                    wrk_argv(self.kb_url, self.data, args, args.duration),
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                    errors="replace",
                )
                if importer is None:
                    # A second in, so the window also holds traffic from before the first write.
                    time.sleep(1.0)
                    started = self.import_started = time.monotonic()
                    importer = self.start_server(argv, log=import_log)
                    watch.process = importer
                stdout, stderr = wrk.communicate(timeout=args.duration + args.timeout + 60)
                completed = subprocess.CompletedProcess(wrk.args, wrk.returncode, stdout, stderr)
                window = Phase(name, parse_wrk(completed))
                window.other_cpu_cores = self.meter.others_since(before)
                window.server_log = self.log.read()
                window.worker_restarts = self.log.restarts
                window.import_activity = watch.between(before[0], time.monotonic())
                running = importer.poll() is None
                window.import_activity["import_running_at_end"] = running
                windows.append(window)
                if not running:
                    break
            stopped = importer is not None and importer.poll() is None
            if stopped:
                # Bounded: an import longer than all the windows is stopped, and the report says so.
                stop(importer)
        except BaseException:
            self.ready.stop()
            watch.stop()
            raise
        ended = watch.exited_at or time.monotonic()
        summary: dict[str, Any] = {
            "archive": archive.name,
            "articles_in_slice": len(chosen),
            "articles_before": watch.samples[0][1],
            "articles_after": watch.samples[-1][1],
            "stopped_after_last_window": stopped,
            "exit_code": importer.returncode if importer else None,
            "seconds": round(ended - started, 1),
        }
        text = import_log.read_text(errors="replace") if import_log.exists() else ""
        try:
            output = json.loads(text[text.index("{") :])
            summary["import_summary"] = {k: v for k, v in output.items() if k != "problems"}
        except ValueError:
            summary["import_output"] = text[-2000:]
        return windows, summary

    def lookups_answer(self, count: int = 100) -> dict[str, int]:
        """Send lookups one at a time: how many answer 200 and how many find a match."""
        port = int(self.kb_url.rsplit(":", 1)[1])
        answered = matched = 0
        for item in self.requests["lookup"][:count]:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            try:
                conn.request("GET", item["path"])
                response = conn.getresponse()
                body = response.read()
            finally:
                conn.close()
            if response.status == 200:
                answered += 1
                matched += bool(json.loads(body)["matches"])
        return {"sent": count, "answered_200": answered, "with_matches": matched}

    def run(self) -> dict[str, Any]:
        """Both phases, start to end; returns the report."""
        args = self.args
        articles = self.prepare()
        self.serve()
        warmup = self.measure("warm-up", args.warmup)
        before = self.lookups_answer()
        mixed = self.measure("mix", args.duration)
        hello = self.measure("hello-world", args.duration, hello=True)
        per_kind = {}
        if args.per_kind:
            for kind in MIX:
                per_kind[kind] = self.measure(f"{kind} alone", args.duration, only=kind).as_dict()
        windows, imported = self.import_windows()
        # Workers look for a new index at most once a second: give them that before checking.
        time.sleep(2)
        try:
            after_window = self.measure("after import", args.duration)
            after_window.import_activity = self.watch.between(
                time.monotonic() - args.duration, time.monotonic()
            )
        finally:
            self.ready.stop()
            self.watch.stop()
        readiness = self.ready.summary(self.import_started, self.watch.exited_at)
        after = self.lookups_answer()
        report: dict[str, Any] = {
            "articles": articles,
            "workers": self.workers,
            "cores": os.cpu_count(),
            "threads": args.threads,
            "connections": args.connections,
            "rate": args.rate,
            "duration": args.duration,
            "mix": MIX,
            "mix_requests": KIND_NAMES,
            "read_mix": READ_MIX,
            "distinct_requests": {kind: len(items) for kind, items in self.requests.items()},
            "target": {"errors": 0, "p99_ms": TARGET_P99_MS},
            "warmup": warmup.as_dict(),
            "phase1": {
                "mix": mixed.as_dict(),
                "hello_world": hello.as_dict(),
                "ratio_to_hello_world": round(
                    mixed.wrk["requests_per_second"] / hello.wrk["requests_per_second"], 3
                ),
                "lookups_before_import": before,
            },
            "phase2": {
                "overall": overall(windows),
                "windows": [w.as_dict() for w in windows],
                "import": imported,
                "lookups_after_import": after,
                "after_import": after_window.as_dict(),
                "readyz": readiness,
            },
        }
        if per_kind:
            report["per_kind"] = per_kind
        report["target_met"] = all(
            p.errors == 0 and p.wrk["p99_ms"] <= TARGET_P99_MS
            for p in [mixed, *windows, after_window]
        )
        return report


def server_errors(wrk: dict[str, Any]) -> int:
    """Answers with a 5xx status in one wrk run."""
    return sum(count for status, count in wrk["statuses"].items() if int(status) >= 500)


def overall(windows: list[Phase]) -> dict[str, Any]:
    """Phase 2 as a whole: sums, the overall rate, and the worst window's percentiles.

    wrk reports percentiles per run; they cannot be merged exactly, so the worst is given.
    """
    requests = sum(w.wrk["requests"] for w in windows)
    seconds = sum(w.wrk["seconds"] for w in windows)
    quiet = [w for w in windows if not w.import_activity.get("index_commits")]
    busy = [w for w in windows if w.import_activity.get("index_commits")]
    empty = {
        kind: sum(w.wrk["kinds"].get(kind, {}).get("empty", 0) for w in windows)
        for kind in ("lookup", "paste")
    }
    answered = {
        kind: sum(w.wrk["kinds"].get(kind, {}).get("ok", 0) for w in windows)
        for kind in ("lookup", "paste")
    }
    return {
        "name": "import, overall",
        "windows": len(windows),
        "requests": requests,
        "seconds": round(seconds, 2),
        "requests_per_second": round(requests / seconds, 1) if seconds else 0.0,
        "worst_p50_ms": round(max(w.wrk["p50_ms"] for w in windows), 1),
        "worst_p99_ms": round(max(w.wrk["p99_ms"] for w in windows), 1),
        "max_ms": round(max(w.wrk["max_ms"] for w in windows), 1),
        "errors": sum(w.errors for w in windows),
        "articles_written": sum(w.import_activity.get("articles_written", 0) for w in windows),
        "index_rebuilding_seconds": round(
            sum(w.import_activity.get("index_rebuilding_seconds", 0) for w in windows), 1
        ),
        "matches_empty": {kind: f"{empty[kind]}/{answered[kind]}" for kind in empty},
        "status_5xx": sum(server_errors(w.wrk) for w in windows),
        "socket_errors": sum(sum(w.wrk["socket_errors"].values()) for w in windows),
        # Windows in which the index did not move on: no worker opened a new searcher.
        "windows_without_index_commit": len(quiet),
        "worst_p99_ms_without_index_commit": (
            round(max(w.wrk["p99_ms"] for w in quiet), 1) if quiet else None
        ),
        "median_p99_ms_without_index_commit": (
            round(statistics.median(w.wrk["p99_ms"] for w in quiet), 1) if quiet else None
        ),
        "worst_p99_ms_with_index_commit": (
            round(max(w.wrk["p99_ms"] for w in busy), 1) if busy else None
        ),
    }


# -- output ---------------------------------------------------------------------------------


def _fmt(value: Any, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _rows(report: dict[str, Any]) -> list[dict[str, Any]]:
    phase1 = report["phase1"]
    phase2 = report["phase2"]
    return [phase1["mix"], phase1["hello_world"], *phase2["windows"], phase2["after_import"]]


def print_table(report: dict[str, Any]) -> None:
    """The report as human-readable tables, then anything that failed, with the server's log."""
    print(
        f"\nLoad on 127.0.0.1: {report['articles']} articles served, {report['workers']} gunicorn "
        f"workers ({report['cores']} cores), wrk -t{report['threads']} -c{report['connections']}"
        f" -d{report['duration']}s per window"
        + (f", paced to about {report['rate']:g} requests/s" if report.get("rate") else "")
    )
    print("mix: " + ", ".join(f"{share}% {KIND_NAMES[k]}" for k, share in report["mix"].items()))
    print("reads: " + ", ".join(f"{share}% {k}" for k, share in report["read_mix"].items()))
    header = (
        f"{'window':<17}{'req/s':>7}{'p50 ms':>8}{'p99 ms':>8}{'max ms':>8}{'errors':>7}"
        f"{'imported':>9}{'idx lag':>8}{'idx empty':>10}{'restarts':>9}{'other cpu':>10}  target"
    )
    print("\n" + header + "\n" + "-" * len(header))
    for row in _rows(report):
        activity = row.get("import", {})
        rebuilding = activity.get("index_rebuilding_seconds")
        ok = row["errors"] == 0 and row["p99_ms"] <= TARGET_P99_MS
        verdict = "" if row["name"] == "hello-world" else ("met" if ok else "MISSED")
        print(
            f"{row['name']:<17}{row['requests_per_second']:>7.1f}{row['p50_ms']:>8.1f}"
            f"{row['p99_ms']:>8.1f}{row['max_ms']:>8.1f}{row['errors']:>7}"
            f"{activity.get('articles_written', ''):>9}{activity.get('index_lag_max', ''):>8}"
            f"{'' if rebuilding is None else f'{rebuilding:.1f}s':>10}"
            f"{row.get('worker_restarts', 0) if row['name'] != 'hello-world' else '':>9}"
            f"{row['other_cpu_cores']:>10.2f}  {verdict}"
        )
    whole = report["phase2"]["overall"]
    print(
        f"{'import, overall':<17}{whole['requests_per_second']:>7.1f}{'':>8}"
        f"{whole['worst_p99_ms']:>8.1f}{whole['max_ms']:>8.1f}{whole['errors']:>7}"
        f"{whole['articles_written']:>9}{'':>8}{whole['index_rebuilding_seconds']:>9.1f}s"
        f"  (p99: worst window)"
    )
    print(
        f"\nmix / hello-world requests/s: {report['phase1']['ratio_to_hello_world']:.3f}; "
        f"target (0 errors, p99 <= {TARGET_P99_MS:.0f} ms): "
        f"{'met' if report['target_met'] else 'MISSED'}"
    )
    print(
        "imported: articles the store gained; idx lag: most stored articles not yet in the index;"
        "\nidx empty: time the index was being rebuilt from empty; restarts: workers recycled"
        " (max_requests);\nother cpu: cores kept busy by processes this run did not start"
    )
    print("\nper kind, as the server timed it (Server-Timing); empty: 200s that found nothing")
    print(f"{'window':<17}{'kind':<8}{'sent':>7}{'2xx':>7}{'app p50':>9}{'app p99':>9}{'empty':>7}")
    for row in [report["phase1"]["mix"], *report["phase2"]["windows"]]:
        for kind in MIX:
            stats = row["by_kind"].get(kind, {})
            print(
                f"{row['name']:<17}{kind:<8}{row['sent'].get(kind, 0):>7}{stats.get('ok', 0):>7}"
                f"{_fmt(stats.get('app_p50_ms')):>9}{_fmt(stats.get('app_p99_ms')):>9}"
                f"{stats.get('empty', 0):>7}"
            )
    if report.get("per_kind"):
        print(f"\neach kind alone at {report['connections']} connections:")
        for kind, row in report["per_kind"].items():
            stats = row["by_kind"].get(kind, {})
            print(
                f"  {kind:<8}{row['requests_per_second']:>7.1f} req/s  p50 {row['p50_ms']:7.1f} ms"
                f"  p99 {row['p99_ms']:7.1f} ms  app p50 {_fmt(stats.get('app_p50_ms'))} ms"
                f"  app p99 {_fmt(stats.get('app_p99_ms'))} ms  errors {row['errors']}"
                f"  restarts {row['worker_restarts']}  other cpu {row['other_cpu_cores']:.2f}"
            )
    imp = report["phase2"]["import"]
    outcome = "stopped after the last window" if imp["stopped_after_last_window"] else "finished"
    print(
        f"\nimport: `kb import` of {imp['articles_in_slice']} new articles from {imp['archive']}"
        f" into the served home; store {imp['articles_before']} -> {imp['articles_after']}"
        f" articles; {outcome} (exit {imp['exit_code']}) after {imp['seconds']} s"
    )
    if "import_summary" in imp:
        print(f"importer: {imp['import_summary']}")
    else:
        print(f"importer output: {imp.get('import_output', '')}")
    before = report["phase1"]["lookups_before_import"]
    after = report["phase2"]["lookups_after_import"]
    print(
        f"matches that came back empty during the import: lookups {whole['matches_empty']['lookup']}"
        f", pastes {whole['matches_empty']['paste']}; lookups sent one at a time found a match "
        f"{before['with_matches']}/{before['sent']} before, {after['with_matches']}/{after['sent']}"
        f" after ({after['answered_200']} answered 200)"
    )
    print_import_verdicts(report)
    for row in [report["warmup"], *_rows(report), *report.get("per_kind", {}).values()]:
        if row.get("error_samples") or row.get("server_log"):
            print(f"\n{row['name']}: statuses {row['statuses']}, sockets {row['socket_errors']}")
            for sample in row.get("error_samples", []):
                print(f"  {sample['status']} [{sample['request_id']}] {sample['body'][:400]}")
            for line in row.get("server_log", []):
                print(f"  server log: {line[:400]}")


def print_import_verdicts(report: dict[str, Any]) -> None:
    """Server errors during and after the import, tail latency away from index commits, and
    whether /readyz told the truth about the index all along."""
    whole = report["phase2"]["overall"]
    after = report["phase2"]["after_import"]
    after_5xx = sum(n for status, n in after["statuses"].items() if int(status) >= 500)
    quiet, busy = (
        whole["worst_p99_ms_without_index_commit"],
        whole["worst_p99_ms_with_index_commit"],
    )
    print(
        f"5xx answers: {whole['status_5xx']} during the import ({whole['socket_errors']} socket "
        f"errors), {after_5xx} in the {report['duration']} s after it "
        f"({sum(after['socket_errors'].values())} socket errors)"
    )
    print(
        f"p99 of the {whole['windows_without_index_commit']} windows without an index commit: "
        f"median {_fmt(whole['median_p99_ms_without_index_commit'])} ms, worst {_fmt(quiet)} ms;"
        f" worst of the others: {_fmt(busy)} ms"
    )
    ready = report["phase2"]["readyz"]
    print(
        f"/readyz asked {ready['answers']} times from the import's start to {report['duration']} s"
        f" after its end (import ended at {ready['import_ended_at_s']} s): statuses "
        f"{ready['statuses']}, untruthful {ready['untruthful']} (not ready above "
        f"{ready['max_behind']} writes behind)"
    )
    for change in ready["changes"]:
        print(f"  at {change['at_s']:>7} s: {change['status']} (index behind: {change['behind']})")
    for sample in ready["untruthful_samples"]:
        print(f"  untruthful at {sample['at_s']} s: {sample['status']} {sample['why']}")


# -- main -----------------------------------------------------------------------------------


def main() -> int:
    """Parse the options, run both phases, print the table or the JSON summary."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--home", help="KB_HOME with the SMS archive (default: a temp dir)")
    parser.add_argument("--archive", default=str(SMS_ARCHIVE), help="archive served")
    parser.add_argument("--import-archive", default=str(ALL_ARCHIVE), help="imported in phase 2")
    parser.add_argument(
        "--import-articles",
        type=int,
        default=4000,
        help="new articles imported in phase 2; more than the store holds makes a bulk load",
    )
    parser.add_argument("--import-windows", type=int, default=6, help="at most this many")
    parser.add_argument("--duration", type=int, default=20, help="seconds per window")
    parser.add_argument("--warmup", type=int, default=5, help="seconds of unmeasured traffic")
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument(
        "--rate",
        type=float,
        default=0,
        help="requests/s in all, paced (default 0: each connection sends as fast as answered)",
    )
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--timeout", type=int, default=10, help="wrk socket timeout, seconds")
    parser.add_argument("--workers", type=int, help="default: what `kb serve` picks")
    parser.add_argument("--per-kind", action="store_true", help="also run each kind alone")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", action="store_true", help="print a JSON summary")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("wrk is needed: apt-get install wrk", file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="kb-load-"))
    args.script = (
        paced_script(work / "paced.lua", args.connections, args.rate) if args.rate else LUA_SCRIPT
    )
    test = LoadTest(args, work)
    try:
        report = test.run()
    finally:
        # Servers and the importer go whatever happened, so no run leaves gunicorn behind.
        test.stop_all()
        shutil.rmtree(work, ignore_errors=True)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print_table(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
