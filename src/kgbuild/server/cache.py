"""A cache of answers per store generation: a generation never changes, so a cached answer is never stale.

Public endpoints cache (Wikidata's query service keeps results five minutes); here the key includes the
store generation, so a rebuild makes every old entry unreachable at once. Federated answers are never
cached: the remote side may change.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Hashable
from pathlib import Path

from kgbuild.server.answers import Answer

__all__ = ["AnswerCache", "CurrentGeneration"]


class AnswerCache:
    """Least-recently-used answers, bounded in total bytes.

    An entry is kept as a tuple of its body and generation, and a key should be one too (of strings,
    numbers and such tuples): then the garbage collector stops tracking them, and a full collection
    does not walk the thousands of entries of a full cache (as Answer and Job objects, they made each
    one take 50-120 ms, a pause every request in flight waited out).
    """

    def __init__(self, max_bytes: int = 64 * 1024 * 1024, max_entry_bytes: int = 4 * 1024 * 1024) -> None:
        self.max_bytes = max_bytes
        self.max_entry_bytes = max_entry_bytes
        self._entries: OrderedDict[Hashable, tuple[bytes, str]] = OrderedDict()
        self._bytes = 0
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable) -> Answer | None:
        entry = self._entries.get(key)
        if entry is None:
            self.misses += 1
            return None
        self._entries.move_to_end(key)
        self.hits += 1
        return Answer(200, entry[0], generation=entry[1])

    def put(self, key: Hashable, answer: Answer) -> None:
        size = len(answer.body)
        if answer.status != 200 or size > self.max_entry_bytes or key in self._entries:
            return
        self._entries[key] = (answer.body, answer.generation)
        self._bytes += size
        while self._bytes > self.max_bytes and self._entries:
            _, (dropped, _generation) = self._entries.popitem(last=False)
            self._bytes -= len(dropped)


class CurrentGeneration:
    """The name in a store's ``CURRENT`` file, re-read only when the file was replaced (one stat per call)."""

    def __init__(self, store: Path) -> None:
        self.pointer = Path(store) / "CURRENT"
        self._seen: tuple[int, int] | None = None
        self._name = ""

    def __call__(self) -> str:
        try:
            status = os.stat(self.pointer)
        except FileNotFoundError:
            return ""
        stamp = (status.st_ino, status.st_mtime_ns)
        if stamp != self._seen:
            self._name = self.pointer.read_text(encoding="utf-8").strip()
            self._seen = stamp
        return self._name
