"""The ``kgbuild`` command: one verb per pipeline stage, over the same functions the library exports.

Data goes to stdout, messages to stderr. A user's mistake (a bad file, a bad query, a bad setting)
is one line on stderr and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import argparse
import copy
import difflib
import json
import os
import re
import sys
import textwrap
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

from kgbuild import __version__
from kgbuild.errors import KgbuildError
from kgbuild.settings import SETTINGS, Settings, bool_setting, load_settings

__all__ = ["main", "build_parser"]

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def _cmd_parse(args: argparse.Namespace) -> int:
    from kgbuild.parsers import parse_file
    from kgbuild.sources import source_files

    records: list[tuple[Path, dict[str, object]]] = []
    failed = 0
    for path in [file for given in args.files for file in (source_files([given]) if given.is_dir() else [given])]:
        try:
            result = parse_file(path)
        except KgbuildError as exc:
            _say(f"error: {exc}")
            failed += 1
            continue
        for warning in result.warnings:
            _say(f"warning: {path}: {warning}")
        for r in result.records:
            record = r.to_json()
            if args.evidence:
                record["evidence"] = [e.to_json() for e in r.evidence]
            records.append((path, record))
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


def _settings(args: argparse.Namespace) -> Settings:
    overrides = {s.name: getattr(args, s.name) for s in SETTINGS if getattr(args, s.name, None) is not None}
    return load_settings(overrides)


def _base_given(args: argparse.Namespace) -> bool:
    """Whether the user chose the base IRI (its flag or KGBUILD_BASE_IRI) rather than left the default."""
    return getattr(args, "base_iri", None) is not None or "KGBUILD_BASE_IRI" in os.environ


def _store_iris(settings: Settings, store: Any, given: bool) -> Any:
    """The IRIs to work with: the store's own base unless one was given (a build then checks that they agree).

    The base belongs to the store: ``kgbuild build`` on a store built with ``--base-iri X`` goes on under X.
    """
    from kgbuild.iris import Iris
    from kgbuild.plan import store_bases

    bases = [] if given else store_bases(store)
    return Iris(bases[0] if len(bases) == 1 else settings.base_iri)


def _progress_bar(total_sources: int) -> tuple[Callable[[str, int], None] | None, Callable[[], None]]:
    """A rich progress display of the build stages when there are many files and a terminal to show it."""
    if total_sources < 20 or not sys.stderr.isatty():
        return None, lambda: None
    from rich.progress import Progress

    progress = Progress(transient=True, console=None)
    progress.start()
    task: list[Any] = []

    def advance(stage: str, total: int) -> None:
        if task:
            progress.update(task[0], completed=progress.tasks[0].total)
            progress.remove_task(task.pop())
        task.append(progress.add_task(stage, total=max(total, 1)))

    return advance, progress.stop


def _cmd_build(args: argparse.Namespace) -> int:
    from kgbuild.sources import default_sources, source_files

    sources = source_files(args.sources) if args.sources else default_sources()
    if not sources:
        raise KgbuildError("no source files given or found")
    return _run_build(_settings(args), sources, sync=args.sync, dry_run=args.dry_run, base_given=_base_given(args))


class _Locator:
    """Where in its source a finding's value was read, as ", line L, column C" for a message; the sources
    are read again for it (a finding is rare, and a build keeps no parse results)."""

    def __init__(self, sources: Sequence[Path]) -> None:
        self._paths = {path.name: path for path in sources}
        self._records: dict[str, Any] = {}

    def __call__(self, finding: Any) -> str:
        from kgbuild.locate import locate
        from kgbuild.parsers import parse_file

        path = self._paths.get(finding.source)
        if path is None:
            return ""
        if finding.source not in self._records:
            try:
                self._records[finding.source] = parse_file(path).records
            except KgbuildError:
                self._records[finding.source] = ()
        evidence = locate(self._records[finding.source], finding.path, finding.value, finding.focus_node)
        if evidence is None:
            return ""
        origin = evidence.origin
        if origin is None:
            return f", line {evidence.line}, column {evidence.column}"
        if origin.kind == "pdf":
            return f", page {origin.start}"
        if origin.kind == "docx":
            return f", paragraph {origin.start}"
        from kgbuild.inputs.html import page_position

        line, column = page_position(path.read_bytes(), str(path), origin.start)
        return f", line {line}, column {column}"


def _cmd_remove(args: argparse.Namespace) -> int:
    return _run_build(_settings(args), [], remove=[str(name) for name in args.names], dry_run=args.dry_run,
                      base_given=_base_given(args))


def _run_build(settings: Settings, sources: list[Path], sync: bool = False, remove: Sequence[str] = (),
               dry_run: bool = False, base_given: bool = True) -> int:
    """Run :func:`kgbuild.pipeline.build` on the store the settings name, and say what it did (or would do)."""
    from kgbuild.pipeline import build
    from kgbuild.stores import open_store

    progress, stop = _progress_bar(len(sources))
    store = open_store(settings)
    try:
        iris = _store_iris(settings, store, base_given)
        report = build(sources, store, iris, progress=progress,
                       include_personal=settings.include_personal_data, executor=settings.executor,
                       sync=sync, remove=remove, dry_run=dry_run)
    finally:
        stop()
        store.close()
    for warning in report.warnings:
        _say(f"warning: {warning}")
    where = _Locator(sources)
    for finding in report.validation.findings:
        _say(f"{finding.severity.value.lower()}: {finding.source}{where(finding)}: {finding.focus_node} "
             f"{finding.path}: {finding.message}")
    for failure in report.failures:
        kept = " (the previously published version stays)" if failure.kept_previous else ""
        _say(f"error: {failure.source}: {failure.problem}{kept}")
    why = " (not among the sources given to --sync)" if sync else ""
    if report.earlier_bases and not report.every_source_failed:
        _say(f"{'would mint' if dry_run else 'minted'} every IRI anew under {iris.base} (the store was built "
             f"with {' and '.join(report.earlier_bases)}; nothing of that is kept)")
    place = store.where(report.generation)
    if dry_run:
        added = set(report.added)
        for name in report.replaced:
            _say(f"would {'add' if name in added else 'replace'} {name}")
        for name in report.removed:
            _say(f"would remove {name}{why}")
    else:
        for name in report.removed:
            _say(f"removed {name}{why}")
    if report.every_source_failed:
        _say(f"nothing built: every source given failed; {place} is unchanged")
    elif dry_run and not sources:
        _say(f"dry run on {place}: {len(report.removed)} source(s) would be removed; nothing written")
    elif dry_run:
        _say(f"dry run on {place}: {len(report.replaced)} source(s) would be loaded ({len(report.added)} new), "
             f"{len(report.unchanged)} unchanged, {len(report.removed)} removed, {len(report.failures)} failed; "
             "nothing written")
    elif not sources:
        _say(f"removed {len(report.removed)} source(s) from {place}")
    else:
        _say(f"built {place}: {len(report.replaced)} source(s) loaded ({len(report.added)} new), "
             f"{len(report.unchanged)} unchanged, {len(report.removed)} removed, {len(report.failures)} failed")
    return EXIT_OK if report.ok and not report.every_source_failed else EXIT_FAILED


def _cmd_validate(args: argparse.Namespace) -> int:
    from kgbuild.iris import Iris
    from kgbuild.prepare import map_sources, static_graphs
    from kgbuild.sources import read_sources, source_files
    from kgbuild.validate_stage import validate_given, validate_store

    settings = _settings(args)
    iris = Iris(settings.base_iri) if args.sources else _store_iris(settings, settings.store_dir, _base_given(args))
    if args.sources:
        paths = source_files(args.sources)
        parsed, failures = read_sources(paths)
        for failure in failures:
            _say(f"error: {failure.source}: {failure.problem}")
        report = validate_given(map_sources(parsed, iris), static_graphs(iris)[iris.reference_graph].quads, iris)
        where = _Locator(paths)
    else:
        failures = []
        report = validate_store(settings.store_dir, iris)
        where = _Locator([])
    if args.json:
        print(report.to_json())
    else:
        for finding in report.findings:
            print(f"{finding.severity.value}: {finding.source}{where(finding)}: {finding.focus_node} "
                  f"{finding.path or '-'}: {finding.message}" + (f" (value: {finding.value})" if finding.value else ""))
        print(f"{len(report.violations)} violation(s), {len(report.warnings)} warning(s)")
    return EXIT_FAILED if failures or not report.conforms else EXIT_OK


def _cmd_query(args: argparse.Namespace) -> int:
    """Check the query, run it on the store the settings name, write the results to stdout."""
    from kgbuild.query import serialise_result
    from kgbuild.sparql import check_query
    from kgbuild.stores import open_store

    settings = _settings(args)
    if args.file:
        try:
            text = args.file.read_text(encoding="utf-8")
        except OSError as exc:
            raise KgbuildError(f"{args.file}: {exc.strerror or exc}") from None
    elif args.query:
        text = args.query
    else:
        raise KgbuildError("give a query, or --file FILE")
    info = check_query(text, settings.service_allowlist)
    output = sys.stdout.buffer
    with open_store(settings, timeout=settings.query_timeout) as store:
        store.answer(text, info, lambda result: serialise_result(result, output, args.format), settings.query_timeout,
                     settings.include_personal_data)
    output.flush()
    return EXIT_OK


def _cmd_export(args: argparse.Namespace) -> int:
    import tempfile

    from kgbuild.stores import open_store

    settings = _settings(args)
    with open_store(settings) as store:
        iris = _store_iris(settings, store, _base_given(args))
        with store.snapshot(iris, settings.include_personal_data, Path(tempfile.gettempdir())) as graphs:
            return _export(args, settings, graphs, iris, store.keeps_change_log)


def _export(args: argparse.Namespace, settings: Settings, store: Any, iris: Any, change_feed: bool) -> int:
    from kgbuild.export import write_dumps, write_export

    if args.all:
        written = write_dumps(store, iris, args.all, settings.dataset_title, settings.dataset_publisher,
                              settings.dataset_license, settings.include_personal_data, change_feed=change_feed)
        for path, digest in written.values():
            _say(f"wrote {path} (sha256 {digest})")
        return EXIT_OK
    write_export(store, iris, args.format, args.out, settings.include_personal_data)
    return EXIT_OK


def _cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from kgbuild.iris import Iris
    from kgbuild.server.app import create_app
    from kgbuild.stores import open_store

    settings = _settings(args)
    with open_store(settings, timeout=30.0) as store:
        store.check_serving(Iris(settings.base_iri), settings.include_personal_data)
        if store.takes_bundled_corpus():
            # Only then: the build stack (rdflib, pyshacl) takes a second to import.
            from kgbuild.pipeline import ensure_built

            report = ensure_built(store, Iris(settings.base_iri))
            if report is not None:
                _say(f"built the bundled corpus into {settings.store} ({len(report.replaced)} sources)")
    if settings.host not in ("127.0.0.1", "localhost", "::1"):
        _say(f"warning: listening on {settings.host}, not only on this machine")
    # Messages, the access log included, go to stderr: stdout is for data.
    log_config = copy.deepcopy(uvicorn.config.LOGGING_CONFIG)
    log_config["handlers"]["access"]["stream"] = "ext://sys.stderr"
    log_config["formatters"]["access"]["()"] = "kgbuild.server.access_log.AccessFormatter"
    config = uvicorn.Config(create_app(settings), host=settings.host, port=settings.port, log_level="info",
                            log_config=log_config, server_header=False, proxy_headers=False,
                            timeout_graceful_shutdown=5)
    uvicorn.Server(config).run()
    return EXIT_OK


def _cmd_fetch(args: argparse.Namespace) -> int:
    from kgbuild.fetch import USER_AGENT, FetchPolicy, FetchResult, fetch, read_url_list

    urls = list(read_url_list(args.list, args.urls))
    if not urls:
        raise KgbuildError("give URLs, or --list FILE")
    agent = USER_AGENT[:-1] + f"; {args.contact})" if args.contact else USER_AGENT
    policy = FetchPolicy(delay=args.delay, timeout=args.timeout, max_bytes=args.max_bytes, retries=args.retries,
                         max_redirects=args.max_redirects, allow_private=args.allow_private, user_agent=agent)

    def report(result: FetchResult) -> None:
        if result.path is None:
            _say(f"error: {result.url}: {result.problem}")
        else:
            _say(f"{result.state}: {result.url} -> {result.path}")
            print(result.path, flush=True)

    results = fetch(urls, args.into, policy, report)
    failed = sum(result.path is None for result in results)
    states = ("new", "changed", "unchanged", "not modified")
    counts = {state: sum(r.state == state for r in results) for state in states}
    _say(f"fetched {len(results) - failed} of {len(results)} URL(s) into {args.into}: "
         + ", ".join(f"{n} {state}" for state, n in counts.items()) + f", {failed} failed")
    return EXIT_FAILED if failed else EXIT_OK


def _say(message: str) -> None:
    print(message, file=sys.stderr)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds, got {text!r}") from None
    if not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"expected 0 or more seconds, got {text!r}")
    return value


class _Parser(argparse.ArgumentParser):
    """argparse's parser, which also names the nearest choice to one mistyped ("did you mean 'build'?")."""

    def error(self, message: str) -> NoReturn:
        wrong = re.search(r"invalid choice: '([^']*)' \(choose from (.*)\)", message)
        if wrong:
            near = difflib.get_close_matches(wrong[1], re.findall(r"'([^']*)'", wrong[2]), n=1)
            message += f"; did you mean {near[0]!r}?" if near else ""
        super().error(message)


