"""Following a shared store: a node's index takes in the writes other nodes make.

With the store in PostgreSQL, a write made through one node reaches the others' indexes only if
they look for it. One thread per node does: every `interval` seconds it compares the store's
revision with its index's and indexes what is missing (KnowledgeBase.catch_up). Readers in
every worker of the node then see it at their next searcher refresh (at most a second later).

A node is one KB_HOME, and its gunicorn workers share it: a lock file there lets one worker's
thread follow while the others' threads wait to take over (a recycled or killed worker lets go
of the lock with its process). The thread is started lazily, in the process that serves, never
in gunicorn's master: a thread does not survive the fork that makes a worker, and a lock
taken before the fork would be shared by every worker.
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO

log = logging.getLogger(__name__)

# Held by the one process of a node whose thread follows the store.
FOLLOW_LOCK = "follow.lock"


class StoreFollower:
    """A daemon thread calling `catch_up` every `interval` seconds while this process holds
    the node's follow lock; `stop` ends it."""

    def __init__(self, catch_up: Callable[[], int], lock_dir: Path, interval: float) -> None:
        self._catch_up = catch_up
        self._lock_path = Path(lock_dir) / FOLLOW_LOCK
        self.interval = interval
        self._started_in = 0
        self._start_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock_file: IO[str] | None = None
        # Since when (monotonic) catching up has failed, for logging a failure once, not at
        # every step, while the database is away.
        self._failing_since: float | None = None
        # Writes this process's thread took in, for tests and the log.
        self.followed = 0

    @property
    def leading(self) -> bool:
        """Whether this process is the one of its node that follows the store."""
        return self._lock_file is not None

    def ensure_running(self) -> None:
        """Start the thread in this process unless it runs here already (cheap: called before
        every request, and by gunicorn once a worker is ready)."""
        if self._started_in == os.getpid():
            return
        with self._start_lock:
            if self._started_in == os.getpid():
                return
            # A lock file copied from a parent by fork is the parent's lock: this process
            # closes its copy and takes the lock for itself if it can.
            self._release()
            self._stop = threading.Event()
            self._thread = threading.Thread(target=self._run, name="kb-follower", daemon=True)
            self._started_in = os.getpid()
            self._thread.start()

    def stop(self) -> None:
        """End the thread (after the step it is in) and let go of the lock."""
        self._stop.set()
        thread = self._thread
        if thread is not None and self._started_in == os.getpid():
            thread.join(timeout=30)
        self._release()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            if not self._take_lock():
                continue
            self.step()

    def step(self) -> int:
        """One look at the store: the writes taken in (0 when none, or when it failed)."""
        try:
            taken = self._catch_up()
        except Exception:
            if self._failing_since is None:
                self._failing_since = time.monotonic()
                # The database away or the index unwritable: worth a trace once; the steps
                # that follow try again quietly, and /readyz tells the lag meanwhile.
                log.warning("following the store failed; trying again", exc_info=True)
            return 0
        if self._failing_since is not None:
            log.warning(
                "following the store works again after %.1f s",
                time.monotonic() - self._failing_since,
            )
            self._failing_since = None
        self.followed += taken
        return taken

    def _take_lock(self) -> bool:
        if self._lock_file is not None:
            return True
        self._lock_path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self._lock_path, "a")  # noqa: SIM115 - held open for the process's life
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        self._lock_file = handle
        return True

    def _release(self) -> None:
        handle, self._lock_file = self._lock_file, None
        if handle is not None:
            handle.close()  # closing the file lets go of its lock
