"""Shared fixtures: where the bundled and the third-party media live, and a private store."""

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TEST_MEDIA = ROOT / "test_media"
REAL_MEDIA = ROOT.parent / "shared" / "real_media"


@pytest.fixture(autouse=True)
def private_store(tmp_path, monkeypatch):
    """Every test gets its own results database and user data directory, never the user's:
    the CLI reads ``LABELCHECK_DB``, and a scan given no database uses the data directory."""
    url = f"sqlite:///{tmp_path / 'labelcheck.db'}"
    monkeypatch.setenv("LABELCHECK_DB", url)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    return url


@pytest.fixture
def media():
    """Path of a bundled test file by name."""
    return lambda name: TEST_MEDIA / name


@pytest.fixture(scope="session")
def clips():
    """The generated test videos (`test_media/generate_videos.py`), written once."""
    import sys

    sys.path.insert(0, str(TEST_MEDIA))
    import generate_labels
    import generate_videos

    try:
        generate_labels.resolve_fonts()
    except generate_labels.FontMissingError as exc:
        pytest.skip(str(exc))
    return generate_videos.ensure_clips(TEST_MEDIA / "generated" / "videos")


@pytest.fixture(scope="session")
def real_media():
    if not REAL_MEDIA.is_dir():
        pytest.skip("../shared/real_media is not available")
    return REAL_MEDIA


def load_expected(path: Path) -> list:
    return json.loads(path.read_text()) if path.is_file() else []


def small_jpeg(size=(64, 48)) -> bytes:
    """A tiny real JPEG with no metadata."""
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", size, (120, 140, 160)).save(buffer, "JPEG", quality=80)
    return buffer.getvalue()


def with_app_segment(jpeg: bytes, marker: int, payload: bytes) -> bytes:
    """`jpeg` with one more APPn segment right after SOI."""
    import struct

    return jpeg[:2] + bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload \
        + jpeg[2:]


def jpeg_with_xmp(xmp: str) -> bytes:
    return with_app_segment(small_jpeg(), 0xE1, b"http://ns.adobe.com/xap/1.0/\0"
                            + xmp.encode("utf-8"))


def xmp_packet(body: str, namespaces: str = "") -> str:
    return ('<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
            'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
            f'<rdf:Description rdf:about="" {namespaces}>{body}</rdf:Description>'
            '</rdf:RDF></x:xmpmeta>')


def png_with_text(chunks: dict, size=(64, 48), mode="RGB") -> bytes:
    """A tiny real PNG carrying the given iTXt chunks (keyword -> text)."""
    import io

    from PIL import Image, PngImagePlugin

    info = PngImagePlugin.PngInfo()
    for keyword, text in chunks.items():
        info.add_itxt(keyword, text)
    buffer = io.BytesIO()
    Image.new(mode, size, (90, 100, 110)).save(buffer, "PNG", pnginfo=info)
    return buffer.getvalue()
