"""Video frames: label timelines on generated clips, policies on them, broken videos."""

import json
import sys

import numpy as np
import pytest

from conftest import TEST_MEDIA
from labelcheck import scan
from labelcheck.vision import video
from labelcheck.core.model import Verdict
from labelcheck.core.settings import Settings
from labelcheck.writers import TextWriter
from labelcheck.sources.visible_label import read_labels

sys.path.insert(0, str(TEST_MEDIA))
import generate_videos  # noqa: E402

pytestmark = pytest.mark.slow  # deselect with -m "not slow"

TOLERANCE_S = 0.5
LABELLED = [clip for clip in generate_videos.CLIPS if clip.intervals]


@pytest.fixture(scope="session")
def reports(clips):
    """One default-policy scan per clip, shared by the tests."""
    return {name: scan(path, name=str(path)) for name, path in clips.items()}


def _spans(report):
    return [(i["start_s"], i["end_s"]) for i in report.timeline["intervals"]]


@pytest.mark.parametrize("clip", LABELLED, ids=lambda clip: clip.name)
def test_timeline_matches_the_truth_within_half_a_second(reports, clip):
    report = reports[clip.name]
    assert report.verdict is Verdict.DISCLOSED, report.summary
    spans = _spans(report)
    assert len(spans) == len(clip.intervals), spans
    for (start, end), (true_start, true_end) in zip(spans, clip.intervals):
        assert abs(start - true_start) <= TOLERANCE_S, (spans, clip.intervals)
        assert abs(end - true_end) <= TOLERANCE_S, (spans, clip.intervals)
    timeline = report.timeline
    assert timeline["duration_s"] == pytest.approx(clip.seconds, abs=0.15)
    assert timeline["first_label_s"] == pytest.approx(clip.intervals[0][0], abs=TOLERANCE_S)
    shown = sum(end - start for start, end in clip.intervals) / clip.seconds
    assert timeline["coverage"] == pytest.approx(shown, abs=2 * TOLERANCE_S / clip.seconds)


def test_label_read_with_its_box_and_size(reports):
    clip = generate_videos.BY_NAME["label_throughout"]
    interval = reports["label_throughout"].timeline["intervals"][0]
    x, y, w, h = interval["box"]
    px, py, pw, ph = generate_videos.label_box(clip)
    assert px <= x and py <= y and x + w <= px + pw + 2 and y + h <= py + ph + 2
    assert interval["lang"] == "en"
    assert 0.6 * clip.badge.size <= interval["text_height_px"] <= 1.2 * clip.badge.size


def test_moving_label_is_followed(reports):
    clip = generate_videos.BY_NAME["label_moving"]
    report = reports["label_moving"]
    assert report.timeline["coverage"] >= 0.9
    last_box = report.timeline["intervals"][-1]["box"]
    assert last_box[0] > generate_videos.label_box(clip, 0.0)[0] + 100  # seen where it went


def test_no_label_gives_an_empty_timeline(reports):
    report = reports["no_label"]
    assert report.verdict is Verdict.NO_AI_SIGNAL
    assert report.timeline["intervals"] == [] and report.timeline["first_label_s"] is None
    assert report.timeline["coverage"] == 0
    assert not any(f.channel == "visible" for f in report.findings)


def test_chinese_label_with_aigc_metadata(reports):
    report = reports["label_zh_aigc"]
    interval = report.timeline["intervals"][0]
    assert "生成" in interval["text"] and interval["lang"] == "zh"
    label = next(f for f in report.findings if f.code == "visible.video_label")
    assert "gb45438" in label.measurements["rules"]
    assert any(f.channel == "aigc" for f in report.findings)


def test_c2pa_and_frame_evidence_in_one_report(reports):
    report = reports["label_c2pa"]
    channels = {f.channel for f in report.findings if f.is_disclosure}
    assert {"c2pa", "visible"} <= channels
    assert report.visible_disclosure and report.machine_readable_disclosure


