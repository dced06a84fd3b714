"""The ``labelcheck serve`` command, which the web app adds to labelcheck's CLI.

labelcheck's CLI never imports the web app: it loads the subcommands that installed packages
declare under the ``labelcheck.commands`` entry point (see pyproject.toml), and this is the
web app's.
"""

from __future__ import annotations

import sys

EXIT_OK = 0


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
                           help="scan worker processes (default: all cores)")
    serve_cmd.add_argument("--threads", type=int, default=8,
                           help="waitress request threads")
    serve_cmd.set_defaults(run=run_serve)


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
