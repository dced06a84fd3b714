"""The ``labelcheck`` command: a thin shell over `labelcheck.scan`.

Exit codes: 0 done; 1 when ``--fail-on`` matched a verdict; 2 usage or I/O error (a path that
does not exist, an output file that cannot be written, a policy that cannot be loaded).
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Iterator

from labelcheck import __version__
from labelcheck.model import Verdict
from labelcheck.output import WRITERS
from labelcheck.policy import Policy, PolicyError, available_policies
from labelcheck.batch import ENGINES, Limits, is_url, scan_batch
from labelcheck.progress import progress_for
from labelcheck.registry_cli import add_registry_parser
from labelcheck.sources.base import ScanOptions

EXIT_OK, EXIT_MATCHED, EXIT_USAGE = 0, 1, 2
MEDIA_EXTENSIONS = {".jpg", ".jpeg", ".jpe", ".png", ".webp", ".tif", ".tiff", ".dng", ".heic",
                    ".heif", ".avif", ".gif", ".mp4", ".m4v", ".mov", ".qt", ".webm", ".mkv",
                    ".avi", ".pdf"}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="labelcheck",
        description="Find AI-made images and videos whose AI disclosure has been stripped.")
    parser.add_argument("--version", action="version", version=f"labelcheck {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    scan_cmd = commands.add_parser(
        "scan", help="scan files or directories and give a verdict per file",
        description="Scan files (directories recursively, media extensions only) and report "
                    "every AI disclosure layer with a verdict under a policy.")
    scan_cmd.add_argument("paths", nargs="+", metavar="PATH")
    scan_cmd.add_argument("--format", choices=sorted(WRITERS), default="text")
    scan_cmd.add_argument("--out", metavar="FILE", help="write the report here (default stdout)")
    scan_cmd.add_argument("--policy", default="default", metavar="NAME|FILE",
                          help=f"bundled policy ({', '.join(available_policies())}) or a "
                               "policy .toml file")
    scan_cmd.add_argument("--db", metavar="URL",
                          help="SQLAlchemy URL of the results store (default: LABELCHECK_DB or "
                               "a SQLite file in the user data directory)")
    scan_cmd.add_argument("--no-store", action="store_true",
                          help="do not record results in the store")
    scan_cmd.add_argument("--no-ocr", action="store_true",
                          help="metadata only: skip pixel analysis (watermarks, stealth text, "
                               "visible labels)")
    scan_cmd.add_argument("--trust-anchors", metavar="PEM",
                          help="C2PA trust anchors; with them an untrusted signer is a failure")
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
                               "policy, options and version; print their stored results")
    scan_cmd.add_argument("--engine", choices=ENGINES, default="local",
                          help="local worker processes, or a dask.distributed cluster")
    scan_cmd.add_argument("--scheduler", metavar="ADDRESS",
                          help="dask scheduler address (tcp://host:8786); without it "
                               "--engine dask starts a local cluster")
    scan_cmd.add_argument("--quiet", action="store_true", help="no progress on stderr")
    scan_cmd.add_argument("--fail-on", metavar="VERDICT[,VERDICT]", type=_verdict_list,
                          default=frozenset(), help="exit 1 if any file gets one of these")
    scan_cmd.set_defaults(run=run_scan)

    add_registry_parser(commands)

    policies_cmd = commands.add_parser("policies", help="list the bundled policies")
    policies_cmd.set_defaults(run=run_policies)

    serve_cmd = commands.add_parser(
        "serve", help="run the web app and JSON API (waitress)",
        description="Serve the web app (upload, reports, campaign audits, registry) and the "
                    "JSON API under /api/v1 with waitress. Settings not given here come from "
                    "LABELCHECK_* environment variables (see README, Web app).")
    serve_cmd.add_argument("--host", default="127.0.0.1", help="address to listen on")
    serve_cmd.add_argument("--port", type=int, default=8000)
    serve_cmd.add_argument("--db", metavar="URL", help="SQLAlchemy URL of the store (jobs, "
                                                      "results, registry)")
    serve_cmd.add_argument("--workers", type=int, default=0, metavar="N",
                           help="scan worker processes (default: all cores)")
    serve_cmd.add_argument("--threads", type=int, default=8,
                           help="waitress request threads")
    serve_cmd.set_defaults(run=run_serve)
    return parser


def _verdict_list(text: str) -> frozenset[Verdict]:
    try:
        return frozenset(Verdict(word.strip()) for word in text.split(",") if word.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r}: verdicts are {', '.join(v.value for v in Verdict)}") from None


def iter_files(paths: list[str], missing: list[str]) -> Iterator[str]:
    """Files named directly, then media files found under directories (sorted, no symlink
    loops); fsspec URLs likewise; paths that don't exist go to `missing`."""
    for path in paths:
        if is_url(path):
            yield from _iter_url(path, missing)
        elif os.path.isdir(path):
            for folder, dirs, files in os.walk(path):
                dirs.sort()
                for name in sorted(files):
                    if _is_media_name(name):
                        yield os.path.join(folder, name)
        elif os.path.exists(path):
            yield path
        else:
            missing.append(path)


