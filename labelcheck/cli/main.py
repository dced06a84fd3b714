"""The ``labelcheck`` command: a thin shell over `labelcheck.scan`.

Exit codes: 0 done; 1 when ``--fail-on`` matched a verdict; 2 usage or I/O error (a path that
does not exist, an output file that cannot be written or fills its disk, a policy that cannot
be loaded, a results store that cannot be opened or written) or nothing to scan (every file
found under the folders given was skipped as not media).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys

from labelcheck.version import __version__
from labelcheck.cli.common import (EXIT_MATCHED, EXIT_OK, EXIT_USAGE, add_date_and_role,
                                   add_debug_flag, database_url, verdicts_argument)
from labelcheck.cli.registry import add_registry_parser
from labelcheck.cli.trust import add_trust_options, add_trust_parser, checked_trust
from labelcheck.cli.watch import add_watch_parser
from labelcheck.core.names import display_name
from labelcheck.core.policy import (Policy, PolicyError, available_policies, load_policies,
                                    policies_of)
from labelcheck.core.settings import VIDEO_SAMPLING, Limits, Settings
from labelcheck.run import logs
from labelcheck.run.batch import ENGINES, scan_batch
from labelcheck.run.inputs import is_web_url, iter_files
from labelcheck.run.pool import Task, as_task
from labelcheck.run.progress import progress_for
from labelcheck.writers import WRITERS
from labelcheck.writers.audit import Tally, audit_row, regimes_for
from labelcheck.writers.base import WriterOptions
from labelcheck.writers.html import SORTS
from labelcheck.writers.pack import PackError, PackWriter, verify_pack

COMMANDS_ENTRY_POINTS = "labelcheck.commands"  # other packages' subcommands (the web app's serve)


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The command line; the subcommands of other installed packages (`COMMANDS_ENTRY_POINTS`)
    are added unless `command` names one of labelcheck's own, so that a scan never imports
    the web app (Flask) to start."""
    parser = argparse.ArgumentParser(
        prog="labelcheck",
        description="Find AI-made images and videos whose AI disclosure has been stripped.")
    parser.add_argument("--version", action="version", version=f"labelcheck {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    scan_cmd = commands.add_parser(
        "scan", help="scan files or directories and give a verdict per file",
        description="Scan files (directories recursively: files with media extensions or "
                    "media content; the rest are listed on stderr as skipped) and report "
                    "every AI disclosure layer with a verdict under a policy.")
    scan_cmd.add_argument("paths", nargs="+", metavar="PATH")
    scan_cmd.add_argument("--format", choices=sorted(WRITERS), default="text")
    scan_cmd.add_argument("--out", metavar="FILE", help="write the report here (default stdout)")
    scan_cmd.add_argument("--policy", default="default", metavar="NAME|FILE[,...]",
                          help=f"bundled policy ({', '.join(available_policies())}) or a "
                               "policy .toml file; several, comma-separated, give one verdict "
                               "per regime from one scan")
    add_date_and_role(scan_cmd)
    scan_cmd.add_argument("--db", metavar="URL",
                          help="SQLAlchemy URL of the results store (default: LABELCHECK_DB or "
                               "a SQLite file in the user data directory)")
    scan_cmd.add_argument("--no-store", action="store_true",
                          help="do not record results in the store")
    scan_cmd.add_argument("--no-ocr", action="store_true",
                          help="metadata only: skip pixel analysis (watermarks, stealth text, "
                               "visible labels)")
    add_trust_options(scan_cmd)
    scan_cmd.add_argument("--video-sampling", choices=VIDEO_SAMPLING, default="standard",
                          help="how closely videos are looked at: standard (keyframes first, "
                               "samples as close as the policies' 'never absent for more than' "
                               "rule needs, at most 5 s apart, label starts and ends placed "
                               "on the frames between), fast (at most 10 s apart) or thorough "
                               "(every 0.8 s: a label shown for 1 s anywhere is seen)")
    scan_cmd.add_argument("--workers", type=int, default=0, metavar="N",
                          help="parallel worker processes (default: all cores)")
    scan_cmd.add_argument("--timeout", type=float, default=Limits.timeout_s, metavar="SECONDS",
                          help="per-file time limit; a file over it gets verdict error "
                               "(default %(default)g, 0: none)")
    scan_cmd.add_argument("--max-memory", type=int, default=Limits.memory_mb, metavar="MB",
                          help="memory one file's scan may add to its worker; a file over it "
                               "gets verdict error (default %(default)d, 0: none)")
    scan_cmd.add_argument("--resume", action="store_true",
                          help="skip files already in the results store under the same "
                               "policy, settings and version; print their stored results")
    scan_cmd.add_argument("--engine", choices=ENGINES, default="local",
                          help="local worker processes, or a dask.distributed cluster")
    scan_cmd.add_argument("--scheduler", metavar="ADDRESS",
                          help="dask scheduler address (tcp://host:8786); without it "
                               "--engine dask starts a local cluster")
    scan_cmd.add_argument("--quiet", action="store_true", help="no progress on stderr")
    add_debug_flag(scan_cmd)
    scan_cmd.add_argument("--fail-on", metavar="VERDICT[,VERDICT]", type=verdicts_argument,
                          default=frozenset(), help="exit 1 if any file gets one of these")
    scan_cmd.add_argument("--sort", choices=SORTS, default="input",
                          help="order of the HTML report's rows: as the files were given, or "
                               "the most severe first (default %(default)s)")
    scan_cmd.add_argument("--crawl", action="store_true",
                          help="the URLs are web pages (or sitemaps): scan the pictures and "
                               "videos they show; robots.txt is honoured")
    scan_cmd.add_argument("--depth", type=int, default=0, metavar="N",
                          help="with --crawl: also read the pages linked up to N links away "
                               "(default 0: the pages given)")
    scan_cmd.add_argument("--same-site", action="store_true",
                          help="with --crawl: follow links to the start's site only")
    scan_cmd.add_argument("--max-pages", type=int, default=50, metavar="N",
                          help="with --crawl: read at most N pages (default %(default)d)")
    scan_cmd.add_argument("--crawl-delay", type=float, default=1.0, metavar="SECONDS",
                          help="with --crawl: at least this long between requests to one host "
                               "(default %(default)g; longer when robots.txt asks)")
    scan_cmd.add_argument("--evidence-pack", metavar="DIR|ZIP",
                          help="also write an evidence pack: per file its report, pictures "
                               "with the evidence boxed, video frames, C2PA manifest store; "
                               "the policies; a SHA-256 manifest (see verify-pack)")
    scan_cmd.add_argument("--sign-key", metavar="PEM",
                          help="sign the evidence pack's manifest with this Ed25519 private "
                               "key")
    scan_cmd.add_argument("--summary", action="store_true",
                          help="end stderr with one line of JSON: counts per verdict, per "
                               "regime, and of files with tampered credentials")
    scan_cmd.set_defaults(run=run_scan)

    add_registry_parser(commands)
    add_trust_parser(commands)

    verify_cmd = commands.add_parser(
        "verify-pack", help="check that nothing in an evidence pack was changed",
        description="Check an evidence pack (a folder or a zip made by scan --evidence-pack "
                    "or the web app) against its manifest and its signature; say exactly what "
                    "changed. Exit 0 when nothing did, 1 when something did.")
    verify_cmd.add_argument("pack", metavar="PACK")
    verify_cmd.add_argument("--key", metavar="PEM",
                            help="the signer's Ed25519 public key: the pack must be signed by it")
    verify_cmd.add_argument("--original", metavar="FILE", nargs="+", default=[],
                            help="files to find among the originals the pack scanned (by "
                                 "SHA-256)")
    verify_cmd.set_defaults(run=run_verify_pack)

    add_watch_parser(commands)

    policies_cmd = commands.add_parser(
        "policies", help="list the bundled policies (regimes) with citation, date and role")
    policies_cmd.add_argument("--requirements", action="store_true",
                              help="also list each requirement with its source and role")
    policies_cmd.set_defaults(run=run_policies)

    if command not in commands.choices:
        _add_installed_commands(commands)
    return parser


