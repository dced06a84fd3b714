"""The ``labelcheck registry`` command: register disclosed AI originals, list them, remove them.

``labelcheck registry add PATH... --owner NAME [--note TEXT]`` scans each original, stores
what it discloses and its fingerprints; ``scan`` then recognises stripped copies of it.
``registry list`` and ``registry remove ID...`` manage the entries. Every action takes
``--db URL`` (default: ``LABELCHECK_DB``, else the SQLite file in the user data directory,
the same database as the results store) and ``--format text|json``.

Exit codes: 0 done; 2 usage or I/O error (a path that does not exist or cannot be read as an
image or video, an unknown id, a database that cannot be opened).
``python -m labelcheck.cli.registry`` runs the same command on its own.
"""

from __future__ import annotations

import argparse
import json
import sys

from labelcheck.cli.common import EXIT_OK, EXIT_USAGE, database_url


def add_registry_parser(subparsers) -> argparse.ArgumentParser:
    """Add the ``registry`` command (add, list, remove) to a parser's subcommands."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--db", metavar="URL",
                        help="SQLAlchemy URL of the registry database (default: LABELCHECK_DB "
                             "or a SQLite file in the user data directory)")
    common.add_argument("--format", choices=["text", "json"], default="text")
    parser = subparsers.add_parser(
        "registry", help="register disclosed AI originals so that stripped copies are found",
        description="Register the disclosed originals of AI content. `scan` recognises copies "
                    "of them (re-encoded, rescaled, cropped, padded, flipped, screenshotted) "
                    "and names each disclosure a copy lost.")
    actions = parser.add_subparsers(dest="registry_command", required=True)
    add = actions.add_parser("add", parents=[common], help="register original files",
                             description="Scan each original, keep its disclosures (badges, "
                                         "C2PA/IPTC/AIGC) and fingerprints.")
    add.add_argument("paths", nargs="+", metavar="PATH",
                     help="image or video files, or directories searched for media files")
    add.add_argument("--owner", required=True, metavar="NAME",
                     help="who registers it: performer, agency or brand")
    add.add_argument("--note", metavar="TEXT", help="free text shown with every match")
    add.set_defaults(run=run_add)
    listing = actions.add_parser("list", parents=[common], help="list registered originals")
    listing.set_defaults(run=run_list)
    remove = actions.add_parser("remove", parents=[common], help="unregister originals by id")
    remove.add_argument("ids", nargs="+", type=int, metavar="ID")
    remove.set_defaults(run=run_remove)
    return parser


def _open(url: str | None):
    """The registry, or None with a message: a bad URL or a missing driver is a usage error."""
    from labelcheck.registry import Registry

    try:
        return Registry.open(database_url(url))
    except Exception as exc:  # noqa: BLE001 - bad URL, missing driver, unwritable file
        print(f"labelcheck: registry database unavailable: {exc}", file=sys.stderr)
        return None


def run_add(args) -> int:
    from labelcheck.run.inputs import iter_files
    from labelcheck.registry import RegistryError
    from labelcheck.registry.enrol import register_file

    registry = _open(args.db)
    if registry is None:
        return EXIT_USAGE
    missing: list[str] = []
    added, failed = [], False
    for path in iter_files(args.paths, missing):
        try:
            asset = registry.get(register_file(registry, path, args.owner, args.note))
        except RegistryError as exc:
            print(f"labelcheck: {exc}", file=sys.stderr)
            failed = True
            continue
        added.append(asset)
        if args.format == "text":
            print(f"registered {describe(asset)}")
    for path in missing:
        print(f"labelcheck: no such file or directory: {path}", file=sys.stderr)
    if args.format == "json":
        print(json.dumps([asset.to_dict() for asset in added], ensure_ascii=False, indent=1))
    return EXIT_USAGE if failed or missing else EXIT_OK


def run_list(args) -> int:
    registry = _open(args.db)
    if registry is None:
        return EXIT_USAGE
    assets = registry.list()
    if args.format == "json":
        print(json.dumps([asset.to_dict() for asset in assets], ensure_ascii=False, indent=1))
    elif not assets:
        print("no registered originals")
    for asset in assets if args.format == "text" else []:
        print(f"{describe(asset)}, added {asset.added_at:%Y-%m-%d %H:%M}")
    return EXIT_OK


def run_remove(args) -> int:
    registry = _open(args.db)
    if registry is None:
        return EXIT_USAGE
    results = {asset_id: registry.remove(asset_id) for asset_id in args.ids}
    if args.format == "json":
        print(json.dumps({"removed": [i for i, ok in results.items() if ok],
                          "unknown": [i for i, ok in results.items() if not ok]}))
    for asset_id, ok in results.items():
        if args.format == "text" and ok:
            print(f"removed #{asset_id}")
        if not ok:
            print(f"labelcheck: no registered asset #{asset_id}", file=sys.stderr)
    return EXIT_OK if all(results.values()) else EXIT_USAGE


def describe(asset) -> str:
    """One line: id, file, owner and note, and what the original discloses."""
    badges = [f'badge "{b["text"]}" at the {b.get("position") or "?"} {b["box"]}'
              for b in asset.disclosures.get("visible", [])]
    layers = [name.upper() for name in ("c2pa", "iptc", "aigc") if asset.disclosures.get(name)]
    shown = "; ".join(badges + ([" + ".join(layers)] if layers else [])) or "no disclosure found"
    return f"{asset.label}: {shown}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="labelcheck")
    add_registry_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
