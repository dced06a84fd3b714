"""Recognise the text that image generators leave behind (A1111, ComfyUI, Fooocus, ...).

The same A1111 "parameters" text turns up in a PNG chunk, an EXIF UserComment and in alpha
LSBs (stealth pnginfo), so recognition lives here, apart from the containers, and each source
only says where it found the text.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from labelcheck.sources import terms
from labelcheck.core.model import Kind

A1111_FIELDS = re.compile(r"(?m)(Steps|Sampler|CFG scale|Seed|Model hash|Model|Version|Size): "
                          r"([^,\n]+)")
INVOKEAI_KEYS = {"invokeai_metadata", "invokeai_graph", "sd-metadata", "dream"}
MIDJOURNEY_JOB = re.compile(r"Job ID:\s*[0-9a-f]{8}-[0-9a-f]{4}-", re.I)


@dataclass
class Trace:
    """A recognised generator trace: which tool, and the settings worth showing."""

    code: str
    tool: str
    summary: dict[str, str] = field(default_factory=dict)
    confidence: float = 1.0


def recognise(keyword: str, text: str) -> Trace | None:
    """Identify the generator behind a (keyword, text) metadata pair, if any."""
    key = keyword.strip().lower()
    stripped = text.strip()
    if key in ("parameters", "usercomment", "") and _is_a1111(stripped):
        return Trace("a1111.parameters", "Stable Diffusion (AUTOMATIC1111 / Forge)",
                     _a1111_summary(stripped))
    if key in INVOKEAI_KEYS:
        return Trace("invokeai.metadata", "InvokeAI", {"chunk": keyword})
    if key == "fooocus_scheme":
        return Trace("fooocus.parameters", "Fooocus", {"scheme": stripped[:40]})
    settings = settings_json(stripped)
    if settings is not None:
        return settings
    if key == "software" and stripped.lower() == "novelai":
        return Trace("novelai.software", "NovelAI")
    if key == "description" and MIDJOURNEY_JOB.search(stripped):
        return Trace("midjourney.job_id", "Midjourney", {"description": stripped[:120]})
    if key in ("title", "description", "comment") and stripped.lower() == "ai generated image":
        return Trace("generator.ai_generated_title", "AI generator", {"text": stripped},
                     confidence=0.9)
    if key in ("software", "source", "author", "title", "artist", "make", "model",
               "imagedescription", "creatortool", "encoder", "comment"):
        generator = terms.match_generator(stripped)
        if generator:
            return Trace("generator.named", generator, {keyword: stripped[:120]}, 0.85)
    return None


def as_finding(source, trace: Trace, location: str, text: str):
    """The `ai_trace` finding for a recognised generator trace, shared by every container."""
    settings = ", ".join(f"{k}: {v}" for k, v in trace.summary.items() if k != "prompt")
    return source.finding(
        Kind.AI_TRACE, trace.code,
        f"{trace.tool} generation settings" + (f" ({settings})" if settings else ""),
        location=location, confidence=trace.confidence,
        details={"tool": trace.tool, **trace.summary, "excerpt": text[:300]})


def _is_a1111(text: str) -> bool:
    return "Steps: " in text and ("Sampler: " in text or "Seed: " in text)


def _a1111_summary(text: str) -> dict[str, str]:
    settings = text.rsplit("\n", 1)[-1] if "\n" in text else text
    summary = {name: value.strip() for name, value in A1111_FIELDS.findall(settings)}
    summary["prompt"] = text.split("\nNegative prompt:", 1)[0].split("\nSteps:", 1)[0][:120]
    return summary


# Generation settings as JSON are recognised by what they hold, whatever the tool and the key
# they sit under: SwarmUI's ``sui_image_params``, Fooocus and RuinedFooocus, Hugging Face Spaces,
# NovelAI, Civitai's generator, ComfyUI graphs in a PNG chunk or an EXIF tag. Keys are compared
# folded (lower case, letters and digits only), at any depth of the document.
SETTING_KEYS = {  # each kind of setting, its keys in the order their values are shown
    "sampler": ("sampler", "samplername", "comfyuisampler", "samplingmethod"),
    "steps": ("steps", "numinferencesteps", "samplingsteps", "ddimsteps", "numsteps"),
    "guidance": ("cfgscale", "cfg", "guidancescale", "guidance", "scale"),
    "seed": ("seed", "noiseseed", "seeds"),
    "model": ("basemodelname", "basemodel", "ckptname", "sdmodelcheckpoint", "checkpoint",
              "unetname", "modelname", "modelhash", "basemodelhash", "sdmodelhash"),
    "prompt": ("prompt", "negativeprompt", "positiveprompt", "uc"),
}
DIFFUSION_GROUPS = {"sampler", "steps", "guidance"}  # what no camera or editor JSON holds
MIN_GROUPS = 3
# Keys that name the tool that wrote the settings (folded, as above).
TOOL_KEYS = {"suiimageparams": "SwarmUI", "swarmversion": "SwarmUI",
             "basemodelname": "RuinedFooocus", "fooocusscheme": "Fooocus",
             "resourcestack": "Civitai generator", "extrametadata": "Civitai generator",
             "invokeaimetadata": "InvokeAI", "metadatascheme": "Fooocus"}
TOOL_VALUE_KEYS = {"software", "generator", "app", "creator", "source", "version", "model"}
JSON_PREFIXES = ("prompt:", "workflow:", "parameters:")  # ComfyUI's WebP EXIF tags
MAX_JSON_CHARS = 8 * 1024 * 1024
MAX_JSON_NODES = 20_000


def settings_json(text: str) -> Trace | None:
    """The generator trace in `text` when it is generation settings stored as JSON: a ComfyUI
    graph (nodes with ``class_type``, or a workflow's ``nodes`` and ``links``), or a document
    holding at least three kinds of diffusion settings (sampler, steps, guidance scale, seed,
    model, prompt), one of them sampler, steps or guidance. Camera and editor JSON has none
    of these, so it never passes."""
    data = _load_json(text)
    if not isinstance(data, (dict, list)):
        return None
    keys, values = _folded_keys(data)
    tool = _named_tool(keys, values)
    comfy = _comfy_nodes(data)
    if comfy:
        return Trace("comfyui.prompt", tool or "ComfyUI", _comfy_summary(comfy))
    if _is_comfy_workflow(data):
        return Trace("comfyui.workflow", tool or "ComfyUI")
    found = {group: next(name for name in names if name in keys)
             for group, names in SETTING_KEYS.items() if keys.intersection(names)}
    if len(found) < MIN_GROUPS or not found.keys() & DIFFUSION_GROUPS:
        return None
    summary = {group: str(values.get(name, ""))[:120] for group, name in found.items()
               if group != "prompt" and name in values}
    if tool:
        return Trace("generator.settings_json", tool, summary)
    return Trace("generator.settings_json", "diffusion model (generation settings)", summary,
                 confidence=0.9)


def _load_json(text: str):
    for prefix in JSON_PREFIXES:
        if text.startswith(prefix):
            text = text[len(prefix):].lstrip()
    if not text.startswith(("{", "[")) or len(text) > MAX_JSON_CHARS:
        return None
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return None


def _fold(key: str) -> str:
    return "".join(ch for ch in key.lower() if ch.isalnum())


def _folded_keys(data) -> tuple[set[str], dict[str, object]]:
    """Every key of every object in `data` (folded), and a scalar value seen under each,
    walked breadth first and bounded, so a hostile document costs little. A ComfyUI graph
    repeats a few dozen keys thousands of times, so each distinct key is folded once."""
    keys: set[str] = set()
    values: dict[str, object] = {}
    folds: dict[str, str] = {}
    queue, seen = [data], 0
    while queue and seen < MAX_JSON_NODES:
        node = queue.pop()
        seen += 1
        if not isinstance(node, dict):
            queue.extend(value for value in node if isinstance(value, (dict, list)))
            continue
        for key, value in node.items():
            folded = folds.get(key)
            if folded is None:
                folded = folds[key] = _fold(key)
            keys.add(folded)
            if isinstance(value, (dict, list)):
                queue.append(value)
            else:
                values.setdefault(folded, value)
    return keys, values


def _named_tool(keys: set[str], values: dict[str, object]) -> str | None:
    """The tool the document names: a marker key of its own, or a generator's name under a
    key such as ``software``."""
    marked = next((TOOL_KEYS[key] for key in sorted(keys) if key in TOOL_KEYS), None)
    named = (terms.match_generator(str(values.get(key, "")))
             for key in sorted(keys & TOOL_VALUE_KEYS))
    return marked or next((name for name in named if name), None)


def _comfy_nodes(data) -> list[dict]:
    """The nodes of a ComfyUI prompt graph (API format): objects with ``class_type`` and
    ``inputs``, at the top level or one level down (Civitai nests them)."""
    if not isinstance(data, dict):
        return []
    nodes = [node for node in data.values() if isinstance(node, dict) and "class_type" in node
             and isinstance(node.get("inputs"), dict)]
    if nodes:
        return nodes
    for value in data.values():
        if isinstance(value, dict):
            nested = [node for node in value.values() if isinstance(node, dict)
                      and "class_type" in node and isinstance(node.get("inputs"), dict)]
            if nested:
                return nested
    return []


def _is_comfy_workflow(data) -> bool:
    """A ComfyUI workflow (UI format): a list of typed nodes and a list of links."""
    return isinstance(data, dict) and isinstance(data.get("nodes"), list) and \
        isinstance(data.get("links"), list) and \
        any(isinstance(node, dict) and "type" in node for node in data["nodes"])


def _comfy_summary(nodes: list[dict]) -> dict[str, str]:
    classes = sorted({str(node.get("class_type", "")) for node in nodes})
    checkpoints = [node["inputs"]["ckpt_name"] for node in nodes
                   if "ckpt_name" in node["inputs"]]
    summary = {"nodes": ", ".join(classes)[:160]}
    if checkpoints:
        summary["checkpoint"] = str(checkpoints[0])
    return summary
