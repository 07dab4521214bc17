"""The ``kgbuild`` command: one verb per pipeline stage, over the same functions the library exports.

Data goes to stdout, messages to stderr. A user's mistake (a bad file, a bad query, a bad setting)
is one line on stderr and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from kgbuild import __version__
from kgbuild.errors import KgbuildError

__all__ = ["main", "build_parser"]

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def _cmd_parse(args: argparse.Namespace) -> int:
    from kgbuild.parsers import parse_file

    records: list[tuple[Path, dict[str, object]]] = []
    failed = 0
    for path in args.files:
        try:
            result = parse_file(path)
        except KgbuildError as exc:
            _say(f"error: {exc}")
            failed += 1
            continue
        for warning in result.warnings:
            _say(f"warning: {path}: {warning}")
        records.extend((path, r.to_json()) for r in result.records)
    if args.json:
        json.dump([record for _, record in records], sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
    else:
        for path, record in records:
            print(f"{path}: {record['source_format']}: {record.get('title', '(no title)')}")
            for key, value in record.items():
                if key not in ("source_format", "title"):
                    print(f"    {key}: {json.dumps(value, ensure_ascii=False)}")
    return EXIT_FAILED if failed else EXIT_OK


def _say(message: str) -> None:
    print(message, file=sys.stderr)


class _Formatter(argparse.RawDescriptionHelpFormatter):
    pass


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kgbuild",
        description="Turn public-funding project descriptions into linked open data.",
        epilog="example: kgbuild parse --json data/sources/*.txt",
        formatter_class=_Formatter,
    )
    parser.add_argument("--version", action="version", version=f"kgbuild {__version__}")
    verbs = parser.add_subparsers(dest="verb", metavar="COMMAND", required=True)

    def verb(name: str, help_text: str, example: str, run: Callable[[argparse.Namespace], int]
             ) -> argparse.ArgumentParser:
        sub = verbs.add_parser(name, help=help_text, description=help_text, epilog=f"example: {example}",
                               formatter_class=_Formatter)
        sub.set_defaults(run=run)
        return sub

    parse = verb("parse", "Read source texts and print what was read (one record per project).",
                 "kgbuild parse --json data/sources/*.txt", _cmd_parse)
    parse.add_argument("files", nargs="+", type=Path, metavar="FILE", help="source text files")
    parse.add_argument("--json", action="store_true", help="print a JSON array of records")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        result: int = args.run(args)
        return result
    except KgbuildError as exc:
        _say(f"error: {exc}")
        return EXIT_FAILED
    except KeyboardInterrupt:
        _say("interrupted")
        return 130
    except BrokenPipeError:
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
