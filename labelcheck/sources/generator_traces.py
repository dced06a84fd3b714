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
    if key in ("fooocus_scheme",) or (key == "parameters" and _json_has(stripped,
                                                                        "base_model")):
        return Trace("fooocus.parameters", "Fooocus", _json_summary(stripped, "base_model"))
    if key == "prompt" and _is_comfy_prompt(stripped):
        return Trace("comfyui.prompt", "ComfyUI", _comfy_summary(stripped))
    if key == "workflow" and _json_has(stripped, "nodes"):
        return Trace("comfyui.workflow", "ComfyUI")
    if key in INVOKEAI_KEYS:
        return Trace("invokeai.metadata", "InvokeAI", {"chunk": keyword})
    if key == "software" and stripped.lower() == "novelai":
        return Trace("novelai.software", "NovelAI")
    if key == "comment" and _json_has(stripped, "sampler") and _json_has(stripped, "steps"):
        return Trace("generator.settings_json", "diffusion model (sampler settings)",
                     _json_summary(stripped, "sampler"), confidence=0.9)
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


def _load_json(text: str):
    if not text.startswith(("{", "[")):
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


def _json_has(text: str, key: str) -> bool:
    data = _load_json(text)
    return isinstance(data, dict) and key in data


def _json_summary(text: str, key: str) -> dict[str, str]:
    data = _load_json(text) or {}
    return {key: str(data.get(key))[:120]}


def _is_comfy_prompt(text: str) -> bool:
    data = _load_json(text)
    return isinstance(data, dict) and any(
        isinstance(node, dict) and "class_type" in node for node in data.values())


def _comfy_summary(text: str) -> dict[str, str]:
    nodes = (_load_json(text) or {}).values()
    classes = sorted({node.get("class_type", "") for node in nodes if isinstance(node, dict)})
    checkpoints = [node.get("inputs", {}).get("ckpt_name") for node in nodes
                   if isinstance(node, dict) and "ckpt_name" in node.get("inputs", {})]
    summary = {"nodes": ", ".join(classes)[:160]}
    if checkpoints:
        summary["checkpoint"] = str(checkpoints[0])
    return summary
