"""The documentation keeps up with the code: the README names every command and every setting, and
every command's ``--help`` ends with an example.

The commands are read from the real parser (``kgbuild.cli.build_parser``) and the settings from the
one table that declares them (``kgbuild.settings.SETTINGS``), so a new command or setting that is
not documented fails here.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

import pytest

from kgbuild.cli import build_parser, main
from kgbuild.settings import SETTINGS

README = Path(__file__).resolve().parents[2] / "README.md"


def _commands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    actions = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    assert len(actions) == 1
    return dict(actions[0].choices)


COMMANDS = sorted(_commands())


def test_the_commands_are_the_pipeline_verbs() -> None:
    assert {"parse", "build", "validate", "query", "export", "serve"} <= set(COMMANDS)


@pytest.mark.parametrize("command", COMMANDS)
def test_readme_mentions_command(command: str) -> None:
    text = README.read_text(encoding="utf-8")
    assert re.search(rf"\bkgbuild {re.escape(command)}\b", text), f"README.md does not mention `kgbuild {command}`"


@pytest.mark.parametrize("setting", SETTINGS, ids=[s.name for s in SETTINGS])
def test_readme_mentions_setting(setting: object) -> None:
    text = README.read_text(encoding="utf-8")
    env, flag = setting.env, setting.flag  # type: ignore[attr-defined]
    missing = [name for name in (env, flag) if not re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", text)]
    assert not missing, f"README.md does not mention {' and '.join(missing)}"


@pytest.mark.parametrize("command", [None, *COMMANDS])
def test_help_has_an_example(command: str | None, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"] if command else ["--help"])
    assert exit_info.value.code == 0
    help_text = capsys.readouterr().out
    examples = [line for line in help_text.splitlines() if line.startswith("example: kgbuild")]
    assert examples, f"`kgbuild {command or ''} --help` has no 'example: kgbuild ...' line"
    if command:
        assert examples[0].startswith(f"example: kgbuild {command}")


@pytest.mark.parametrize("command", COMMANDS)
def test_help_lists_the_settings_the_command_takes(command: str) -> None:
    """Each setting a command accepts appears in its help with its flag and environment variable."""
    sub = _commands()[command]
    help_text = sub.format_help()
    for setting in SETTINGS:
        if any(setting.flag in action.option_strings for action in sub._actions):
            assert setting.env in help_text, (command, setting.env)


def test_installed_command_help() -> None:
    """The real entry point, in a subprocess: `python -m kgbuild.cli --help` exits 0 and shows an example."""
    result = subprocess.run([sys.executable, "-m", "kgbuild.cli", "--help"], capture_output=True, text=True,
                            timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert "example: kgbuild" in result.stdout


def test_readme_is_a_product_page() -> None:
    """The README stays short (issue 22: at most 15 kB); measurement notes and guides live in the files it links."""
    assert README.stat().st_size <= 15 * 1024, README.stat().st_size


DOCUMENTS = [README, *sorted((README.parent / "docs").glob("*.md")), README.parent / "benchmarks" / "README.md"]


@pytest.mark.parametrize("document", DOCUMENTS, ids=[str(d.relative_to(README.parent)) for d in DOCUMENTS])
def test_relative_links_lead_to_files(document: Path) -> None:
    links = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", document.read_text(encoding="utf-8"))
    broken = [link for link in links if "://" not in link and not (document.parent / link).exists()]
    assert not broken, f"{document.name} links to missing files: {broken}"