def _add_installed_commands(commands) -> None:
    """The subcommands other installed packages declare (the web app's ``serve``)."""
    from importlib.metadata import entry_points

    for entry in entry_points(group=COMMANDS_ENTRY_POINTS):
        try:
            add_command = entry.load()
        except ImportError as exc:  # its optional dependencies are not installed
            add_command = _unavailable_command(entry.name, exc)
        add_command(commands)


def _command_of(argv: list[str]) -> str | None:
    """The subcommand named on the command line (the first word that is not an option)."""
    return next((word for word in argv if not word.startswith("-")), None)


def _unavailable_command(name: str, exc: ImportError):
    """A stand-in for a command whose packages are missing (``serve`` without the ``web``
    extra): it is listed, and says what to install instead of failing every command."""
    reason = f"missing module {exc.name!r}" if exc.name else str(exc)

    def add(commands) -> None:
        command = commands.add_parser(name, help=f"(not installed: {reason})")
        command.set_defaults(run=lambda _args: _explain_unavailable(name, reason))
    return add


def _explain_unavailable(name: str, reason: str) -> int:
    print(f"labelcheck: the {name} command is not installed ({reason}); install it with "
          "pip install 'labelcheck[web]'", file=sys.stderr)
    return EXIT_USAGE


def run_scan(args) -> int:
    try:
        policy = load_policies(args.policy)
    except PolicyError as exc:
        print(f"labelcheck: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if not checked_trust(args):
        return EXIT_USAGE
    if args.crawl and (args.resume or not all(is_web_url(path) for path in args.paths)):
        print("labelcheck: --crawl reads http(s) pages: give their URLs (and not --resume)",
              file=sys.stderr)
        return EXIT_USAGE
    if args.sign_key and not args.evidence_pack:
        print("labelcheck: --sign-key signs an evidence pack: give --evidence-pack too",
              file=sys.stderr)
        return EXIT_USAGE
    if args.resume and args.no_store:
        print("labelcheck: --resume reads the results store; it cannot go with --no-store",
              file=sys.stderr)
        return EXIT_USAGE
    try:
        stream = _output(args.out)
    except OSError as exc:
        print(f"labelcheck: cannot write {args.out}: {exc.strerror}", file=sys.stderr)
        return EXIT_USAGE
    try:
        pack = _pack(args, policy)
    except PackError as exc:
        print(f"labelcheck: {exc}", file=sys.stderr)
        return EXIT_USAGE
    limits = Limits(args.timeout or None, args.max_memory or None)
    settings = Settings(pixels=not args.no_ocr, trust=args.trust,
                        trust_anchors=args.trust_anchors,
                        db_url=database_url(args.db), limits=limits,
                        max_pixels=limits.max_pixels(),
                        display=pack.display if pack else WRITERS[args.format].display,
                        as_of=args.as_of, role=args.role, debug=args.debug,
                        video_sampling=args.video_sampling)
    results = None if args.no_store else _open_store(policy, settings)
    if results is False:
        return EXIT_USAGE
    missing: list[str] = []
    skipped: list[tuple[str, str]] = []
    tally = Tally(regimes_for(list(policies_of(policy))))
    try:
        files = (_crawled(args, skipped) if args.crawl
                 else list(iter_files(args.paths, missing, skipped)))
        for path, reason in skipped:  # before the scan, so that progress ends the log
            print(f"labelcheck: skipped {display_name(path)}: {reason}", file=sys.stderr)
        matched = _scan_files(files, policy, settings, results, args, stream, tally, pack)
        if stream is not sys.stdout:
            _written(stream.close)  # the last buffered bytes: a full disk shows here at last
    except OutputError as exc:
        print(f"labelcheck: cannot write {args.out or 'the output'}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except _store_errors(results) as exc:  # --resume could not read the store
        print(f"labelcheck: {exc}", file=sys.stderr)
        return EXIT_USAGE
    finally:
        if stream is not sys.stdout:
            with contextlib.suppress(OSError):
                stream.close()
    stored = _all_stored(results)
    for path in missing:
        print(f"labelcheck: no such file or directory: {display_name(path)}", file=sys.stderr)
    if not files and not missing:
        print(f"labelcheck: nothing to scan ({len(skipped)} file(s) skipped, none is a "
              "picture, video or document labelcheck reads)" if not args.crawl else
              "labelcheck: nothing to scan (the pages show no picture or video labelcheck "
              "may fetch)", file=sys.stderr)
    if args.summary:
        print(json.dumps(tally.to_dict()), file=sys.stderr)
    if missing or not files or not stored:
        return EXIT_USAGE
    return EXIT_MATCHED if matched else EXIT_OK


def _output(path: str | None):
    """Where the report goes: `path` (UTF-8), or stdout. Names and texts from files are
    valid Unicode by the time they reach a writer (`labelcheck.core.names`); a character the
    output's encoding lacks (a Latin-1 terminal) is written as a backslash escape, never a
    crash."""
    if path:
        return open(path, "w", encoding="utf-8", errors="backslashreplace", newline="")
    if hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(errors="backslashreplace")
    return sys.stdout


class OutputError(Exception):
    """The report could not be written (a full disk, a quota): a one-line message, exit 2."""


def _written(write, *args) -> None:
    """Call a writer or stream method; its I/O failure becomes an `OutputError`."""
    try:
        write(*args)
    except BrokenPipeError:
        raise
    except OSError as exc:
        raise OutputError(exc.strerror or str(exc)) from None


def _scan_files(files: list[str], policy, settings, results, args, stream,
                tally: Tally, pack: PackWriter | None) -> bool:
    """Scan, write (and pack), store, count and show progress; whether a `--fail-on`
    verdict occurred. One file on the local engine is scanned in this process (no pool to
    start)."""
    writer = WRITERS[args.format](stream, WriterOptions(policies_of(policy), args.sort))
    positions = {as_task(path).display: number
                 for number, path in reversed(list(enumerate(files)))}
    progress = progress_for(len(files), quiet=args.quiet or len(files) < 2)
    single = len(files) == 1 and args.engine == "local"
    workers = min(args.workers or os.cpu_count() or 1, max(1, len(files)))
    matched = False
    try:
        for report in scan_batch(files, policy, settings, results=results, resume=args.resume,
                                 workers=workers, guarded=not single, engine=args.engine,
                                 scheduler=args.scheduler):
            _written(writer.write, report, positions.get(report.path))
            if pack is not None:
                _written(pack.write, report, positions.get(report.path))
            progress.update(report)
            if args.summary:
                tally.add(audit_row(report.to_dict(), tally.regimes, 0))
            matched |= report.verdict in args.fail_on
        _written(writer.close)
        if pack is not None:
            _written(pack.close)
    finally:
        progress.close()
    return matched


def _crawled(args, skipped: list[tuple[str, str]]) -> list[Task]:
    """The pictures and videos the pages given show (``--crawl``), as tasks that carry the
    page each was found on; what the crawl left out goes to `skipped`. The crawl (and the HTTP
    client under it) is imported here: other scans do not pay for it at start-up."""
    from labelcheck.run.crawl import CrawlLog, CrawlOptions, crawl

    options = CrawlOptions(depth=max(0, args.depth), same_site=args.same_site,
                           max_pages=max(1, args.max_pages), delay=max(0.0, args.crawl_delay))
    log = CrawlLog()
    found = [Task(item.url, name=display_name(item.url), found_on=item.page)
             for item in crawl(args.paths, options, log)]
    skipped.extend(log.skipped)
    if not args.quiet:
        print(f"labelcheck: read {len(log.pages)} page(s), found {len(found)} picture(s) and "
              "video(s)", file=sys.stderr)
    return found


def _pack(args, policy) -> PackWriter | None:
    """The evidence pack writer of ``--evidence-pack``, or None."""
    if not args.evidence_pack:
        return None
    options = WriterOptions(policies_of(policy), args.sort)
    return PackWriter(args.evidence_pack, policies_of(policy), args.sign_key, options)


def run_verify_pack(args) -> int:
    """``verify-pack``: one line per problem or fact; exit 0 when nothing changed."""
    try:
        result = verify_pack(args.pack, args.key, args.original)
    except PackError as exc:
        print(f"labelcheck: {exc}", file=sys.stderr)
        return EXIT_USAGE
    for line in result.problems + [f"ok: {note}" for note in result.notes]:
        print(line)
    print("the pack is intact" if result.ok else
          f"the pack does not check out: {len(result.problems)} problem(s)")
    return EXIT_OK if result.ok else EXIT_MATCHED


def _open_store(policy, settings):
    """The batch's `ResultStore`, or False with the reason on stderr when the database cannot
    be opened (a bad URL, a missing driver, an unwritable file): a scan meant to be stored
    must not pass for one."""
    from labelcheck.run import store

    try:
        return store.ResultStore(store.connect(settings.db_url), policy, settings)
    except store.StoreError as exc:
        print(f"labelcheck: {exc} (use --no-store to scan without it)", file=sys.stderr)
        return False


def _store_errors(results) -> tuple[type[Exception], ...]:
    """What the results store raises: nothing without a store, whose module (SQLAlchemy) a
    ``--no-store`` scan does not import."""
    if results is None:
        return ()
    from labelcheck.run.store import StoreError

    return (StoreError,)


def _all_stored(results) -> bool:
    """Whether every report reached the store; if not, says so on stderr (the reports
    themselves went to the output)."""
    if results is None or not results.unstored:
        return True
    print(f"labelcheck: could not store {results.unstored} of {results.added} results in the "
          f"results store ({results.error}); the reports in the output are complete",
          file=sys.stderr)
    return False


def run_policies(args) -> int:
    """Every bundled regime: name, title, citation, the date it took effect, whom it binds;
    each requirement with its source with ``--requirements``."""
    for name in available_policies():
        policy = Policy.load(name)
        status = "draft, not in force" if policy.draft else \
            f"in force from {policy.effective}" if policy.effective else "no date"
        print(f"{name}: {policy.title} ({status}; binds {', '.join(policy.roles) or 'anyone'})")
        if policy.citation:
            print(f"    {policy.citation}")
        for requirement in policy.requirements if args.requirements else ():
            since = policy.effective_date(requirement)
            facts = [requirement.role or "", f"from {since}" if since else "",
                     "draft" if requirement.draft else "",
                     {"manual": "manual check", "detector": "detector"}.get(requirement.check, "")]
            print(f"    - {requirement.id} [{', '.join(f for f in facts if f)}]: "
                  f"{requirement.description}" + (f" ({requirement.source})"
                                                   if requirement.source else ""))
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser(_command_of(argv)).parse_args(argv)
    logs.configure(bool(getattr(args, "debug", False)))
    try:
        return args.run(args)
    except BrokenPipeError:  # the reader (head, less) went away: stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
