"""Every frame shape, pixel format, codec and container users send reads its label.

The clips come from `test_media/generate_video_matrix.py` (PyAV, ~1 s each, generated once into
``test_media/generated/video_matrix``). Each shows "AI generated" in its top-right corner as
*displayed*; the scan must find it there, in the displayed frame's coordinates, whatever the
stored frame's shape, line padding, rotation or container.
"""

import sys

import pytest

from conftest import REAL_MEDIA, TEST_MEDIA
from labelcheck import scan
from labelcheck.core.model import Verdict
from labelcheck.formats.media import Media

sys.path.insert(0, str(TEST_MEDIA))
import generate_labels  # noqa: E402
import generate_video_matrix as matrix  # noqa: E402

OUT = TEST_MEDIA / "generated" / "video_matrix"


@pytest.fixture(scope="session", autouse=True)
def fonts():
    try:
        generate_labels.resolve_fonts()
    except generate_labels.FontMissingError as exc:
        pytest.skip(str(exc))


@pytest.mark.parametrize("variant", matrix.VARIANTS, ids=lambda variant: variant.name)
def test_every_clip_reads_its_label_where_it_is_shown(variant):
    report = scan(matrix.build(variant, OUT))
    assert report.verdict is Verdict.DISCLOSED, (report.error, report.summary)
    interval = report.timeline["intervals"][0]
    assert interval["text"].lower().endswith("generated") and interval["lang"] == "en"
    assert interval["start_s"] == 0.0
    assert report.timeline["duration_s"] == pytest.approx(variant.seconds, abs=0.2)
    x, y, w, h = interval["box"]
    bx, by, bw, bh = matrix.badge_box(variant)
    assert bx - 2 <= x and by - 2 <= y and x + w <= bx + bw + 2 and y + h <= by + bh + 2, (
        interval["box"], matrix.badge_box(variant))
    frames = next(f for f in report.findings if f.code == "video.frames_read")
    assert frames.details["size"] == list(variant.size)
    assert not any(f.kind.value == "problem" for f in report.findings)


@pytest.mark.parametrize("name", ["phone_rotated_90", "phone_rotated_270"])
def test_phone_rotation_is_reported_and_undone(name):
    variant = matrix.BY_NAME[name]
    report = scan(matrix.build(variant, OUT))
    frames = next(f for f in report.findings if f.code == "video.frames_read")
    assert frames.details["rotation"] % 360 == variant.rotation % 360
    assert frames.details["size"] == [1080, 1920]  # stored 1920x1080, shown upright


@pytest.mark.parametrize("name, media_type", [
    ("mpegts", "video/mp2t"), ("avchd_mts", "video/mp2t"), ("avchd_m2ts", "video/mp2t"),
    ("mpeg2_m2v", "video/mpv"), ("mpeg2_mpg", "video/mpeg"), ("mjpeg_avi", "video/x-msvideo"),
    ("h264_flv", "video/x-flv"), ("prores_mov", "video/quicktime"), ("vp9_webm", "video/webm"),
    ("mxf_mpeg2", "application/mxf"), ("dv_pal", "video/dv"), ("wmv2_asf", "video/x-ms-asf"),
])
def test_camera_and_editor_containers_are_identified_by_content(name, media_type, tmp_path):
    source = matrix.build(matrix.BY_NAME[name], OUT)
    renamed = tmp_path / "upload-3f9a"  # a hash-named upload: no extension to go by
    renamed.write_bytes(source.read_bytes())
    media = Media.open(renamed)
    assert (media.media_kind, media.media_type) == ("video", media_type)
    assert media.video_info["streams"][0]["type"] == "video"


def test_all_intra_streams_decode_only_near_the_samples():
    """MJPEG and ProRes are all keyframes: after the densely sampled opening, the frames
    between samples are never decoded (6 s at 10 fps: 60 frames, ~25 in the opening)."""
    for name in ("mjpeg_avi", "prores_mov"):
        variant = matrix.BY_NAME[name]
        report = scan(matrix.build(variant, OUT))
        frames = next(f for f in report.findings if f.code == "video.frames_read")
        decoded = int(frames.message.split(" decoded")[0].rsplit(" ", 1)[-1])
        assert decoded <= 35 < round(variant.seconds * variant.fps), frames.message


def test_dash_segments_joined_read_their_label_alone_they_say_how(tmp_path):
    init, segment = matrix.dash_pair(OUT)
    joined = tmp_path / "joined.mp4"
    joined.write_bytes(init.read_bytes() + segment.read_bytes())
    assert scan(joined).verdict is Verdict.DISCLOSED
    for part, what in ((segment, "media segment"), (init, "initialisation segment")):
        report = scan(part)
        assert report.verdict is Verdict.ERROR
        assert what in report.error and "joined into one file" in report.error, report.error


def test_c2pa_in_a_joined_dash_stream_validates_per_fragment(tmp_path):
    """c2pa-rs's DASH fixture: its manifest (in the init segment) hashes the init segment and
    each fragment apart, so the joined file is read fragment by fragment, and is intact."""
    init = REAL_MEDIA / "c2pa-rs" / "dashinit.mp4"
    if not init.is_file():
        pytest.skip("../shared/real_media is not available")
    joined = tmp_path / "dash.mp4"
    joined.write_bytes(init.read_bytes() + (REAL_MEDIA / "c2pa-rs" / "dash1.m4s").read_bytes())
    report = scan(joined, pixels=False)
    present = next(f for f in report.findings if f.code == "c2pa.present")
    assert "validation state Valid" in present.message and not report.tampered
    assert scan(init, pixels=False).tampered  # alone, the init segment fails its hash
