"""Which store a command or the server works on: the embedded one or a remote one, chosen once.

Input: the settings (:func:`open_store`) or what a library caller hands over (:func:`store_at`). Output: a
:class:`kgbuild.store.GraphStore`, an :class:`~kgbuild.embedded_store.EmbeddedStore` or a
:class:`~kgbuild.remote_store.RemoteStore`. This is the one place that asks which kind: it stands above both
implementations so that neither they nor the store interface import each other in a circle.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from kgbuild.embedded_store import EmbeddedStore
from kgbuild.store import GraphStore

if TYPE_CHECKING:
    from kgbuild.remote import Remote
    from kgbuild.settings import Settings

__all__ = ["open_store", "store_at"]


def open_store(settings: Settings, timeout: float = 120.0) -> GraphStore:
    """The store the settings name: the one place that chooses between the embedded and the remote kind.

    :param timeout: a remote store's request timeout in seconds (the embedded store has none).
    :raises KgbuildError: when the remote store's settings do not read (credentials, endpoints).
    """
    if settings.remote:
        from kgbuild.remote import open_remote
        from kgbuild.remote_store import RemoteStore

        return RemoteStore(open_remote(settings, timeout=timeout), owned=True)
    return EmbeddedStore(settings.store_dir)


def store_at(location: str | os.PathLike[str] | Remote | GraphStore) -> GraphStore:
    """A library caller's store: a store directory, a :class:`~kgbuild.remote.Remote` client (left open
    for its owner to close), or a :class:`GraphStore` as it is."""
    if isinstance(location, str | os.PathLike):
        return EmbeddedStore(location)
    if isinstance(location, GraphStore):  # (before: the embedded store does not load the HTTP client)
        return location
    from kgbuild.remote_store import RemoteStore

    return RemoteStore(location, owned=False)
