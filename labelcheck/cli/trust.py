"""The ``labelcheck trust`` command, and the trust options every scanning command shares.

``labelcheck trust`` shows the trust lists a scan validates C2PA signers against: the bundled
official C2PA Trust List and TSA Trust List (their entities, certificates, issue and
next-update dates), and with ``--trust-anchors FILE`` the user's anchors too. A list past its
next-update date is named on stderr: a newer official list exists, and labelcheck should be
updated. Exit codes: 0 done; 2 a trust anchors file that cannot be used.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys

from labelcheck.cli.common import EXIT_OK, EXIT_USAGE
from labelcheck.sources.c2pa.trust import (ANCHORS, NONE, OFFICIAL, TRUST_MODES, TrustError,
                                           TrustList, trust_setup)

TRUST_HELP = ("which C2PA signers count as trusted: official (default) = the bundled C2PA Trust "
              "List and TSA Trust List, plus --trust-anchors if given; anchors = only "
              "--trust-anchors; none = trust is not checked")
ANCHORS_HELP = ("C2PA trust anchors: PEM certificates, or a trust list in the C2PA LoTE JSON "
                "form; added to the official list (replacing it with --trust anchors)")


def add_trust_options(parser: argparse.ArgumentParser) -> None:
    """``--trust`` and ``--trust-anchors``, as ``scan`` and ``trust`` take them."""
    parser.add_argument("--trust", choices=TRUST_MODES, default=OFFICIAL, help=TRUST_HELP)
    parser.add_argument("--trust-anchors", metavar="FILE", help=ANCHORS_HELP)


def checked_trust(args) -> bool:
    """Whether the trust options can be used; if not, says why on stderr. The lists are
    parsed here, once, so that a broken anchors file stops the command before any scan."""
    if args.trust == NONE and args.trust_anchors:
        print("labelcheck: --trust none checks no signer; it cannot go with --trust-anchors",
              file=sys.stderr)
        return False
    try:
        setup = trust_setup(args.trust, args.trust_anchors)
    except TrustError as exc:
        print(f"labelcheck: {exc}", file=sys.stderr)
        return False
    warn_stale(setup.lists)
    return True


def warn_stale(lists, now: dt.datetime | None = None) -> None:
    for trust_list in lists:
        if trust_list.is_stale(now):
            print(f"labelcheck: warning: the {trust_list.name} ({trust_list.origin}) was due "
                  f"to be replaced on {trust_list.next_update:%Y-%m-%d}; signers added or "
                  "removed since are not known here (update labelcheck)", file=sys.stderr)


def add_trust_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "trust", help="show the C2PA trust lists signers are validated against",
        description="Show the trust lists a scan validates C2PA signers against: the bundled "
                    "official C2PA Trust List and TSA Trust List (entities, certificates, "
                    "dates), and your --trust-anchors.")
    add_trust_options(parser)
    parser.add_argument("--format", choices=["text", "json"], default="text")
    parser.set_defaults(run=run_trust)
    return parser


def run_trust(args) -> int:
    if not checked_trust(args):
        return EXIT_USAGE
    setup = trust_setup(args.trust, args.trust_anchors)
    if args.format == "json":
        print(json.dumps({"trust": args.trust, "lists": [list_dict(t) for t in setup.lists]},
                         ensure_ascii=False, indent=2))
        return EXIT_OK
    if not setup.lists:
        print("trust: none (C2PA signatures are validated, their signers are not judged)")
    for trust_list in setup.lists:
        print(list_text(trust_list))
    if args.trust == ANCHORS:
        print("(the official lists are not used: --trust anchors)")
    return EXIT_OK


def list_dict(trust_list: TrustList) -> dict:
    return {"name": trust_list.name, "origin": trust_list.origin,
            "operator": trust_list.operator,
            "issued": trust_list.issued.isoformat() if trust_list.issued else None,
            "next_update": (trust_list.next_update.isoformat() if trust_list.next_update
                            else None),
            "past_next_update": trust_list.is_stale(),
            "entities": trust_list.entities()}


def list_text(trust_list: TrustList) -> str:
    dates = ""
    if trust_list.issued:
        dates = f", issued {trust_list.issued:%Y-%m-%d}"
    if trust_list.next_update:
        dates += f", next update {trust_list.next_update:%Y-%m-%d}"
        if trust_list.is_stale():
            dates += " (PAST: a newer list exists)"
    entities = trust_list.entities()
    lines = [f"{trust_list.name} ({trust_list.origin}{dates}): {len(entities)} entities, "
             f"{len(trust_list.entries)} certificates"]
    for entity, services in entities.items():
        lines.append(f"  {entity}")
        lines.extend(f"    - {service}" for service in services)
    return "\n".join(lines)