class _Formatter(argparse.RawDescriptionHelpFormatter):
    pass


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="kgbuild",
        description="Turn public-funding project descriptions into linked open data.",
        epilog="example: kgbuild parse --json data/sources/*.txt",
        formatter_class=_Formatter,
    )
    parser.add_argument("--version", action="version", version=f"kgbuild {__version__}")
    verbs = parser.add_subparsers(dest="verb", metavar="COMMAND", required=True)

    def verb(name: str, help_text: str, example: str, run: Callable[[argparse.Namespace], int], details: str = ""
             ) -> argparse.ArgumentParser:
        # The command list shows help_text; the command's own help adds the details (wrapped here: the
        # formatter keeps the description's lines as they are).
        description = help_text + ("\n\n" + textwrap.fill(details, 100) if details else "")
        sub = verbs.add_parser(name, help=help_text, description=description, epilog=f"example: {example}",
                               formatter_class=_Formatter)
        sub.set_defaults(run=run)
        return sub

    def add_settings(sub: argparse.ArgumentParser, *names: str) -> None:
        by_name = {s.name: s for s in SETTINGS}
        for name in names:
            setting = by_name[name]
            if setting.convert is bool_setting:
                sub.add_argument(setting.flag, dest=name, action="store_const", const=True, default=None,
                                 help=f"{setting.help} (env {setting.env})")
            else:
                sub.add_argument(setting.flag, dest=name, default=None, metavar=name.upper(),
                                 help=f"{setting.help} (env {setting.env}; default {setting.default or 'empty'})")

    parse = verb("parse", "Read source texts and print what was read (one record per project).",
                 "kgbuild parse --json data/sources/*.txt", _cmd_parse)
    parse.add_argument("files", nargs="+", type=Path, metavar="FILE",
                       help="source files (texts, HTML pages, PDFs, DOCX), or directories of them")
    parse.add_argument("--json", action="store_true", help="print a JSON array of records")
    parse.add_argument("--evidence", action="store_true",
                       help="with each record, where each value was read: its character span in the decoded text, "
                            "the text there, the label it was read under (or prose) and a confidence; for an HTML "
                            "page, a PDF or a DOCX also its origin in the file (source offsets, page, paragraph)")

    build = verb("build", "Parse, map, validate and load sources into the store (atomically; only what changed).",
                 "kgbuild build my-pages/ --store kgstore", _cmd_build,
                 "A build adds: each source given replaces its earlier version (a source is known by its file "
                 "name), and the sources the store holds that are not given stay. With --sync the store holds "
                 "exactly the sources given, and each source removed is named; `kgbuild remove` takes sources "
                 "out. A path that is not there, or a build whose every source fails, changes nothing (exit 1).")
    build.add_argument("sources", nargs="*", type=Path, metavar="SOURCE",
                       help="source files, or directories of them (*.txt, *.html, *.htm, *.pdf, *.docx; default: "
                            "the bundled corpus in "
                            "data/sources/)")
    build.add_argument("--sync", action="store_true",
                       help="also remove every source the store holds that is not given (each is named)")
    build.add_argument("--dry-run", action="store_true",
                       help="write nothing: say which sources would be added, replaced and removed")
    add_settings(build, "store", "base_iri", "graph_store", "store_retries", "include_personal_data", "executor")

    remove = verb("remove", "Take sources out of the store (atomically).",
                  "kgbuild remove my-pages/old-page.txt --store kgstore", _cmd_remove,
                  "A source is named by its path, its file name or its graph's name. A name the store does not "
                  "hold is an error, and then nothing is removed.")
    remove.add_argument("names", nargs="+", metavar="SOURCE",
                        help="a source's path or file name (001_49fdefbf50581b3b.txt), or its graph's name "
                             "(001-49fdefbf50581b3b)")
    remove.add_argument("--dry-run", action="store_true", help="write nothing: say which sources would be removed")
    add_settings(remove, "store", "base_iri", "graph_store", "store_retries")

    validate = verb("validate", "Check the store (or the given sources) against the SHACL shapes; "
                                "exit 1 on violations only.", "kgbuild validate --json", _cmd_validate)
    validate.add_argument("sources", nargs="*", type=Path, metavar="SOURCE",
                          help="validate these sources instead of the store")
    validate.add_argument("--json", action="store_true", help="print the report as JSON")
    add_settings(validate, "store", "base_iri")

    query = verb("query", "Run a SPARQL query on the store and print the results.",
                 "kgbuild query --file queries/granted-by-nuts2.rq --format csv", _cmd_query)
    query.add_argument("query", nargs="?", help="the SPARQL query text")
    query.add_argument("--file", type=Path, help="read the query from this file")
    query.add_argument("--format", default=None,
                       help="results: json, xml, csv, tsv (SELECT/ASK); turtle, ntriples, jsonld, rdfxml (CONSTRUCT); "
                            "default: tsv or turtle")
    add_settings(query, "store", "graph_store", "base_iri", "include_personal_data", "query_timeout",
                 "service_allowlist")

    export = verb("export", "Write a dump of the published graph (streamed; gzip when FILE ends in .gz).",
                  "kgbuild export --format nquads --out dumps/kgbuild.nq.gz", _cmd_export)
    export.add_argument("--format", default="turtle", choices=["turtle", "ntriples", "nquads", "trig", "jsonld"],
                        help="dump format (default turtle)")
    export.add_argument("--out", type=Path, help="file to write (default: stdout)")
    export.add_argument("--all", type=Path, metavar="DIR",
                        help="write every format gzipped, SHA256SUMS and void.ttl (VoID + DCAT) into DIR")
    add_settings(export, "store", "graph_store", "base_iri", "include_personal_data", "dataset_title",
                 "dataset_publisher", "dataset_license")

    fetch = verb("fetch", "Save web pages into a source folder, each with a record of its URL, time and validators.",
                 "kgbuild fetch https://www.esf.se/projekt/ --into my-pages/", _cmd_fetch,
                 "Each page is saved as NAME.EXT (.html, .pdf, .docx or .txt, by its content type) beside "
                 "NAME.meta.json: the URL, the final URL after redirects, when it was retrieved, the status, ETag, "
                 "Last-Modified, content type, SHA-256 and size. A build reads the final URL as the source's "
                 "prov:wasDerivedFrom. Polite: robots.txt honoured, one request at a time with a delay per host, "
                 "retries with back-off on 429/503. A page fetched before is asked for conditionally; when it did "
                 "not change, its files stay untouched. Private, loopback and link-local addresses are refused. "
                 "Each URL that fails is one line; the others are still fetched (exit 1 if any failed).")
    fetch.add_argument("urls", nargs="*", metavar="URL", help="http(s) URLs of pages")
    fetch.add_argument("--list", type=Path, metavar="FILE",
                       help="also fetch the URLs in FILE, one a line (# comments; - reads standard input)")
    fetch.add_argument("--into", type=Path, default=Path("."), metavar="DIR",
                       help="the source folder the pages are saved in (created if missing; default: .)")
    fetch.add_argument("--delay", type=_seconds, default=1.0, metavar="SECONDS",
                       help="wait between two requests to one host (robots.txt's Crawl-delay if longer; default 1)")
    fetch.add_argument("--timeout", type=_seconds, default=30.0, metavar="SECONDS",
                       help="time limit of one page, from connecting to its last byte (default 30)")
    fetch.add_argument("--max-bytes", type=int, default=20 * 1024 * 1024, metavar="N",
                       help="size limit of one page; a larger one is refused (default 20 MiB)")
    fetch.add_argument("--retries", type=int, default=3, metavar="N",
                       help="retries on 429, 503 and connection errors, with exponential back-off from 1 s, "
                            "honouring Retry-After up to 120 s (default 3)")
    fetch.add_argument("--max-redirects", type=int, default=5, metavar="N", help="redirects followed (default 5)")
    fetch.add_argument("--allow-private", action="store_true",
                       help="allow private, loopback, link-local and other non-public addresses (refused by default)")
    fetch.add_argument("--contact", metavar="EMAIL_OR_URL",
                       help="how a site's operator can reach you: added to the User-Agent")

    serve = verb("serve", "Serve the store: SPARQL endpoint, linked-data pages, dumps and the query page "
                          "(builds the bundled corpus first when the store is empty).",
                 "kgbuild serve --port 8000", _cmd_serve)
    add_settings(serve, "store", "graph_store", "dumps_dir", "base_iri", "host", "port", "include_personal_data",
                 "query_timeout", "max_result_bytes", "max_body_bytes", "max_concurrent_per_client", "query_workers",
                 "queries_per_worker", "service_allowlist", "dataset_title", "dataset_publisher", "dataset_license")
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
