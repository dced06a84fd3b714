#!/usr/bin/env python3
"""Test files in every container and metadata variant that real tools write, built on demand.

`build_all()` returns ``{name: bytes}``; `write_all(out)` writes them with ``EXPECTED.json``
(what each file must give: format, kind, whether it is AI-generated, whether its pixels are
decoded). Run ``python test_media/generate_formats.py [--out DIR]`` (default
``test_media/generated/formats``). Nothing is committed: tests build what they need.

What is here, and why each one:
- still-image containers labelcheck once refused although a library here reads them: BMP, ICO,
  PCX, PPM, SGI, TGA, QOI (Pillow), JPEG 2000 as JP2, JPX and a bare codestream, BigTIFF, PSD
  (XMP in its image resources), JPEG XL (XMP, EXIF and C2PA in its boxes), SVG (XMP in
  ``<metadata>``, and signed with C2PA), GIF87a and animated GIF89a with XMP, a JPEG with junk
  between its segments, Motion JPEG 2000 (a video), a Canon CR3 raw (an ISO BMFF file that is
  not a video);
- XMP as exiftool and Windows write it: UTF-16 and UTF-32 in both byte orders (the byte-order
  mark inside the packet wrapper, not at the start), and an ``xmp:xmpmeta`` root element;
- generator settings stored as JSON: SwarmUI ``sui_image_params`` (PNG text and JPEG EXIF
  UserComment), ComfyUI graphs in EXIF (a JPEG's UserComment; WebP Make/Model tags prefixed
  ``workflow:``/``prompt:`` as ComfyUI's WebP saver writes them), Civitai's generator graph,
  a Hugging Face Space's ``parameters`` JSON, RuinedFooocus; and camera and editor JSON that
  must not count.

Libraries: Pillow (with pillow-jxl-plugin), numpy, PyAV, c2pa-python through ``generate.py``.
"""

from __future__ import annotations

import argparse
import io
import json
import struct
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import generate  # noqa: E402

DEFAULT_OUT = HERE / "generated" / "formats"
SIZE = (96, 64)
IPTC_AI = generate.TRAINED


def _picture(seed: int = 5) -> np.ndarray:
    return generate.make_scene(SIZE[0], SIZE[1], seed=seed)


def _pillow(fmt: str, **options) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    image = Image.fromarray(_picture())
    if fmt in ("PCX", "SGI", "PPM", "TGA", "QOI", "BMP", "JPEG2000", "TIFF", "GIF"):
        image = image.convert(options.pop("mode", "RGB"))
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def ai_xmp(root: str = "x:xmpmeta", wrapper: bool = True) -> str:
    """An XMP packet declaring IPTC trainedAlgorithmicMedia; `root` is the root element's
    qualified name (Windows Photo Gallery writes ``xmp:xmpmeta``)."""
    prefix = root.split(":")[0]
    body = (f'<{root} xmlns:{prefix}="adobe:ns:meta/"><rdf:RDF '
            'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description '
            'rdf:about="" xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/" '
            f'Iptc4xmpExt:DigitalSourceType="{IPTC_AI}"/></rdf:RDF></{root}>')
    if not wrapper:
        return body
    return ('<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n' + body
            + '\n<?xpacket end="w"?>')


# -- containers ------------------------------------------------------------------------------


def _jpeg_app1(xmp: bytes) -> bytes:
    """A JPEG whose APP1 XMP segment holds `xmp` as given (any encoding)."""
    header = b"http://ns.adobe.com/xap/1.0/\0"
    return generate.jpeg_insert_app(generate.encode_jpeg(_picture()),
                                    [generate.jpeg_segment(0xE1, header + xmp)])


def junk_jpeg() -> bytes:
    """An AI-declaring JPEG with junk bytes between two of its segments (Pillow and libjpeg
    skip them)."""
    data = _jpeg_app1(ai_xmp().encode("utf-8"))
    at = data.find(b"\xff\xdb")  # before the first quantisation table
    return data[:at] + b"junk\0bytes" + data[at:]