@pytest.mark.parametrize("name, verdict, unmet", [
    ("label_zh_aigc", "disclosed", None),
    ("label_zh_late_aigc", "undisclosed", "explicit_label_video_opening"),
])
def test_gb45438_wants_the_label_on_the_opening_two_seconds(clips, name, verdict, unmet):
    report = scan(clips[name], policy="cn-gb45438")
    assert report.verdict.value == verdict, report.summary
    failed = [r.id for r in report.requirements if r.status.value == "not_met"]
    assert failed == ([unmet] if unmet else [])


@pytest.mark.parametrize("name, verdict, unmet", [
    ("label_c2pa", "disclosed", []),
    ("label_first_2s", "undisclosed", ["machine_readable_marking",
                                        "visible_label_video_timing"]),
    ("label_zh_late_aigc", "undisclosed", ["visible_label_video_timing"]),
])
def test_eu_wants_the_label_at_the_start_and_repeated(clips, name, verdict, unmet):
    report = scan(clips[name], policy="eu-ai-act")
    assert report.verdict.value == verdict, report.summary
    assert [r.id for r in report.requirements if r.status.value == "not_met"] == unmet
    assert {r.id: r.status.value for r in report.requirements}["deepfake"] == "manual_check"


def test_video_requirements_do_not_bind_images(media):
    report = scan(media("aigc_xmp.jpg"), policy="cn-gb45438")
    assert "explicit_label_video_opening" not in {r.id for r in report.requirements}
    assert "timeline" not in report.to_dict()


def test_sample_frames_show_what_the_timeline_says(clips, reports):
    frames = reports["label_first_2s"].timeline["frames"]
    assert {frame["label_seen"] for frame in frames} == {True, False}
    for frame in frames:
        image = video.frame_at(clips["label_first_2s"], frame["time_s"])
        assert image.size == (480, 270)
        assert bool(read_labels(np.asarray(image.convert("RGB")))) == frame["label_seen"]


def test_sampler_gaps_and_decoding_skipped(clips):
    sampler = video.Sampler(clips["scene_cuts"])
    times = [sample.time_s for sample in sampler]
    gaps = np.diff(times)
    assert gaps.max() <= video.GRID_S + 0.11  # one frame of slack at 10 fps
    assert times[0] == 0.0 and times[-1] >= 8.0 - video.GRID_S
    assert sampler.stream.frames_decoded < 80  # of 80 frames: non-reference ones skipped


def test_no_ocr_skips_the_frames(clips):
    report = scan(clips["label_throughout"], pixels=False)
    assert report.timeline is None and "timeline" not in report.to_dict()
    assert not any(f.detector == "video_frames" for f in report.findings)


def test_timeline_in_json_and_text(reports, tmp_path):
    report = reports["label_twice"]
    data = json.loads(json.dumps(report.to_dict()))
    assert set(data["timeline"]) == {"duration_s", "first_label_s", "coverage", "intervals",
                                     "frames"}
    assert set(data["timeline"]["intervals"][0]) == {"start_s", "end_s", "text", "ocr_text",
                                                     "lang", "box", "text_height_px"}
    with open(tmp_path / "out.txt", "w") as stream:
        TextWriter(stream).write(report)
    text = (tmp_path / "out.txt").read_text()
    assert "timeline (8.0 s): label" in text
    assert text.count('"AI generated"') >= 2  # the label as normalised (OCR read "Al")


@pytest.mark.parametrize("name, reason", [
    ("truncated.mp4", "truncated"),
    ("text_named.mp4", "not a supported"),
    ("audio_only.mp4", "no video stream"),
    ("zero_frames.mkv", "could not be opened"),
])
def test_broken_videos_are_errors_with_a_reason(reports, name, reason):
    report = reports[name]
    assert report.verdict is Verdict.ERROR
    assert reason in report.error, report.error


def pixels_problem(report):
    return next(f for f in report.findings if f.code == "media.pixels_undecodable")


def test_undecodable_frames_are_a_problem_not_an_error(reports):
    """The container was read, its frames not: the verdict is the metadata's, as with
    --no-ocr, and one problem finding says the frames were not checked and why."""
    report = reports["zeroed_frames.mp4"]
    assert report.verdict is Verdict.NO_AI_SIGNAL and report.error is None
    assert "damaged" in pixels_problem(report).message
    assert "pixels were not checked" in report.summary


