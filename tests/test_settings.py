"""Settings: CLI flag > ``KGBUILD_*`` environment variable > default, and bad values named clearly."""

from __future__ import annotations

from pathlib import Path

import pytest

from kgbuild.errors import KgbuildError
from kgbuild.settings import SETTINGS, load_settings


def test_defaults() -> None:
    settings = load_settings({}, environ={})
    assert settings.store == Path("kgstore")
    assert settings.base_iri == "http://127.0.0.1:8000/"
    assert (settings.host, settings.port) == ("127.0.0.1", 8000)
    assert settings.include_personal_data is False
    assert settings.query_timeout == 30.0
    assert settings.service_allowlist == ()


# name, environment value, flag value, and what each reads as
PRECEDENCE = [
    ("port", "9000", "9100", 9000, 9100),
    ("store", "env-store", "flag-store", Path("env-store"), Path("flag-store")),
    ("base_iri", "https://env.example/", "https://flag.example/kg/", "https://env.example/", "https://flag.example/kg/"),
    ("include_personal_data", "true", "false", True, False),
    ("store", "http://127.0.0.1:7878/query", "kgstore-2", "http://127.0.0.1:7878/query", Path("kgstore-2")),
    ("graph_store", "http://127.0.0.1:7878/store", "https://a.example/ds/data", "http://127.0.0.1:7878/store",
     "https://a.example/ds/data"),
    ("query_timeout", "2.5", "7", 2.5, 7.0),
    ("max_result_bytes", "1000", "2000", 1000, 2000),
    ("service_allowlist", "https://a.example/sparql, https://b.example/sparql", "https://c.example/sparql",
     ("https://a.example/sparql", "https://b.example/sparql"), ("https://c.example/sparql",)),
]


@pytest.mark.parametrize(("name", "env", "flag", "from_env", "from_flag"), PRECEDENCE, ids=[p[0] for p in PRECEDENCE])
def test_flag_over_environment_over_default(name: str, env: str, flag: str, from_env: object,
                                            from_flag: object) -> None:
    variable = "KGBUILD_" + name.upper()
    default = getattr(load_settings({}, environ={}), name)
    assert getattr(load_settings({}, environ={variable: env}), name) == from_env != default
    assert getattr(load_settings({name: flag}, environ={variable: env}), name) == from_flag
    assert getattr(load_settings({name: flag}, environ={}), name) == from_flag
    # A flag not given (None) falls through to the environment.
    assert getattr(load_settings({name: None}, environ={variable: env}), name) == from_env


def test_other_environment_variables_are_ignored() -> None:
    assert load_settings({}, environ={"PORT": "1", "KGBUILD_PORTS": "2"}).port == 8000


BAD = [
    ("port", "99999"),
    ("port", "-1"),
    ("port", "80a"),
    ("query_timeout", "nan"),
    ("query_timeout", "-1"),
    ("query_timeout", "0"),
    ("query_timeout", "inf"),
    ("max_result_bytes", "0"),
    ("max_result_bytes", "1_000"),
    ("max_result_bytes", "١٠"),  # Arabic-Indic digits: int() would read them
    ("base_iri", "http://example.org"),
    ("base_iri", "ftp://example.org/"),
    ("include_personal_data", "maybe"),
    ("store", "http://user:secret@127.0.0.1:7878/query"),
    ("graph_store", "ftp://127.0.0.1/store"),
    ("graph_store", "https://user:secret@127.0.0.1/store"),
    ("store_retries", "-1"),
]


@pytest.mark.parametrize(("name", "value"), BAD, ids=[f"{n}={v}" for n, v in BAD])
def test_a_bad_value_names_the_setting(name: str, value: str) -> None:
    with pytest.raises(KgbuildError, match=f"setting {name}"):
        load_settings({name: value}, environ={})
    variable = "KGBUILD_" + name.upper()
    with pytest.raises(KgbuildError, match=f"setting {name}") as raised:
        load_settings({}, environ={variable: value})
    if name != "base_iri":  # (checked after reading, whatever its origin)
        assert variable in str(raised.value)  # and where the value came from


def test_a_credential_in_a_store_url_is_refused_without_being_echoed() -> None:
    with pytest.raises(KgbuildError) as raised:
        load_settings({"store": "http://admin:s3cret@127.0.0.1:7878/query"}, environ={})
    assert "s3cret" not in str(raised.value) and "KGBUILD_STORE_PASSWORD" in str(raised.value)


def test_every_setting_is_declared_once_with_help() -> None:
    names = [s.name for s in SETTINGS]
    assert len(names) == len(set(names))
    for setting in SETTINGS:
        assert setting.env == "KGBUILD_" + setting.name.upper()
        assert setting.flag == "--" + setting.name.replace("_", "-")
        assert setting.help
    load_settings({}, environ={})  # every default reads
