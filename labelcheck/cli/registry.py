"""The ``labelcheck registry`` command: register disclosed AI originals, list them, remove them,
and check whether a file is a copy of one.

``labelcheck registry add PATH... --owner NAME [--note TEXT] [--ai-made]`` scans each
original, stores what it discloses, why it is AI-made and its fingerprints; ``scan`` then
recognises stripped copies of it. An original is taken only when its scan finds AI evidence or
the owner declares it AI-made (``--ai-made``): every copy of a registered original is reported
AI-made. ``registry check FILE...`` answers a performer's question about an ad: which
registered original it copies and which of its disclosures it lost. ``registry list`` and
``registry remove ID...`` manage the entries. Every action takes ``--db URL`` (default:
``LABELCHECK_DB``, else the SQLite file in the user data directory, the same database as the
results store) and ``--format text|json``.

Exit codes: 0 done; 1 ``check`` found a copy that lost a disclosure; 2 usage or I/O error (a
path that does not exist or cannot be read as an image or video, an original not known to be
AI-made, an unknown id, a database that cannot be opened).
``python -m labelcheck.cli.registry`` runs the same command on its own.
"""

from __future__ import annotations

import argparse
import json
import sys

from labelcheck.core.names import one_line
from labelcheck.core.wording import box_words
from labelcheck.run import logs

from labelcheck.cli.common import (EXIT_MATCHED, EXIT_OK, EXIT_USAGE, add_debug_flag,
                                   database_url)


def add_registry_parser(subparsers) -> argparse.ArgumentParser:
    """Add the ``registry`` command (add, list, remove) to a parser's subcommands."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--db", metavar="URL",
                        help="SQLAlchemy URL of the registry database (default: LABELCHECK_DB "
                             "or a SQLite file in the user data directory)")
    common.add_argument("--format", choices=["text", "json"], default="text")
    add_debug_flag(common)
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
    add.add_argument("--ai-made", action="store_true",
                     help="declare the originals AI-made (needed when their scan finds no AI "
                          "evidence: no AI label, AI metadata, watermark or generator trace)")
    add.set_defaults(run=run_add)
    check = actions.add_parser(
        "check", parents=[common], help="is this ad a copy of a registered original, and "
                                        "which of its disclosures did it lose?",
        description="Scan each file and name the registered original it copies, with what "
                    "became of each of the original's disclosures (a badge cropped off, "
                    "covered or mirrored; C2PA, IPTC or AIGC metadata stripped).")
    check.add_argument("paths", nargs="+", metavar="FILE", help="ads or feed screenshots")
    check.add_argument("--no-ocr", action="store_true",
                       help="skip reading text in the copy (a covered badge is then told by "
                            "its pixels alone)")
    check.set_defaults(run=run_check)
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
    from labelcheck.registry import NotAiMade, RegistryError
    from labelcheck.registry.enrol import register_file

    registry = _open(args.db)
    if registry is None:
        return EXIT_USAGE
    missing: list[str] = []
    added, failed = [], False
    for path in iter_files(args.paths, missing):
        try:
            asset = registry.get(register_file(registry, path, args.owner, args.note,
                                               declared_ai=args.ai_made))
        except NotAiMade as exc:
            print(f"labelcheck: {exc}. The registry holds AI-made originals only (every copy "
                  "of one is reported AI-made); if this one is AI-made, add it again with "
                  "--ai-made", file=sys.stderr)
            failed = True
            continue
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


def run_check(args) -> int:
    """Scan each file against the registry and answer: a copy of which original, and what
    did it lose. Exit 1 when a copy lost a disclosure."""
    from labelcheck.core.policy import Policy
    from labelcheck.core.settings import Settings
    from labelcheck.run.inputs import iter_files, scan_target
    from labelcheck.registry.copies import answer, copies_of

    registry = _open(args.db)
    if registry is None:
        return EXIT_USAGE
    settings = Settings(pixels=not args.no_ocr, db_url=registry.engine.url.render_as_string(
        hide_password=False), debug=args.debug)
    missing: list[str] = []
    results, lost = [], False
    for path in iter_files(args.paths, missing):
        report = scan_target(path, Policy.load("default"), settings).to_dict()
        copies = copies_of(report)
        lost |= any(copy.lost for copy in copies)
        results.append({"path": report["path"], "answer": answer(report, copies),
                        "copies": [copy.to_dict() for copy in copies],
                        "verdict": report["verdict"], "summary": report["summary"]})
        if args.format == "text":
            print(check_text(results[-1], copies))
    for path in missing:
        print(f"labelcheck: no such file or directory: {path}", file=sys.stderr)
    if args.format == "json":
        print(json.dumps(results, ensure_ascii=False, indent=1))
    if missing or not results:
        return EXIT_USAGE
    return EXIT_MATCHED if lost else EXIT_OK


def check_text(result: dict, copies) -> str:
    """A file's answer for people: the sentence, then what the copy lost and kept."""
    lines = [result["path"], f"  {result['answer']}"]
    for copy in copies:
        lines += [f"  {copy.label}: {copy.how}"]
        lines += [f"    lost: {item}" for item in copy.lost]
        lines += [f"    kept: {item}" for item in copy.kept]
    lines.append(f"  verdict: {result['verdict']}: {result['summary']}")
    return "\n".join(one_line(line) for line in lines) + "\n"


def describe(asset) -> str:
    """One line: id, file, owner and note, why it is held as AI-made and what the original
    discloses."""
    badges = [f'badge "{b["text"]}" at the {b.get("position") or "?"} ({box_words(b["box"])})'
              for b in asset.disclosures.get("visible", [])]
    layers = [name.upper() for name in ("c2pa", "iptc", "aigc") if asset.disclosures.get(name)]
    shown = "; ".join(badges + ([" + ".join(layers)] if layers else [])) or "no disclosure found"
    return f"{asset.label}: {shown}; AI-made: {asset.ai_basis}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="labelcheck")
    add_registry_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    logs.configure(args.debug)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
