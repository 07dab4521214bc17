"""Settings, declared once: name, environment variable, default, type and help.

Every setting flows CLI flag > ``KGBUILD_*`` environment variable > default. The README's settings
table and the CLI's options are both checked against this table by the tests.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from kgbuild.errors import KgbuildError
from kgbuild.executors import check_spec

__all__ = ["Setting", "SETTINGS", "Settings", "load_settings", "bool_setting"]


def bool_setting(text: str) -> bool:
    value = text.strip().casefold()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off", ""):
        return False
    raise ValueError(f"expected true or false, got {text!r}")


def _list(text: str) -> tuple[str, ...]:
    return tuple(item for item in (part.strip() for part in text.replace(",", " ").split()) if item)


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0 or value != value or value == float("inf"):
        raise ValueError("expected a positive number")
    return value


def _positive_int(text: str) -> int:
    if not text.strip().isascii() or not text.strip().isdigit() or int(text) <= 0:
        raise ValueError("expected a positive whole number")
    return int(text)


def _store(text: str) -> Path | str:
    """A store directory, or the http(s) URL of a remote store's SPARQL query endpoint (kept as text)."""
    if not text.strip().lower().startswith(("http://", "https://")):
        return Path(text)
    from urllib.parse import urlsplit

    url = text.strip()
    parts = urlsplit(url)
    # Never echo the URL here: it may be the one carrying a password.
    if parts.username is not None or parts.password is not None:
        raise ValueError("a remote store URL must not carry credentials; set KGBUILD_STORE_USER and "
                         "KGBUILD_STORE_PASSWORD (or KGBUILD_STORE_TOKEN) in the environment instead")
    if not parts.hostname or parts.fragment:
        raise ValueError("expected a directory or an http(s) URL of a SPARQL query endpoint")
    return url


def _endpoint(text: str) -> str:
    """Empty, or an http(s) URL without credentials."""
    if not text.strip():
        return ""
    value = _store(text)
    if not isinstance(value, str):
        raise ValueError("expected an http(s) URL")
    return value


def _non_negative_int(text: str) -> int:
    if not text.strip().isascii() or not text.strip().isdigit():
        raise ValueError("expected a whole number, 0 or more")
    return int(text)


def _port(text: str) -> int:
    value = int(text) if text.strip().isascii() and text.strip().isdigit() else -1
    if not 0 <= value <= 65535:
        raise ValueError("expected a port number 0–65535")
    return value


@dataclass(frozen=True)
class Setting:
    name: str
    default: str
    convert: Callable[[str], Any]
    help: str

    @property
    def env(self) -> str:
        return "KGBUILD_" + self.name.upper()

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")


SETTINGS: tuple[Setting, ...] = (
    Setting("store", "kgstore", _store,
            "store directory (generations of an on-disk Oxigraph database), or a remote store's SPARQL query "
            "endpoint, http(s)://..."),
    Setting("graph_store", "", _endpoint,
            "Graph Store Protocol endpoint of a remote store; empty: derived from --store (.../query → .../store "
            "for Oxigraph server, .../sparql → .../sparql-graph-crud(-auth) for Virtuoso)"),
    Setting("store_retries", "5", _non_negative_int,
            "retries of a failed request to a remote store, with exponential back-off from 0.5 s"),
    Setting("base_iri", "http://127.0.0.1:8000/", str,
            "base IRI of every IRI kgbuild mints; must end in '/'; a built store keeps its own (used when this "
            "is not set; another is refused unless build --sync mints every IRI anew)"),
    Setting("executor", "local", check_spec,
            "where build parses, maps and validates: local (processes on this machine) or dask://HOST:PORT "
            "(a Dask scheduler; needs the dask extra)"),
    Setting("host", "127.0.0.1", str, "address the server binds to (loopback unless told otherwise)"),
    Setting("port", "8000", _port, "port the server listens on (0 picks a free one)"),
    Setting("include_personal_data", "false", bool_setting,
            "include contact persons' names, e-mails and phones in exports and the endpoint"),
    Setting("query_timeout", "30", _positive_float, "per-query deadline in seconds; a query past it is stopped (503)"),
    Setting("max_result_bytes", "268435456", _positive_int,
            "largest answer a query may get, in bytes; a longer one fails visibly (an error status, or an "
            "aborted response once it has begun), never cut short"),
    Setting("max_body_bytes", "1048576", _positive_int, "largest accepted request body (413 above)"),
    Setting("max_concurrent_per_client", "4", _positive_int, "queries one client may run at once (429 above)"),
    Setting("query_workers", "2", _positive_int, "query worker processes (each can be stopped at the deadline)"),
    Setting("queries_per_worker", "8", _positive_int,
            "queries each worker process runs at once, on one shared store; a worker killed at one query's "
            "deadline restarts its others elsewhere"),
    Setting("service_allowlist", "", _list,
            "endpoints SERVICE may call, space or comma separated; empty: federation off"),
    Setting("dumps_dir", "", str,
            "where the server keeps its dumps; empty: inside the store directory, or ./kgdumps for a remote store"),
    Setting("dataset_title", "kgbuild: EU-funded projects as linked open data", str, "dataset title (VoID/DCAT)"),
    Setting("dataset_publisher", "kgbuild", str, "publisher named in the dataset description"),
    Setting("dataset_license", "http://publications.europa.eu/resource/authority/licence/CC0", str,
            "licence IRI of the published data (DCAT-AP: one of the EU licence authority table)"),
)


@dataclass(frozen=True)
class Settings:
    store: Path | str  # text only for a remote store's URL (see :attr:`remote`)
    graph_store: str
    store_retries: int
    base_iri: str
    executor: str
    host: str
    port: int
    include_personal_data: bool
    query_timeout: float
    max_result_bytes: int
    max_body_bytes: int
    max_concurrent_per_client: int
    query_workers: int
    queries_per_worker: int
    service_allowlist: tuple[str, ...]
    dumps_dir: str
    dataset_title: str
    dataset_publisher: str
    dataset_license: str

    @property
    def remote(self) -> str | None:
        """The remote store's query endpoint URL, or ``None`` for the embedded store."""
        return self.store if isinstance(self.store, str) else None

    @property
    def store_dir(self) -> Path:
        """The embedded store's directory.

        :raises KgbuildError: for a remote store (the command needs an embedded one).
        """
        if isinstance(self.store, str):
            raise KgbuildError(f"this command works on an embedded store directory, not a remote store ({self.store})")
        return self.store


assert [f.name for f in fields(Settings)] == [s.name for s in SETTINGS], "Settings and SETTINGS disagree"


def load_settings(overrides: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None) -> Settings:
    """Settings from ``overrides`` (CLI flags, already typed or text), the environment, and defaults.

    :raises KgbuildError: when a value does not read, naming the setting and where it came from.

    >>> load_settings({"port": "8080"}, environ={}).port
    8080
    """
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for setting in SETTINGS:
        given = (overrides or {}).get(setting.name)
        origin, raw = ("option " + setting.flag, given) if given is not None else \
            ((setting.env, environ[setting.env]) if setting.env in environ else ("default", setting.default))
        if not isinstance(raw, str):
            values[setting.name] = raw
            continue
        try:
            values[setting.name] = setting.convert(raw)
        except ValueError as exc:
            raise KgbuildError(f"setting {setting.name} ({origin}): {exc}") from None
    if not str(values["base_iri"]).endswith("/") or not str(values["base_iri"]).startswith(("http://", "https://")):
        raise KgbuildError(f"setting base_iri: must be an http(s) IRI ending in '/': {values['base_iri']!r}")
    return Settings(**values)
