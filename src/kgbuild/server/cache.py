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
    """Least-recently-used answers, bounded in total bytes."""

    def __init__(self, max_bytes: int = 64 * 1024 * 1024, max_entry_bytes: int = 4 * 1024 * 1024) -> None:
        self.max_bytes = max_bytes
        self.max_entry_bytes = max_entry_bytes
        self._entries: OrderedDict[Hashable, Answer] = OrderedDict()
        self._bytes = 0
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable) -> Answer | None:
        answer = self._entries.get(key)
        if answer is None:
            self.misses += 1
            return None
        self._entries.move_to_end(key)
        self.hits += 1
        return answer

    def put(self, key: Hashable, answer: Answer) -> None:
        size = len(answer.body)
        if answer.status != 200 or size > self.max_entry_bytes or key in self._entries:
            return
        self._entries[key] = answer
        self._bytes += size
        while self._bytes > self.max_bytes and self._entries:
            _, dropped = self._entries.popitem(last=False)
            self._bytes -= len(dropped.body)


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
