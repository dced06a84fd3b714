"""The two-stage scan: layer detectors, then cross-checks; one sampling pass per video; a failed
detector never passes for a clean layer; `scan(sources=...)`."""

import pytest

from labelcheck import scan
from labelcheck.core.model import Kind, Verdict
from labelcheck.core.settings import Settings
from labelcheck.sources import LayerResults, active_sources, source_names


@pytest.fixture
def opens(monkeypatch):
    """Counts the containers FFmpeg opens (every `av.open`, in any thread)."""
    import av

    calls = []
    real = av.open

    def counting(*args, **kwargs):
        calls.append(args[0])
        return real(*args, **kwargs)

    monkeypatch.setattr(av, "open", counting)
    return calls


@pytest.fixture(scope="module")
def populated_registry(clips, tmp_path_factory):
    from labelcheck.registry import Registry
    from labelcheck.registry.enrol import register_file

    url = f"sqlite:///{tmp_path_factory.mktemp('stages') / 'registry.db'}"
    register_file(Registry.open(url), clips["registry_original"], "Jane Doe", "avatar ad")
    return url


def test_a_video_is_opened_once_for_its_frames_with_an_empty_registry(clips, opens, tmp_path):
    report = scan(clips["label_throughout"],
                  settings=Settings(db_url=f"sqlite:///{tmp_path / 'empty.db'}"))
    assert report.verdict is Verdict.DISCLOSED
    assert len(opens) == 1  # MP4: tags from the box walk, frames in one pass


def test_a_video_is_opened_once_for_its_frames_with_a_populated_registry(
        clips, opens, populated_registry):
    report = scan(clips["copy_stripped"], settings=Settings(db_url=populated_registry))
    assert any(f.code == "registry.video_match" for f in report.findings)
    assert any(f.code == "registry.badge_removed" for f in report.findings)
    assert len(opens) == 1


def test_other_containers_add_only_their_tag_probe(clips, opens):
    scan(clips["label_hevc"])  # Matroska: FFmpeg reads its tags (no frame), then the pass
    assert len(opens) == 2


def test_the_registry_sees_the_layers_and_the_frames_as_arguments(clips, populated_registry):
    layers = LayerResults()
    report = scan(clips["copy_labelled"], settings=Settings(db_url=populated_registry),
                  layers=layers)
    assert layers.frames.kept and len(layers.frames.kept) == layers.frames.stream.samples
    assert {"xmp", "aigc", "video_frames", "registry"} <= layers.ran
    assert report.timeline == layers.frames.timeline and report.timeline["intervals"]
    assert [f.detector for f in report.findings][-1] == "registry"  # cross-checks run last


def test_sources_select_the_detectors(clips, populated_registry):
    report = scan(clips["copy_stripped"], settings=Settings(db_url=populated_registry),
                  sources=["registry"])
    assert {f.detector for f in report.findings} == {"registry"}
    removed = {f.channel for f in report.findings if f.code == "registry.metadata_removed"}
    assert removed == set()  # the AIGC detector did not run: its layer is unknown, not lost
    assert report.timeline is None  # no label timeline without the frame detector
    only_aigc = scan(clips["label_zh_aigc"], sources=["aigc"])
    assert {f.detector for f in only_aigc.findings} == {"aigc"}
    with pytest.raises(ValueError, match="unknown source"):
        scan(clips["label_zh_aigc"], sources=["no_such_detector"])


def test_cross_checks_come_after_every_layer_detector():
    names = source_names()
    checks = [source.name for source in active_sources() if source.cross_check]
    assert checks == ["registry"] and names[-len(checks):] == checks


def test_a_crashing_frame_pass_is_named_in_the_summary(clips, monkeypatch):
    """The pass crashes (a bug, as the C-contiguous one was): the layers still read give the
    verdict, and the summary says the frames were not read instead of implying they were."""
    from labelcheck.sources import video_frames

    def crash(self, sample):
        raise ValueError("ndarray is not C-contiguous")

    monkeypatch.setattr(video_frames.LabelTimeline, "add", crash)
    report = scan(clips["label_zh_aigc"])
    failed = [f for f in report.findings if f.code == "video_frames.failed"]
    assert len(failed) == 1 and failed[0].kind is Kind.PROBLEM
    assert "ndarray is not C-contiguous" in failed[0].message
    assert report.verdict is not Verdict.ERROR and report.ai_generated  # the AIGC label
    assert "Not read: video_frames detector could not finish" in report.summary
    assert report.timeline is None
    monkeypatch.undo()
    assert "Not read:" not in scan(clips["label_zh_aigc"]).summary


def test_no_ai_signal_with_a_failed_detector_says_what_was_not_read(clips, monkeypatch):
    from labelcheck.sources import video_frames

    monkeypatch.setattr(video_frames.LabelTimeline, "add",
                        lambda self, sample: 1 / 0)
    report = scan(clips["no_label"])
    assert report.verdict is Verdict.NO_AI_SIGNAL
    assert report.summary.startswith("No AI signal found in the layers that could be read.")
    assert "visible labels" not in report.summary  # not claimed as read
    assert report.summary.endswith(
        "Not read: video_frames detector could not finish: ZeroDivisionError: division by zero.")


def test_no_ocr_summary_does_not_claim_the_pixels(media):
    report = scan(media("plain_photo.jpg"), pixels=False)
    assert report.verdict is Verdict.NO_AI_SIGNAL
    assert "visible labels" not in report.summary and "pixels were not analysed" in report.summary
    assert "visible labels" in scan(media("plain_photo.jpg")).summary


def test_a_picture_never_goes_through_the_frame_pass(media, opens):
    """The registry reads frames of videos only: a picture's scan opens no FFmpeg container
    (a DNG once went through the pass and came out as damaged video)."""
    report = scan(media("plain_photo.jpg"))
    assert report.verdict is Verdict.NO_AI_SIGNAL and opens == []
