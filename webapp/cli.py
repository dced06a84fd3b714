"""The ``labelcheck serve`` command, which the web app adds to labelcheck's CLI.

labelcheck's CLI never imports the web app: it loads the subcommands that installed packages
declare under the ``labelcheck.commands`` entry point (see pyproject.toml), and this is the
web app's.
"""

from __future__ import annotations

import ipaddress
import sys

from labelcheck.cli.trust import ANCHORS_HELP, TRUST_HELP
from labelcheck.sources.c2pa.trust import TRUST_MODES

EXIT_OK = 0
BODY_SLACK = 4  # waitress receives bodies up to 4x the app's limit, so the app can refuse them


def add_serve_parser(commands) -> None:
    """Add ``serve`` to the CLI's subcommands."""
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
                           help="scan worker processes (default: all cores), plus one kept "
                                "for small files")
    serve_cmd.add_argument("--timeout", type=float, metavar="SECONDS",
                           help="per-file time limit, as for scan (default 120, 0: none)")
    serve_cmd.add_argument("--max-memory", type=int, metavar="MB",
                           help="memory one file's scan may add to its worker, as for scan "
                                "(default 2048, 0: none)")
    serve_cmd.add_argument("--threads", type=int, default=8,
                           help="waitress request threads")
    serve_cmd.add_argument("--trust", choices=TRUST_MODES, help=TRUST_HELP)
    serve_cmd.add_argument("--trust-anchors", metavar="FILE", help=ANCHORS_HELP)
    serve_cmd.set_defaults(run=run_serve)


def run_serve(args) -> int:
    import signal

    import waitress

    from webapp import create_app

    # SIGTERM (a service manager stopping us) exits like Ctrl-C: the scans under way finish
    # and queued ones stay queued in the database for the next start.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(EXIT_OK))
    config = {key: value for key, value in (("DB", args.db), ("SCAN_WORKERS", args.workers),
                                            ("TIMEOUT", args.timeout),
                                            ("MAX_MEMORY", args.max_memory),
                                            ("TRUST", args.trust),
                                            ("TRUST_ANCHORS", args.trust_anchors))
              if value is not None and value != ""}
    app = create_app(config)
    if not _loopback(args.host):
        print(exposure_warning(args.host, app.config), file=sys.stderr, flush=True)
    print(f"labelcheck: serving on http://{args.host}:{args.port}/", file=sys.stderr, flush=True)
    # The app refuses an upload over MAX_CONTENT_LENGTH with its JSON 413; waitress, which
    # receives a request whole before the app sees it, only cuts off bodies far beyond that.
    waitress.serve(app, host=args.host, port=args.port, threads=args.threads,
                   max_request_body_size=BODY_SLACK * app.config["MAX_CONTENT_LENGTH"])
    return EXIT_OK


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:  # a host name: it may resolve to anything
        return False


def exposure_warning(host: str, config) -> str:
    """What an operator must know before serving beyond this machine (README, Security)."""
    scans = ("scan uploads need the scan token (LABELCHECK_SCAN_TOKEN)" if config["SCAN_TOKEN"]
             else "anyone who can reach it may upload files to scan: set LABELCHECK_SCAN_TOKEN "
                  "to require a token")
    return (f"labelcheck: warning: serving on {host}, beyond this machine; {scans}; put it "
            "behind a reverse proxy with TLS (see README, Security)")
