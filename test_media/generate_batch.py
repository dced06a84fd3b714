#!/usr/bin/env python3
"""Deterministic mixed batches for the batch tests and benchmarks: many small, distinct files.

Run ``python test_media/generate_batch.py OUT --count N [--size 320x240] [--ads K]``. File ``i``
is one of five kinds, cycling: a plain JPEG, a PNG with AUTOMATIC1111 parameters (undisclosed
AI), a PNG with a GB 45438 AIGC label (disclosed), a JPEG whose XMP declares IPTC
trainedAlgorithmicMedia (disclosed), and a JPEG with camera EXIF (no AI signal). Every picture
is a different scene (seed ``i``), so every file has its own content hash. ``--ads K`` adds K
ad-like pictures from ``generate_labels.py`` (half with a visible AI label, half without; needs
its fonts). ``manifest.json`` lists each file with the verdict the default policy should give
(``null`` for the ads: that is the label benchmark's business).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import generate as gen  # noqa: E402

IPTC_XMP = gen.xmp_packet(namespaces={"Iptc4xmpExt": gen.NS_IPTC_EXT},
                          description_body="   <Iptc4xmpExt:DigitalSourceType>"
                                           f"{gen.TRAINED}</Iptc4xmpExt:DigitalSourceType>\n")


def _plain(scene):
    return "jpg", gen.encode_jpeg(scene), "no_ai_signal"


def _a1111(scene):
    return "png", gen.png_insert(gen.encode_png(scene),
                                 [gen.png_text_chunk("parameters", gen.A1111_PARAMETERS)]), \
        "undisclosed"


def _aigc(scene):
    return "png", gen.png_insert(gen.encode_png(scene),
                                 [gen.png_text_chunk("AIGC", gen.AIGC_JSON)]), "disclosed"


def _iptc(scene):
    return "jpg", gen.jpeg_with_xmp(gen.encode_jpeg(scene), IPTC_XMP), "disclosed"


def _camera(scene):
    exif = gen.make_exif(make="Labelcheck", model="Test Camera 1")
    return "jpg", gen.encode_jpeg(scene, exif=exif), "no_ai_signal"


KINDS = [("plain", _plain), ("a1111", _a1111), ("aigc", _aigc), ("iptc", _iptc),
         ("camera", _camera)]


def make_file(index: int, size: tuple[int, int] = (320, 240)) -> tuple[str, bytes, str]:
    """(file name, bytes, expected verdict) of file number `index`."""
    kind, build = KINDS[index % len(KINDS)]
    extension, data, verdict = build(gen.make_scene(size[0], size[1], seed=10_000 + index))
    return f"{index:05d}_{kind}.{extension}", data, verdict


def generate(out: str | Path, count: int, size: tuple[int, int] = (320, 240),
             ads: int = 0) -> list[dict]:
    """Write `count` mixed files (and `ads` ad-like pictures) into `out`; the manifest."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    manifest = []
    for index in range(count):
        name, data, verdict = make_file(index, size)
        (out / name).write_bytes(data)
        manifest.append({"file": name, "verdict": verdict})
    if ads:
        import generate_labels

        entries = generate_labels.generate(out / "ads", ads - ads // 2, ads // 2)
        manifest += [{"file": f"ads/{entry['file']}", "verdict": None} for entry in entries]
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1))
    return manifest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--count", type=int, default=100)
    parser.add_argument("--size", default="320x240")
    parser.add_argument("--ads", type=int, default=0)
    args = parser.parse_args(argv)
    width, height = (int(v) for v in args.size.split("x"))
    manifest = generate(args.out, args.count, (width, height), args.ads)
    print(f"{len(manifest)} files in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