def tiff_with_utf16_xmp() -> bytes:
    """A TIFF whose XMP (tag 700) is UTF-16-LE: found by searching, whatever the encoding."""
    from PIL import Image, TiffImagePlugin, TiffTags

    info = TiffImagePlugin.ImageFileDirectory_v2()
    info[700] = ai_xmp().encode("utf-16-le")
    info.tagtype[700] = TiffTags.BYTE
    buffer = io.BytesIO()
    Image.fromarray(_picture()).save(buffer, "TIFF", tiffinfo=info)
    return buffer.getvalue()


def bigtiff() -> bytes:
    """A BigTIFF (64-bit offsets) whose IFD0 names an AI generator in Software."""
    from PIL import Image

    image = Image.fromarray(_picture())
    exif = image.getexif()
    exif[0x0131] = "Midjourney"
    buffer = io.BytesIO()
    image.save(buffer, "TIFF", big_tiff=True, exif=exif)
    return buffer.getvalue()


def jp2(brand: bytes = b"jp2 ") -> bytes:
    """A JP2 (or, with brand ``jpx``, a JPX) with the XMP uuid box after its header."""
    data = _pillow("JPEG2000", no_jp2=False)
    xmp = ai_xmp().encode("utf-8")
    uuid_box = struct.pack(">I4s", 8 + 16 + len(xmp), b"uuid") \
        + bytes.fromhex("be7acfcb97a942e89c71999491e3afac") + xmp
    data = data[:20] + brand + data[24:]  # ftyp's brand
    at = data.find(b"jp2c") - 4
    return data[:at] + uuid_box + data[at:]


def psd() -> bytes:
    """A flat 8-bit RGB Photoshop document with XMP in image resource 1060."""
    height, width = SIZE[1], SIZE[0]
    pixels = _picture()
    header = b"8BPS" + struct.pack(">H6xHIIHH", 1, 3, height, width, 8, 3)
    xmp = ai_xmp().encode("utf-8")
    resource = b"8BIM" + struct.pack(">H", 1060) + b"\0\0" + struct.pack(">I", len(xmp)) + xmp
    resource += b"\0" * (len(xmp) & 1)
    planes = b"".join(pixels[:, :, channel].tobytes() for channel in range(3))
    return (header + struct.pack(">I", 0) + struct.pack(">I", len(resource)) + resource
            + struct.pack(">I", 0) + struct.pack(">H", 0) + planes)


def jxl(with_xmp: bool = True) -> bytes:
    """A JPEG XL container with an EXIF box naming the camera and (`with_xmp`) an
    AI-declaring XMP box."""
    from PIL import Image

    import pillow_jxl  # noqa: F401 - registers the JXL plugin

    image = Image.fromarray(_picture())
    exif = Image.Exif()
    exif[0x010F] = "Labelcheck"
    exif[0x0110] = "Test Camera"
    buffer = io.BytesIO()
    xmp = ai_xmp() if with_xmp else '<x:xmpmeta xmlns:x="adobe:ns:meta/"/>'
    image.save(buffer, "JXL", exif=exif.tobytes(), xmp=xmp.encode("utf-8"))
    return buffer.getvalue()


def svg(with_xmp: bool = True) -> bytes:
    metadata = f"<metadata>{ai_xmp(wrapper=False)}</metadata>" if with_xmp else ""
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<!-- drawn by hand -->\n'
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{SIZE[0]}" height="{SIZE[1]}">'
            f'{metadata}<rect width="{SIZE[0]}" height="{SIZE[1]}" fill="#36c"/></svg>\n'
            ).encode("utf-8")


def gif89_animated_with_xmp() -> bytes:
    """An animated GIF89a with an XMP application extension (as Photoshop writes it)."""
    from PIL import Image

    frames = [Image.fromarray(_picture(seed)).convert("P") for seed in (5, 6, 7)]
    buffer = io.BytesIO()
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:], duration=100,
                   loop=0)
    data = buffer.getvalue()
    xmp = ai_xmp().encode("utf-8")
    magic = bytes([1]) + bytes(range(255, -1, -1)) + b"\0"  # the XMP "magic trailer"
    extension = b"\x21\xff\x0bXMP DataXMP" + xmp + magic
    at = data.find(b"\x21\xf9")  # before the first graphic control extension
    return data[:at] + extension + data[at:]