def test_damage_midway_keeps_the_timeline_before_it(reports):
    report = reports["zeroed_second_half.mp4"]
    assert report.verdict is not Verdict.ERROR and report.error is None
    problem = pixels_problem(report).message
    assert "damaged" in problem and "frames read up to" in problem
    label = next(f for f in report.findings if f.code == "visible.video_label")
    assert label.measurements["start_s"] == 0.0
    assert 0 < report.timeline["intervals"][0]["end_s"] < 8.0


@pytest.fixture(scope="session")
def video_registry(clips, tmp_path_factory):
    """The registry's original video registered in a session database."""
    from labelcheck import registry
    from labelcheck.registry.enrol import register_file

    url = f"sqlite:///{tmp_path_factory.mktemp('video_registry') / 'registry.db'}"
    reg = registry.Registry.open(url)
    asset_id = register_file(reg, clips["registry_original"], "Jane Doe", "avatar ad")
    return reg, url, asset_id


def test_registered_video_keeps_timed_fingerprints_and_disclosures(video_registry):
    from sqlalchemy import select

    from labelcheck import registry

    reg, _, asset_id = video_registry
    asset = reg.get(asset_id)
    assert asset.kind == "video" and asset.disclosures["aigc"]
    assert asset.disclosures["visible"][0]["text"].lower().endswith("generated")
    with reg.engine.connect() as connection:
        times = connection.execute(select(registry.fingerprints.c.time_s).where(
            registry.fingerprints.c.asset_id == asset_id)).scalars().all()
    assert len(times) >= 8 and min(times) == 0.0 and max(times) >= 7.0


def _registry_scan(path, url, monkeypatch):
    return scan(path, settings=Settings(db_url=url))


def test_stripped_trimmed_rescaled_copy_names_the_original_and_what_it_lost(
        clips, video_registry, monkeypatch):
    _, url, asset_id = video_registry
    report = _registry_scan(clips["copy_stripped"], url, monkeypatch)
    match = next(f for f in report.findings if f.code == "registry.video_match")
    assert match.details["asset_id"] == asset_id
    assert match.details["offset_s"] == pytest.approx(-2.0, abs=TOLERANCE_S)
    removed = {(f.code, f.channel) for f in report.findings if f.kind.value == "removal"}
    assert removed == {("registry.badge_removed", "visible"),
                       ("registry.metadata_removed", "aigc")}
    assert report.verdict is Verdict.STRIPPED


def test_copy_that_kept_its_label_loses_only_the_metadata(clips, video_registry, monkeypatch):
    _, url, _ = video_registry
    report = _registry_scan(clips["copy_labelled"], url, monkeypatch)
    assert any(f.code == "registry.video_match" for f in report.findings)
    assert not any(f.code == "registry.badge_removed" for f in report.findings)
    assert any(f.code == "registry.metadata_removed" for f in report.findings)
    assert report.timeline["intervals"]


def test_other_videos_do_not_match(clips, video_registry, monkeypatch):
    _, url, _ = video_registry
    for name in ("no_label", "scene_cuts"):
        report = _registry_scan(clips[name], url, monkeypatch)
        assert not any(f.detector == "registry" for f in report.findings), name


def test_video_requirements_bind_only_videos():
    from labelcheck.core.policy import Policy

    requirement = next(r for r in Policy.load("cn-gb45438").requirements
                       if r.id == "explicit_label_video_opening")
    assert requirement.applies_to("video")
    assert not requirement.applies_to("image") and not requirement.applies_to(None)


def test_big_video_is_read_from_disk_not_held(clips, tmp_path):
    """A 30+ MB video: `Media` reads its header and searches it in chunks, never holding it
    (the metadata tier here; the frames are decoded from the file by every test above)."""
    import hashlib
    import tracemalloc

    from labelcheck.formats.media import FileBytes, Media

    path = generate_videos.repeat_clip(clips["scene_cuts"], tmp_path / "long.mp4", loops=340)
    size = path.stat().st_size
    assert size > 30e6
    tracemalloc.start()
    try:
        media = Media.open(path)
        report = scan(media, pixels=False)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert isinstance(media.data, FileBytes)
    assert peak < 8e6, f"{peak / 1e6:.1f} MB traced for a {size / 1e6:.0f} MB file"
    assert report.verdict is not Verdict.ERROR, report.error
    assert report.size == size
    assert report.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert media.video_info["duration"] == pytest.approx(340 * 8.0, abs=1.0)