def _is_media_name(name: str) -> bool:
    return os.path.splitext(name)[1].lower() in MEDIA_EXTENSIONS


def _iter_url(url: str, missing: list[str]) -> Iterator[str]:
    """An fsspec URL: the file itself, or the media files under a "directory" of it."""
    import fsspec

    try:
        filesystem, root = fsspec.core.url_to_fs(url)
        if not filesystem.isdir(root):
            if filesystem.exists(root):
                yield url
            else:
                missing.append(url)
            return
        for name in sorted(filesystem.find(root)):
            if _is_media_name(name):
                yield filesystem.unstrip_protocol(name)
    except (OSError, ValueError, ImportError):
        missing.append(url)


def run_scan(args) -> int:
    try:
        policy = Policy.load(args.policy)
    except PolicyError as exc:
        print(f"labelcheck: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.trust_anchors and not os.path.isfile(args.trust_anchors):
        print(f"labelcheck: trust anchors file not found: {args.trust_anchors}", file=sys.stderr)
        return EXIT_USAGE
    if args.resume and args.no_store:
        print("labelcheck: --resume reads the results store; it cannot go with --no-store",
              file=sys.stderr)
        return EXIT_USAGE
    try:
        stream = open(args.out, "w", encoding="utf-8", newline="") if args.out else sys.stdout
    except OSError as exc:
        print(f"labelcheck: cannot write {args.out}: {exc.strerror}", file=sys.stderr)
        return EXIT_USAGE
    if args.db:
        os.environ["LABELCHECK_DB"] = args.db  # the registry source and batch workers read it
    options = ScanOptions(pixels=not args.no_ocr, trust_anchors=args.trust_anchors)
    results = None if args.no_store else _open_store(args.db, policy, options)
    missing: list[str] = []
    try:
        files = list(iter_files(args.paths, missing))
        matched = _scan_files(files, policy, options, results, args, stream)
    finally:
        if stream is not sys.stdout:
            stream.close()
    for path in missing:
        print(f"labelcheck: no such file or directory: {path}", file=sys.stderr)
    if missing:
        return EXIT_USAGE
    return EXIT_MATCHED if matched else EXIT_OK


def _scan_files(files: list[str], policy, options, results, args, stream) -> bool:
    """Scan, write, store and show progress; whether a `--fail-on` verdict occurred. One file
    on the local engine is scanned in this process (no pool to start)."""
    writer = WRITERS[args.format](stream)
    progress = progress_for(len(files), quiet=args.quiet or len(files) < 2)
    single = len(files) == 1 and args.engine == "local"
    limits = None if single else Limits(args.timeout or None, args.max_memory or None)
    workers = min(args.workers or os.cpu_count() or 1, max(1, len(files)))
    matched = False
    try:
        for report in scan_batch(files, policy, options, results=results, resume=args.resume,
                                 workers=workers, limits=limits, engine=args.engine,
                                 scheduler=args.scheduler):
            writer.write(report)
            progress.update(report)
            matched |= report.verdict in args.fail_on
        writer.close()
    finally:
        progress.close()
    return matched


def _open_store(url: str | None, policy, options):
    """The batch's `ResultStore`, or None with a warning: a store problem must not stop a
    scan."""
    from labelcheck import store

    try:
        return store.ResultStore(store.connect(url), policy, options)
    except Exception as exc:  # noqa: BLE001 - bad URL, missing driver, unwritable file
        print(f"labelcheck: results store unavailable ({exc}); results are not stored",
              file=sys.stderr)
        return None


def run_policies(_args) -> int:
    for name in available_policies():
        policy = Policy.load(name)
        print(f"{name:24} {policy.title}: {policy.description}")
    return EXIT_OK


def run_serve(args) -> int:
    import signal

    import waitress

    from webapp import create_app

    # SIGTERM (a service manager stopping us) exits like Ctrl-C: the scans under way finish
    # and queued ones stay queued in the database for the next start.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(EXIT_OK))
    config = {key: value for key, value in (("DB", args.db), ("SCAN_WORKERS", args.workers))
              if value}
    app = create_app(config)
    print(f"labelcheck: serving on http://{args.host}:{args.port}/", file=sys.stderr, flush=True)
    waitress.serve(app, host=args.host, port=args.port, threads=args.threads,
                   max_request_body_size=app.config["MAX_CONTENT_LENGTH"])
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except BrokenPipeError:  # the reader (head, less) went away: stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
