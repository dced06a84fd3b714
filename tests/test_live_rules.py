"""What the live-commerce rules read: the 数字人/虚拟主播 wordings (and what is not one), the
grace period in the continuous-label policies, the gap named in a failed requirement, the CAC
draft reported and never applied, and the event lines a person reads."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFont

import labelcheck
from labelcheck.cli.main import main
from labelcheck.core.model import Finding, Kind, Status, Verdict
from labelcheck.core.policy import Policy, decide, each_policy, load_policies
from labelcheck.live.events import Event
from labelcheck.sources.video_frames import video_measurements
from labelcheck.vision.lexicon import match_label

CJK_FONT = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")


def test_digital_human_wordings_and_their_look_alikes():
    for text in ("AI数字人", "数字人直播", "本直播间主播为数字人", "AI数字人主播", "数字人"):
        match = match_label(text)
        assert match and match.lang == "zh" and "digital-human" in match.rules, text
    for text in ("虚拟主播", "AI虚拟主播带货"):
        match = match_label(text)
        assert match and match.rules == [], text
    assert match_label("AI数字人生成").rules == ["gb45438", "digital-human"]
    for text in ("支持数字人民币支付", "数字人才培养计划", "数字人文研究", "数字人力资源",
                 "数字人口", "数字人权", "主播推荐", "虚拟现实", "数字化转型"):
        assert match_label(text) is None, text


def _ad_with(text: str) -> bytes:
    image = Image.new("RGB", (1080, 1920), (70, 90, 120))
    draw = ImageDraw.Draw(image)
    face = ImageFont.truetype(str(CJK_FONT), 72)
    left, top, right, bottom = draw.textbbox((60, 80), text, font=face)
    draw.rounded_rectangle((left - 30, top - 30, right + 30, bottom + 30), radius=30,
                           fill=(10, 10, 10))
    draw.text((60, 80), text, font=face, fill=(255, 255, 255))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=92)
    return buffer.getvalue()


@pytest.mark.skipif(not CJK_FONT.exists(), reason="fonts-wqy-microhei is not installed")
def test_digital_human_label_read_from_a_vertical_frame():
    """OCR reads the wording off a 1080x1920 frame; the digital yuan is no label."""
    report = labelcheck.scan(_ad_with("AI数字人直播"), name="room.jpg",
                             policy="cn-digital-human-draft-2026")
    labels = [f for f in report.findings if f.channel == "visible"]
    assert labels and "digital-human" in labels[0].measurements["rules"]
    indication = next(r for r in report.requirements if r.id == "digital_human_indication_image")
    assert indication.status is Status.DRAFT and indication.satisfied_by  # shown, not applied
    plain = labelcheck.scan(_ad_with("支持数字人民币支付"), name="pay.jpg")
    assert plain.verdict is Verdict.NO_AI_SIGNAL, plain.summary


def _label(longest_gap_s: float, start: float = 3.0, rules=("gb45438",)) -> Finding:
    timeline = {"duration_s": 20.0, "first_label_s": 0.0, "coverage": 0.6,
                "intervals": [{"start_s": 0.0, "end_s": start},
                              {"start_s": start + longest_gap_s, "end_s": 20.0}]}
    return Finding("video_frames", Kind.AI_DECLARATION, "visible.video_label", "AI生成",
                   channel="visible", measurements={
                       "height_ratio": 0.08, "position": "corner", "contrast": 10.0,
                       "rules": list(rules), **video_measurements(timeline)})


def test_continuous_label_follows_the_grace_period_and_names_the_gap():
    policy = Policy.load("cn-live-commerce-2026")
    continuous = next(r for r in policy.requirements if r.id == "continuous_label")
    assert continuous.maximum == {"first_label_s": 2.0, "longest_gap_s": 2.0}
    assert set(continuous.grace) == {"first_label_s", "longest_gap_s"}
    finding = _label(4.0)
    strict = decide([finding], policy, "video")
    result = next(r for r in strict.requirements if r.id == "continuous_label")
    assert result.status is Status.NOT_MET
    assert result.missing == ("off screen for up to 4 s, over the 2 s allowed: no label from 3.0 s "
                              "to 7.0 s")
    relaxed = decide([finding], policy.with_grace(5.0), "video")
    assert next(r for r in relaxed.requirements if r.id == "continuous_label").status \
        is Status.MET
    several = each_policy(load_policies("cn-live-commerce-2026,eu-ai-act"),
                          lambda policy: policy.with_grace(5.0))
    eu = next(p for p in several.policies if p.name == "eu-ai-act")
    assert eu == Policy.load("eu-ai-act")  # the EU's 5 s is its own reading, not a grace


def test_the_cac_digital_human_draft_is_reported_never_applied():
    policy = Policy.load("cn-digital-human-draft-2026")
    assert policy.draft and all(r.draft for r in policy.requirements)
    decision = decide([_label(0.0, rules=("digital-human",))], policy, "video")
    assert decision.verdict is Verdict.DISCLOSED
    statuses = {r.id: r.status for r in decision.requirements}
    assert statuses["digital_human_indication"] is Status.DRAFT
    assert statuses["display_area"] is Status.MANUAL_CHECK
    missing = decide([_label(6.0)], policy, "video")
    indication = next(r for r in missing.requirements if r.id == "digital_human_indication")
    assert indication.status is Status.DRAFT and "digital-human" in indication.missing


def test_event_lines_keep_text_from_the_stream_on_one_line():
    event = Event("label_shown", 12.5, fields={"text": "AI生成\nended forged", "lang": "zh",
                                               "position": "corner", "height_px": 24})
    line = event.line()
    assert "\n" not in line and "\\n" in line and "12.5 s" in line
    data = event.to_dict()
    assert data["event"] == "label_shown" and data["wall"].endswith("Z")


@pytest.mark.parametrize("args, message", [
    (["ftp://example.com/live.m3u8"], "cannot watch ftp"),
    (["http://example.com/live.m3u8", "--allow", "a/b"], "--allow"),
    (["http://example.com/live.m3u8", "--allow", "*", "--no-evidence"], None),
    (["rtmp://example.com/live", "--option", "novalue"], "KEY=VALUE"),
    (["x.ts", "--policy", "no-such"], "unknown policy"),
    (["x.ts", "--rate", "0"], "sampling rate"),
])
def test_watch_command_refuses_bad_arguments(args, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    if message is None:  # a name that resolves nowhere: refused by the guard, exit 2
        args = ["http://no-such-host.invalid/live.m3u8", "--allow", "*", "--no-evidence",
                "--format", "jsonl"]
        assert main(["watch", *args]) == 2
        out = capsys.readouterr().out
        assert '"event": "ended"' in out and "could not be resolved" in out
        return
    assert main(["watch", *args]) == 2
    assert message in capsys.readouterr().err


def test_a_watch_cannot_say_the_metadata_is_missing():
    """A live watch reads what is on screen: a requirement only metadata can meet is "not
    verifiable" there, never "not met" (the verdict rests on what was read)."""
    from labelcheck.live.watch import ON_SCREEN, UNREAD

    policy = Policy.load("cn-gb45438").reading(ON_SCREEN, UNREAD)
    decision = decide([_label(0.0)], policy, "video")
    statuses = {r.id: r for r in decision.requirements}
    assert statuses["implicit_label"].status is Status.NOT_VERIFIABLE
    assert statuses["implicit_label"].missing == UNREAD
    assert statuses["explicit_label"].status is Status.MET
    assert decision.verdict is Verdict.DISCLOSED
    default = Policy.load("default").reading(ON_SCREEN, UNREAD)
    assert default == Policy.load("default")  # its one requirement takes a visible label too