def test_file_bytes_search_across_chunk_boundaries(tmp_path):
    from labelcheck.formats.media import CHUNK_BYTES, FileBytes

    data = bytearray(3 * CHUNK_BYTES)
    data[CHUNK_BYTES - 2:CHUNK_BYTES + 2] = b"c2pa"  # straddles the first boundary
    data[2 * CHUNK_BYTES + 5:2 * CHUNK_BYTES + 9] = b"AIGC"
    path = tmp_path / "blob.bin"
    path.write_bytes(data)
    view = FileBytes(str(path), len(data))
    for needle in (b"c2pa", b"AIGC", b"\0c2p", b"xmp"):
        assert view.find(needle) == data.find(needle)
        assert (needle in view) == (needle in data)
    assert view.find(b"AIGC", 2 * CHUNK_BYTES + 6) == -1
    assert view[CHUNK_BYTES - 2:CHUNK_BYTES + 2] == b"c2pa" and view[-3:] == b"\0\0\0"


def test_file_bytes_slices_are_the_files_bytes(tmp_path):
    """Small slices are served from a window read around the first of them (a box walk's
    headers); every slice, in the window, across its end, past the file's end or large, is
    what slicing the bytes gives."""
    import random

    from labelcheck.formats.media import WINDOW_BYTES, FileBytes

    data = random.Random(7).randbytes(3 * WINDOW_BYTES + 123)
    path = tmp_path / "blob.bin"
    path.write_bytes(data)
    view = FileBytes(str(path), len(data))
    starts = [0, 8, 20, WINDOW_BYTES - 4, WINDOW_BYTES + 1, len(data) - 5, len(data) + 9, -17]
    for start in starts:
        for length in (0, 1, 8, 100, WINDOW_BYTES, 2 * WINDOW_BYTES):
            assert view[start:start + length] == data[start:start + length], (start, length)
    assert view[len(data) - 40:] == data[-40:] and view[:12] == data[:12]


def test_video_gone_after_opening_is_an_error_with_a_reason(clips, tmp_path):
    from labelcheck.formats.media import Media

    path = tmp_path / "gone.mp4"
    path.write_bytes(clips["no_label"].read_bytes())
    media = Media.open(path)
    path.unlink()
    report = scan(media)
    assert report.verdict is Verdict.ERROR and "could not read the file" in report.error


# -- keyframe-first sampling (`--video-sampling`) -------------------------------------------

LONG_GOP = generate_videos.BY_NAME["label_long_gop"]  # a keyframe every 6 s, two labels


@pytest.mark.parametrize("mode", ["fast", "thorough"])
def test_every_sampling_places_the_labels_within_half_a_second(clips, mode):
    """The default (`standard`) is held to the truth by the test above; `fast` looks at
    keyframes only (6 s apart here) and `thorough` every 0.8 s: each finds both labels and
    places their starts and ends within 0.5 s."""
    report = scan(clips["label_long_gop"], settings=Settings(video_sampling=mode))
    spans = _spans(report)
    assert len(spans) == len(LONG_GOP.intervals), spans
    for (start, end), (true_start, true_end) in zip(spans, LONG_GOP.intervals):
        assert abs(start - true_start) <= TOLERANCE_S and abs(end - true_end) <= TOLERANCE_S


def test_keyframe_first_sampling_keeps_its_gap_and_decodes_less(clips):
    dense = video.Sampler(clips["label_long_gop"])
    dense_times = [sample.time_s for sample in dense]
    sparse = video.Sampler(clips["label_long_gop"], gap_s=5.0)
    times = np.array([sample.time_s for sample in sparse])
    assert np.diff(times).max() <= 5.0 + 0.11  # one frame of slack at 10 fps
    opening = times[times < video.OPENING_S]
    assert opening[0] == 0.0 and np.diff(opening).max() <= video.OPENING_STEP_S + 0.11
    assert {6.0, 12.0, 18.0, 24.0} <= set(times.tolist())  # every keyframe is a sample
    assert times[-1] == dense_times[-1]  # the last frame too
    assert sparse.stream.frames_decoded < 0.5 * dense.stream.frames_decoded


