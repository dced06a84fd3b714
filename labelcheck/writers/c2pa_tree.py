"""The C2PA manifest store as a tree for people: what the web page and the HTML report show.

The c2pa source (`labelcheck.sources.c2pa`) reads and validates the store once, for the
verdict; this module only presents that reading (`Media.c2pa_store`), in the scan worker, as
part of the display evidence. Every value is a string from the file: the pages escape it.
"""

from __future__ import annotations

from labelcheck.sources.c2pa import generator_info

TREE_DEPTH = 8  # ingredient chains deeper than this are cut (a hostile store can nest forever)


def store_tree(store: dict) -> dict:
    """The manifest store the c2pa source read (the Reader's JSON) as a tree to display.

    Nodes are ``{"label", "value", "status", "children"}``; `status` is ``ok``, ``info`` or
    ``fail`` on validation codes. The active manifest comes first with its ingredients, each
    ingredient with its validation codes and its own manifest nested under it.
    """
    manifests = store.get("manifests") or {}
    seen: set[str] = set()
    children = [_manifest_node("Active manifest", store.get("active_manifest"), manifests,
                               seen, 0)]
    results = (store.get("validation_results") or {}).get("activeManifest")
    children.append(_node("Validation of the active manifest", None,
                          _status_nodes(results, store.get("validation_status"))))
    children.extend(_manifest_node("Other manifest", label, manifests, seen, 0)
                    for label in manifests if label not in seen)
    return _node("C2PA manifest store",
                 f"{len(manifests)} manifest(s); validation state "
                 f"{store.get('validation_state', 'unknown')}", children)


def _node(label: str, value, children: list | None = None, status: str | None = None) -> dict:
    return {"label": label, "value": None if value is None else str(value), "status": status,
            "children": children or []}


def _manifest_node(role: str, label, manifests: dict, seen: set, depth: int) -> dict:
    manifest = manifests.get(label)
    if manifest is None:
        return _node(role, f"{label} (not in this store)", status="fail")
    if label in seen or depth >= TREE_DEPTH:
        return _node(role, f"{label} (shown above)")
    seen.add(label)
    signature = manifest.get("signature_info") or {}
    children = [_node("Title", manifest.get("title")),
                _node("Made by", manifest.get("claim_generator") or generator_info(manifest)),
                _node("Signed by", " ".join(str(part) for part in (
                    signature.get("common_name") or signature.get("issuer") or "unknown",
                    signature.get("time") or "") if part))]
    children.extend(_assertion_node(assertion) for assertion in manifest.get("assertions") or []
                    if isinstance(assertion, dict))
    for ingredient in manifest.get("ingredients") or []:
        if isinstance(ingredient, dict):
            children.append(_ingredient_node(ingredient, manifests, seen, depth))
    return _node(role, label, children)


def _assertion_node(assertion: dict) -> dict:
    """An assertion by label; actions are listed one by one with their source type."""
    label = str(assertion.get("label", ""))
    actions = (assertion.get("data") or {}).get("actions") if label.startswith(
        "c2pa.actions") else None
    children = [_node("Action", " ".join(str(part) for part in (
        action.get("action", ""), action.get("digitalSourceType", "")) if part))
        for action in actions or [] if isinstance(action, dict)]
    return _node("Assertion", label, children)


def _ingredient_node(ingredient: dict, manifests: dict, seen: set, depth: int) -> dict:
    results = (ingredient.get("validation_results") or {}).get("activeManifest")
    children = _status_nodes(results, ingredient.get("validation_status"))
    if ingredient.get("active_manifest"):
        children.append(_manifest_node("Its manifest", ingredient["active_manifest"],
                                       manifests, seen, depth + 1))
    return _node("Ingredient", f"{ingredient.get('title', 'untitled')} "
                 f"({ingredient.get('relationship', 'unknown relationship')})", children)


def _status_nodes(results: dict | None, legacy: list | None) -> list[dict]:
    """Validation codes: success/informational/failure lists, or the older flat list (all
    failures)."""
    groups = results or {"failure": legacy or []}
    return [_node(status.get("code", ""), status.get("explanation"), status=mark)
            for key, mark in (("failure", "fail"), ("informational", "info"), ("success", "ok"))
            for status in groups.get(key) or [] if isinstance(status, dict)]
