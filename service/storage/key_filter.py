"""Bit filters of the keys an index holds: which line keys (or symptom terms) it may have.

A pasted line is looked up by thousands of keys (its whole text, its runs of words, its slots)
and few of them are in any article: 2% of a 200-line paste's keys on the 60,000-article
archive, fewer for prose. Asking SQLite costs about 6 microseconds a key, found or not; two
bits per key in a file mapped into memory answer "certainly not" for nearly all of the rest
in a fraction of that, and only the keys that pass are looked up. The words of a paste's lines
are filtered the same way before the symptom index is asked for them (service/index.py).

A filter never says no to a key its index holds: bits are set before what needs them is
committed, and are never cleared (a key whose rows went only makes a lookup that finds
nothing). Its file sits beside the index files of its generation and is dropped with them. It
is sized for the keys it holds; once it holds more than it was sized for, it is made again,
larger, from the index, and the file replaced. A reader notices the new file at a later
lookup; the old file is set to all ones first, so that a reader still looking at it lets every
key through rather than missing one.
"""

from __future__ import annotations

import itertools
import mmap
import os
import sqlite3
import struct
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path

MAGIC = b"KBLF"
# magic, format, log2 of the bits, keys added since the filter was made
HEADER = struct.Struct("<4sIIQ")
FORMAT = 1
# Bits per key a filter is made with: two bits each, about 0.4% of absent keys pass.
BITS_PER_KEY = 16
# The smallest filter, in log2 of its bits (128 KiB).
MIN_BITS_LOG2 = 20
# The largest filter (512 MiB): room for 268 million keys.
MAX_BITS_LOG2 = 32
# How often `may_hold` looks whether its file was replaced.
RECHECK_SECONDS = 1.0


def filter_path(lines_path: Path) -> Path:
    """The filter of the line index file `lines_path`."""
    return lines_path.with_suffix(".filter")


def _bits_log2(keys: int) -> int:
    wanted = max(1, keys * BITS_PER_KEY)
    return min(MAX_BITS_LOG2, max(MIN_BITS_LOG2, (wanted - 1).bit_length()))


def _set_bits(view: mmap.mmap | bytearray, keys: Iterable[int], bits_log2: int) -> int:
    """Set each key's two bits; returns how many keys were given."""
    mask = (1 << bits_log2) - 1
    base = HEADER.size
    count = 0
    for key in keys:
        # A key is a uniform 64-bit hash: its low and high halves are two independent bits.
        first = key & mask
        second = (key >> 32) & mask
        view[base + (first >> 3)] |= 1 << (first & 7)
        view[base + (second >> 3)] |= 1 << (second & 7)
        count += 1
    return count