def test_a_gap_between_distant_samples_fails_the_eu_rule_where_it_is(clips):
    """Samples 5 s apart, the label gone from 6 s to 14 s: the EU's 5 s rule fails, and the
    gap is measured from the refined end and start, not from the samples around them."""
    report = scan(clips["label_long_gop"], policy="eu-ai-act")
    timing = {r.id: r for r in report.requirements}["visible_label_video_timing"]
    assert timing.status.value == "not_met"
    label = next(f for f in report.findings if f.code == "visible.video_label")
    assert label.measurements["longest_gap_s"] == pytest.approx(8.0, abs=2 * TOLERANCE_S)
    frames_read = next(f for f in report.findings if f.code == "video.frames_read")
    assert "keyframes first, at most 5 s apart" in frames_read.message
    assert "again to place label starts and ends" in frames_read.message


def test_the_strictest_absence_rule_sets_how_closely_standard_looks(clips):
    from labelcheck.core.policy import load_policies, strictest_maximum

    live_rule = strictest_maximum(load_policies("cn-live-commerce-2026"), "longest_gap_s")
    assert live_rule == 2.0
    assert strictest_maximum(load_policies("cn-gb45438"), "longest_gap_s") is None
    assert video.sampling_gap("standard", live_rule) == 2.0
    assert video.sampling_gap("standard", None) == video.STANDARD_GAP_S
    assert video.sampling_gap("fast", live_rule) == video.FAST_GAP_S
    assert video.sampling_gap("thorough", live_rule) is None
    with pytest.raises(ValueError, match="unknown video sampling"):
        video.sampling_gap("quick")
    report = scan(clips["label_long_gop"], policy="eu-ai-act,cn-live-commerce-2026")
    frames_read = next(f for f in report.findings if f.code == "video.frames_read")
    assert "at most 2 s apart" in frames_read.message
    assert frames_read.details["widest_gap_s"] <= 2.0 + 0.11


def test_a_gap_rule_coarser_than_the_sampling_is_not_verifiable(clips):
    """`fast` looks at the keyframes, 6 s apart here: the label is seen at each of its
    samples of the first 6 s, but a 5 s rule cannot be shown kept from frames 6 s apart, so
    the timing requirement is "not verifiable", not "met"; `standard` can say."""
    clip = clips["label_long_gop"]
    fast = scan(clip, policy="eu-ai-act", settings=Settings(video_sampling="fast"))
    label = next(f for f in fast.findings if f.code == "visible.video_label")
    assert label.measurements["resolution"]["longest_gap_s"] > 5.0
    from labelcheck.core.policy import load_policies

    timing = next(r for r in load_policies("eu-ai-act").requirements
                  if r.id == "visible_label_video_timing")
    assert timing.too_coarse(label) and "may have gone unseen" in timing.too_coarse(label)[0]
    standard = scan(clip, policy="eu-ai-act")
    label = next(f for f in standard.findings if f.code == "visible.video_label")
    assert label.measurements["resolution"]["longest_gap_s"] <= 5.0 + 0.11
    assert timing.too_coarse(label) == []


def test_an_original_is_registered_from_the_dense_sampling(clips, tmp_path):
    """Reposts are sampled at other times than their original (trimmed, re-encoded with
    other keyframes): the original keeps a fingerprint at most 0.8 s apart, whatever the
    scans' sampling, so that each sample of a copy has a near one to match."""
    from sqlalchemy import select

    from labelcheck import registry
    from labelcheck.registry.enrol import register_file

    reg = registry.Registry.open(f"sqlite:///{tmp_path / 'registry.db'}")
    asset_id = register_file(reg, clips["label_long_gop"], "Jane Doe", declared_ai=True)
    with reg.engine.connect() as connection:
        times = sorted(connection.execute(select(registry.fingerprints.c.time_s).where(
            registry.fingerprints.c.asset_id == asset_id)).scalars().all())
    assert np.diff(times).max() <= video.GRID_S + 0.11 and times[-1] >= 29.0
