"""Rendered responses of published schedules, kept in memory (private to the API).

A published version never changes, so what a read renders from it (the week's JSON, an
agent's JSON or iCalendar file) is the same bytes until another version is published. The
keys name the published data a body was rendered from (the version's id and the week's
version numbers; for an agent, the count of published versions), so that a version
published by any process gives new keys and an entry is never served stale. A publish
through this app also drops the entries it made unreachable (``drop_after_publish``).

Authorisation is not the cache's business: the routes check the caller before they look
here, and every key names the agent whose data it holds.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass

__all__ = ["Rendered", "ResponseCache", "body_etag"]


@dataclass(frozen=True, slots=True)
class Rendered:
    """A response body and its ETag (unquoted)."""

    body: bytes
    etag: str


def body_etag(body: bytes) -> str:
    """A strong ETag for ``body``: a digest of its bytes."""
    return hashlib.sha256(body).hexdigest()[:40]


class ResponseCache:
    """A thread-safe LRU of rendered bodies, bounded in bytes (``max_bytes``; 0 keeps
    nothing). Keys are tuples whose first item is a kind (``"week"``, ``"agent"``) and,
    for ``"week"``, whose second item is the week."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[tuple[Hashable, ...], Rendered] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self._rendering: dict[tuple[Hashable, ...], threading.Lock] = {}
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._items)

    @property
    def size_bytes(self) -> int:
        return self._bytes

    def get(self, key: tuple[Hashable, ...]) -> Rendered | None:
        with self._lock:
            found = self._items.get(key)
            if found is None:
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
            return found

    def get_or_render(self, key: tuple[Hashable, ...], render: Callable[[], Rendered]) -> Rendered:
        """The entry for ``key``, else ``render()`` stored under it. Concurrent misses of
        one key render it once: the others wait for that rendering (a new version read
        by a hundred clients at once is rendered once, not a hundred times). An error of
        ``render`` reaches its caller and stores nothing."""
        found = self.get(key)
        if found is not None or self.max_bytes == 0:
            return found if found is not None else render()
        with self._lock:
            lock = self._rendering.setdefault(key, threading.Lock())
        try:
            with lock:
                with self._lock:
                    found = self._items.get(key)
                if found is None:
                    found = render()
                    self.put(key, found)
                return found
        finally:
            with self._lock:
                if self._rendering.get(key) is lock and not lock.locked():
                    del self._rendering[key]

    def put(self, key: tuple[Hashable, ...], rendered: Rendered) -> None:
        size = len(rendered.body)
        if size > self.max_bytes:
            return
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._bytes -= len(old.body)
            self._items[key] = rendered
            self._bytes += size
            while self._bytes > self.max_bytes:
                _, dropped = self._items.popitem(last=False)
                self._bytes -= len(dropped.body)

    def drop_after_publish(self, week: object) -> None:
        """Forget the week's renderings and every agent's (a new version of ``week`` is
        published: their keys will not be asked for again)."""
        with self._lock:
            for key in [k for k in self._items if k[0] == "agent" or k[:2] == ("week", week)]:
                self._bytes -= len(self._items.pop(key).body)