def write(path: Path, keys: Iterable[int], expected: int) -> None:
    """Make the filter at `path` for `keys` (about `expected` of them), replacing any there."""
    bits_log2 = _bits_log2(expected)
    body = bytearray(HEADER.size + (1 << bits_log2) // 8)
    count = _set_bits(body, keys, bits_log2)
    HEADER.pack_into(body, 0, MAGIC, FORMAT, bits_log2, count)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(body)
    _replace(tmp, path)


def _replace(new: Path, path: Path) -> None:
    """Put `new` in the place of the filter at `path`, leaving the old one letting all through
    for readers that still have it open."""
    old = _open(path, writable=True)
    os.replace(new, path)
    if old is not None:
        old[HEADER.size :] = b"\xff" * (len(old) - HEADER.size)
        old.close()


def _open(path: Path, writable: bool = False) -> mmap.mmap | None:
    """The filter at `path` mapped into memory; None when there is none or it is not one."""
    try:
        with open(path, "r+b" if writable else "rb") as handle:
            view = mmap.mmap(
                handle.fileno(), 0, access=mmap.ACCESS_WRITE if writable else mmap.ACCESS_READ
            )
    except (OSError, ValueError):
        return None
    if len(view) < HEADER.size:
        view.close()
        return None
    magic, version, bits_log2, _ = HEADER.unpack_from(view, 0)
    if magic != MAGIC or version != FORMAT or len(view) != HEADER.size + (1 << bits_log2) // 8:
        view.close()
        return None
    return view


def add(path: Path, keys: list[int], remake: Callable[[], tuple[int, Iterable[int]]]) -> None:
    """Let `keys` through the filter at `path`, before what needs them is committed.

    A filter that is missing, or would hold more keys than it was sized for, is made again
    from `remake()`: about how many keys are held already, and all of them.
    """
    view = _open(path, writable=True)
    if view is not None:
        _, _, bits_log2, count = HEADER.unpack_from(view, 0)
        # The largest filter takes more keys than it was sized for rather than being made
        # again, at that size, at every write.
        roomy = (count + len(keys)) * BITS_PER_KEY <= 1 << bits_log2
        if roomy or bits_log2 >= MAX_BITS_LOG2:
            _set_bits(view, keys, bits_log2)
            HEADER.pack_into(view, 0, MAGIC, FORMAT, bits_log2, count + len(keys))
            view.flush()
            view.close()
            return
        view.close()
    held, all_keys = remake()
    # Room for as many again: an import into a served store grows it batch by batch.
    write(path, itertools.chain(all_keys, keys), 2 * (held + len(keys)))


def line_index_keys(lines: sqlite3.Connection) -> tuple[int, Iterable[int]]:
    """`remake` for the filter of a line index (`lines`, its connection)."""
    # Each article's keys are noted beside its rows: their sum is had without a pass over
    # the rows (an article's key said twice counts twice, so the filter comes out larger).
    held = lines.execute("SELECT coalesce(sum(length(keys)), 0) / 8 FROM indexed").fetchone()[0]
    return held, (row[0] for row in lines.execute("SELECT key FROM lines"))


def _passes(view: mmap.mmap, mask: int, key: int) -> bool:
    """Whether both of `key`'s bits are set in the filter `view` (`mask`: its bits less one)."""
    first = key & mask
    if not view[HEADER.size + (first >> 3)] >> (first & 7) & 1:
        return False
    second = (key >> 32) & mask
    return bool(view[HEADER.size + (second >> 3)] >> (second & 7) & 1)


class FilterReader:
    """The filters of the line index files a process reads, each mapped once.

    A filter replaced by a larger one is mapped again when a lookup finds the file changed.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # path -> (the file's inode, its mapping, log2 of its bits)
        self._open: dict[Path, tuple[int, mmap.mmap, int]] = {}
        # path -> when `may_hold` last looked at the file, and what it found
        self._checked: dict[Path, tuple[float, tuple[mmap.mmap, int] | None]] = {}

    def _current(self, path: Path) -> tuple[mmap.mmap, int] | None:
        try:
            # A file replaced has another inode: the one mapped here stays in use (and so
            # its number taken) for as long as it is mapped.
            identity: int | None = os.stat(path).st_ino
        except OSError:
            identity = None
        held = self._open.get(path)
        if held is not None and held[0] == identity:
            return held[1], held[2]
        with self._lock:
            if held is not None:
                self._open.pop(path, None)
                # Not closed: another thread may be reading it; it goes when unreferenced.
            if identity is None:
                return None
            view = _open(path)
            if view is None:
                return None
            bits_log2 = HEADER.unpack_from(view, 0)[2]
            self._open[path] = (identity, view, bits_log2)
            return view, bits_log2

    def _recent(self, path: Path) -> tuple[mmap.mmap, int] | None:
        """`_current`, looking at the file again at most once a second: safe because a reader
        of a replaced filter lets every key through, and a lookup then costs no system call."""
        now = time.monotonic()
        checked = self._checked.get(path)
        if checked is None or now - checked[0] >= RECHECK_SECONDS:
            self._checked[path] = checked = (now, self._current(path))
        return checked[1]

    def may_hold(self, path: Path, key: int) -> bool:
        """Whether the index whose filter is `path` may hold `key`; True without a filter."""
        current = self._recent(path)
        if current is None:
            return True
        view, bits_log2 = current
        return _passes(view, (1 << bits_log2) - 1, key)

    def maybe_held(self, path: Path, keys: Iterable[int]) -> list[int]:
        """Of `keys`, those the line index at whose filter is `path` may hold, each once;
        all of them when there is no filter."""
        current = self._recent(path)
        if current is None:
            return list(dict.fromkeys(keys))
        view, bits_log2 = current
        mask = (1 << bits_log2) - 1
        return [key for key in dict.fromkeys(keys) if _passes(view, mask, key)]

    def forget(self, keep: Iterable[Path]) -> None:
        """Stop mapping filters other than those of `keep` (generations no longer read)."""
        keep = set(keep)
        with self._lock:
            for path in [p for p in self._open if p not in keep]:
                self._open.pop(path, None)
            for path in [p for p in self._checked if p not in keep]:
                self._checked.pop(path, None)