def mj2() -> bytes:
    """Motion JPEG 2000: JPEG 2000 frames in a QuickTime-style file that starts with the JP2
    signature box and an ``mjp2`` brand (PyAV's FFmpeg has no mj2 muxer, so the MOV it
    writes is given that start, and its chunk offsets moved by the added 12 bytes)."""
    import av

    buffer = io.BytesIO()
    with av.open(buffer, "w", format="mov") as container:
        stream = container.add_stream("jpeg2000", rate=10)
        stream.width, stream.height, stream.pix_fmt = SIZE[0], SIZE[1], "rgb24"
        for seed in range(5):
            frame = av.VideoFrame.from_ndarray(_picture(seed), format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    data = bytearray(buffer.getvalue())
    assert data[4:8] == b"ftyp"
    ftyp_size = int.from_bytes(data[:4], "big")
    head = b"\0\0\0\x0cjP  \r\n\x87\n" + struct.pack(">I4s4sI4s", 20, b"ftyp", b"mjp2", 0,
                                                         b"mjp2")
    _shift_chunk_offsets(data, len(head) - ftyp_size)
    return head + bytes(data[ftyp_size:])


def _shift_chunk_offsets(data: bytearray, shift: int) -> None:
    from labelcheck.formats.bmff import iter_boxes, walk_bmff

    for box in iter_boxes(walk_bmff(bytes(data)).items):
        if box.type == "stco":
            start = box.offset + box.header
            count = int.from_bytes(data[start + 4:start + 8], "big")
            for index in range(count):
                at = start + 8 + 4 * index
                value = int.from_bytes(data[at:at + 4], "big") + shift
                data[at:at + 4] = value.to_bytes(4, "big")


def cr3() -> bytes:
    """A Canon CR3 reduced to what labelcheck reads: ``ftyp crx`` and, in the moov's Canon
    uuid box, ``CMT1`` (IFD0: Make, Model). It must be taken for a raw image, not a video."""
    from PIL import Image

    exif = Image.Exif()
    exif[0x010F] = "Canon"
    exif[0x0110] = "Canon EOS R5"
    tiff = exif.tobytes()[6:] if exif.tobytes().startswith(b"Exif") else exif.tobytes()
    cmt1 = struct.pack(">I4s", 8 + len(tiff), b"CMT1") + tiff
    canon = struct.pack(">I4s", 8 + 16 + len(cmt1), b"uuid") \
        + bytes.fromhex("85c0b687820f11e08111f4ce462b6a48") + cmt1
    moov = struct.pack(">I4s", 8 + len(canon), b"moov") + canon
    ftyp = struct.pack(">I4s4sI4s4s", 24, b"ftyp", b"crx ", 1, b"crx ", b"isom")
    mdat = struct.pack(">I4s", 8 + 64, b"mdat") + bytes(64)
    return ftyp + moov + mdat


# -- generator settings as JSON ---------------------------------------------------------------

SWARMUI = {"sui_image_params": {"prompt": "a lighthouse at dawn", "negativeprompt": "",
                                "model": "OfficialStableDiffusion/sd_xl_base_1.0", "seed": 1,
                                "steps": 20, "cfgscale": 7.0, "width": 1024, "height": 1024,
                                "sampler": "euler", "scheduler": "normal",
                                "swarm_version": "0.9.3.1"},
           "sui_extra_data": {"date": "2025-01-25", "generation_time": "4.84 sec"},
           "sui_models": [{"name": "sd_xl_base_1.0.safetensors", "param": "model",
                           "hash": "0xd7a9"}]}
COMFY_PROMPT = {"3": {"class_type": "KSampler",
                      "inputs": {"seed": 5, "steps": 20, "cfg": 7.0, "sampler_name": "euler",
                                 "model": ["4", 0]}},
                "4": {"class_type": "CheckpointLoaderSimple",
                      "inputs": {"ckpt_name": "sd_xl_base_1.0.safetensors"}},
                "9": {"class_type": "SaveImage", "inputs": {"images": ["3", 0]}}}
COMFY_WORKFLOW = {"last_node_id": 9, "nodes": [{"id": 3, "type": "KSampler"},
                                               {"id": 9, "type": "SaveImage"}],
                  "links": [[1, 3, 0, 9, 0, "IMAGE"]], "version": 0.4}
CIVITAI = {"resource-stack": {"class_type": "CheckpointLoaderSimple",
                              "inputs": {"ckpt_name": "urn:air:sdxl:checkpoint:civitai:1@2"}},
           "sampler": {"class_type": "KSampler",
                       "inputs": {"seed": 9, "steps": 25, "cfg": 5, "sampler_name": "dpmpp_2m"}},
           "extra": {"airs": ["urn:air:sdxl:checkpoint:civitai:1@2"]},
           "extraMetadata": "{\"prompt\": \"a red fox\", \"steps\": 25}"}
HF_SPACE = {"prompt": "an astronaut riding a horse", "negative_prompt": "", "seed": 42,
            "guidance_scale": 7.5, "num_inference_steps": 30, "width": 1024, "height": 1024,
            "model": "stabilityai/stable-diffusion-xl-base-1.0"}
RUINED_FOOOCUS = {"Prompt": "a castle", "Negative": "", "steps": 30, "cfg": 8, "width": 1152,
                  "height": 896, "seed": 5, "sampler_name": "dpmpp_2m_sde_gpu",
                  "scheduler": "karras", "base_model_name": "sd_xl_base_1.0.safetensors",
                  "base_model_hash": "31e35c80fc", "loras": [], "software": "RuinedFooocus"}
CAMERA_JSON = {"make": "Canon", "model": "EOS R5", "lens": "RF24-70mm F2.8 L IS USM",
               "iso": 100, "exposure": "1/250", "fnumber": 4.0,
               "gps": {"latitude": 48.85, "longitude": 2.35}}
EDITOR_JSON = {"version": 2, "app": "Snapseed", "steps": [{"op": "crop"},
                                                          {"op": "exposure", "amount": 0.3}],
               "model": "Pixel 8", "seed": 4}
TAKEOUT_JSON = {"title": "IMG_0001.jpg", "description": "", "imageViews": "3",
                "creationTime": {"timestamp": "1700000000"},
                "geoData": {"latitude": 0.0, "longitude": 0.0}}


def png_text(keyword: str, text: str) -> bytes:
    return generate.png_insert(generate.encode_png(_picture()),
                               [generate.png_itxt_chunk(keyword, text)])


def jpeg_user_comment(text: str) -> bytes:
    """A JPEG whose EXIF UserComment holds `text` (UNICODE prefix, UTF-16, as SwarmUI and
    A1111 write it)."""
    comment = b"UNICODE\0" + text.encode("utf-16-be")
    return generate.encode_jpeg(_picture(), exif=generate.make_exif(user_comment=comment))


def webp_exif(tags: dict[int, str]) -> bytes:
    """A WebP whose EXIF IFD0 holds `tags` (ComfyUI's WebP saver: Make and Model)."""
    from PIL import Image

    exif = Image.Exif()
    for tag, value in tags.items():
        exif[tag] = value
    buffer = io.BytesIO()
    Image.fromarray(_picture()).save(buffer, "WEBP", exif=exif, lossless=True)
    return buffer.getvalue()


# -- the set ---------------------------------------------------------------------------------

def expected(fmt: str, kind: str, ai: bool, pixels: str = "decoded") -> dict:
    """What a file must give: its `format` (report media type), `kind`, `ai_generated`, and
    `pixels`: ``decoded``, ``not_decoded`` (by design: SVG, raw) or ``video``."""
    return {"media_type": fmt, "kind": kind, "ai_generated": ai, "pixels": pixels}


def build_all(pki=None) -> dict[str, tuple[bytes, dict]]:
    """Every file: name -> (bytes, expected)."""
    pki = pki or generate.build_test_pki()
    files: dict[str, tuple[bytes, dict]] = {}

    def add(name, data, *args, **kwargs):
        files[name] = (data, expected(*args, **kwargs))

    for name, fmt, mime in (("picture.bmp", "BMP", "image/bmp"),
                            ("picture.ico", "ICO", "image/x-icon"),
                            ("picture.pcx", "PCX", "image/x-pcx"),
                            ("picture.ppm", "PPM", "image/x-portable-anymap"),
                            ("picture.sgi", "SGI", "image/sgi"),
                            ("picture.tga", "TGA", "image/x-tga"),
                            ("picture.qoi", "QOI", "image/x-qoi")):
        add(name, _pillow(fmt), mime, "image", False)
    add("picture.j2k", _pillow("JPEG2000", no_jp2=True), "image/jp2", "image", False)
    add("iptc_ai.jp2", jp2(), "image/jp2", "image", True)
    add("iptc_ai.jpf", jp2(b"jpx "), "image/jpx", "image", True)
    add("generator_software.btf", bigtiff(), "image/tiff", "image", True)
    add("iptc_ai.psd", psd(), "image/vnd.adobe.photoshop", "image", True)
    add("iptc_ai.jxl", jxl(), "image/jxl", "image", True)
    add("c2pa_ai.jxl", generate.c2pa_sign(jxl(with_xmp=False), "image/jxl",
                                          generate.ai_manifest("c2pa_ai.jxl"), pki),
        "image/jxl", "image", True)
    add("iptc_ai.svg", svg(), "image/svg+xml", "image", True, "not_decoded")
    add("c2pa_ai.svg", generate.c2pa_sign(svg(with_xmp=False), "image/svg+xml",
                                          generate.ai_manifest("c2pa_ai.svg"), pki),
        "image/svg+xml", "image", True, "not_decoded")
    add("c2pa_ai.gif", generate.c2pa_sign(_pillow("GIF"), "image/gif",
                                          generate.ai_manifest("c2pa_ai.gif"), pki),
        "image/gif", "image", True)
    add("gif87a.gif", _pillow("GIF"), "image/gif", "image", False)
    add("iptc_ai_animated.gif", gif89_animated_with_xmp(), "image/gif", "image", True)
    add("iptc_ai_junk_between_segments.jpg", junk_jpeg(), "image/jpeg", "image", True)
    add("motion.mj2", mj2(), "video/mj2", "video", False, "video")
    add("canon.cr3", cr3(), "image/x-canon-cr3", "image", False, "not_decoded")
    for codec in ("utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"):
        add(f"iptc_ai_xmp_{codec.replace('-', '')}.jpg", _jpeg_app1(ai_xmp().encode(codec)),
            "image/jpeg", "image", True)
    add("iptc_ai_xmp_utf16_tag700.tif", tiff_with_utf16_xmp(), "image/tiff", "image", True)
    add("iptc_ai_xmp_prefix_xmp.jpg", _jpeg_app1(ai_xmp("xmp:xmpmeta").encode("utf-8")),
        "image/jpeg", "image", True)
    add("swarmui.png", png_text("parameters", json.dumps(SWARMUI, indent=2)), "image/png",
        "image", True)
    add("swarmui.jpg", jpeg_user_comment(json.dumps(SWARMUI)), "image/jpeg", "image", True)
    add("comfyui_usercomment.jpg", jpeg_user_comment(json.dumps(COMFY_PROMPT)), "image/jpeg",
        "image", True)
    add("comfyui.webp", webp_exif({0x010F: "workflow:" + json.dumps(COMFY_WORKFLOW),
                                   0x0110: "prompt:" + json.dumps(COMFY_PROMPT)}),
        "image/webp", "image", True)
    add("civitai.jpg", jpeg_user_comment(json.dumps(CIVITAI)), "image/jpeg", "image", True)
    add("hf_space.png", png_text("parameters", json.dumps(HF_SPACE)), "image/png", "image",
        True)
    add("ruined_fooocus.png", png_text("parameters", json.dumps(RUINED_FOOOCUS)), "image/png",
        "image", True)
    add("camera_json.jpg", jpeg_user_comment(json.dumps(CAMERA_JSON)), "image/jpeg", "image",
        False)
    add("editor_json.png", png_text("Comment", json.dumps(EDITOR_JSON)), "image/png", "image",
        False)
    add("takeout_json.png", png_text("Description", json.dumps(TAKEOUT_JSON)), "image/png",
        "image", False)
    return files


def write_all(out: Path) -> dict[str, dict]:
    out.mkdir(parents=True, exist_ok=True)
    table = {}
    for name, (data, row) in build_all().items():
        (out / name).write_bytes(data)
        table[name] = row
    (out / "EXPECTED.json").write_text(json.dumps(table, indent=1) + "\n", encoding="utf-8")
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    table = write_all(args.out)
    print(f"{len(table)} files in {args.out}")


if __name__ == "__main__":
    main()
