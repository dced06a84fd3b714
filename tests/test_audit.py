"""The audit view (issue 15): cells that show the measured value against the rule, the summary
sentence per regime, the trust team's counts (tampered credentials without AI evidence), the
CLI's `--sort` and `--summary`."""

from __future__ import annotations

import json
import re
from html import unescape

import pytest

from conftest import TEST_MEDIA, tampered_camera_photo
from labelcheck.cli.main import main
from labelcheck.core.model import Status
from labelcheck.core.policy import Policy
from labelcheck.writers import audit

GB = Policy.load("cn-gb45438")
EU = Policy.load("eu-ai-act")


def visible(height_ratio, position="corner", rules=("gb45438",), intact=True, **more):
    return {"detector": "visible_label", "kind": "ai_declaration", "code": "visible.label",
            "message": "visible AI label", "channel": "visible", "intact": intact,
            "measurements": {"height_ratio": height_ratio, "position": position,
                             "rules": list(rules), "contrast": 7.0, **more}}


def report(findings, verdict="undisclosed", kind="image", policy="cn-gb45438", **extra):
    """A report's JSON form judged by the real policy function."""
    from labelcheck.core.model import Finding, Kind
    from labelcheck.core.policy import decide

    objects = [Finding(**{**f, "kind": Kind(f["kind"])}) for f in findings]
    decision = decide(objects, Policy.load(policy), kind)
    return {"path": "ad.jpg", "kind": kind, "verdict": verdict, "policy": policy,
            "ai_generated": decision.ai_generated, "tampered": decision.tampered,
            "findings": findings, "requirements": [r.to_dict() for r in decision.requirements],
            **extra}


def cells(data, policy=GB):
    regimes = audit.regimes_for([policy])
    row = audit.audit_row(data, regimes, 1)
    return {column.requirement.id: cell for column, cell in zip(regimes[0].columns, row.cells)}


AIGC = {"detector": "aigc", "kind": "ai_declaration", "code": "aigc.label", "message": "AIGC",
        "channel": "aigc", "measurements": {"label": "1"}}


def test_cells_show_the_measured_value_against_the_rule():
    small_centre = cells(report([visible(0.031, position="centre")]))
    assert small_centre["explicit_label"].status is Status.NOT_MET
    assert small_centre["explicit_label"].text == "label 3.1% < 5%; centre, not corner/edge"
    assert small_centre["explicit_label"].reasons == [
        "show a label under 5%", "place the label in the centre"]
    assert small_centre["implicit_label"].text == "implicit AIGC label missing"
    assert small_centre["implicit_label"].reasons == ["lack the implicit AIGC label"]
    assert small_centre["explicit_label_video_opening"].text == "videos only"
    assert small_centre["explicit_label_video_opening"].status is Status.NOT_APPLICABLE

    met = cells(report([visible(0.062), AIGC], verdict="disclosed"))
    assert met["explicit_label"].status is Status.MET
    assert met["explicit_label"].text == "label 6.2% ≥ 5%; corner; GB 45438 wording"
    assert met["implicit_label"].text == "implicit AIGC label found"

    wording = cells(report([visible(0.08, rules=())]))["explicit_label"]
    assert wording.text == "not the GB 45438 wording"
    cut = cells(report([visible(0.08, intact=False)], verdict="stripped"))["explicit_label"]
    assert cut.text == "label cut by the picture's edge"


def test_video_opening_is_measured_in_seconds():
    short = visible(0.07, opening_s=1.2, first_label_s=0.0, longest_gap_s=0.0)
    shown = cells(report([short, AIGC], kind="video"))
    assert shown["explicit_label_video_opening"].text == "opening 1.2 s < 2 s"
    assert shown["explicit_label_video_opening"].reasons == [
        "show the label for under 2 s at the opening"]
    late = cells(report([visible(0.05, contrast=5.0, first_label_s=3.0, longest_gap_s=7.5)],
                        kind="video", policy="eu-ai-act"), EU)
    assert late["visible_label_video_timing"].text == "first shown at 3.0 s > 1 s; gap 7.5 s > 5 s"


def test_neutral_statuses_are_words_not_codes():
    photo = cells(report([], verdict="no_ai_signal"))
    assert {cell.status for cell in photo.values()} == {Status.NOT_APPLICABLE}
    assert photo["implicit_label"].text == "no AI evidence"
    assert all(cell.tone == "neutral" for cell in photo.values())
    eu = cells(report([AIGC], policy="eu-ai-act"), EU)
    assert eu["deepfake"].status is Status.MANUAL_CHECK and eu["deepfake"].tone == "neutral"
    assert eu["imperceptible_watermark"].text == "none found; not verifiable here"
    assert eu["machine_readable_marking"].text == "implicit AIGC label found"
    failed = cells({"path": "x.jpg", "verdict": "error", "error": "JPEG truncated",
                    "policy": "cn-gb45438", "requirements": [], "findings": []})
    assert failed["implicit_label"].text == "file not read"
    every_text = " ".join(cell.text for cells_ in (photo, eu, failed) for cell in cells_.values())
    assert "_" not in every_text and "[]" not in every_text  # no ids, no raw lists


def test_summary_sentence_counts_files_per_reason():
    regimes = audit.regimes_for([GB])
    tally = audit.Tally(regimes, "creatives")
    rows = ([report([visible(0.08)])] * 5 + [report([visible(0.03), AIGC])] * 2
            + [report([visible(0.08), AIGC], verdict="disclosed")]
            + [report([], verdict="no_ai_signal")])
    for number, data in enumerate(rows):
        tally.add(audit.audit_row(data, regimes, number))
    assert tally.sentences() == [
        "7 of 9 creatives fail China GB 45438-2025: 5 lack the implicit AIGC label, 2 show a "
        "label under 5%. Of the rest, 1 meets it and 1 shows no AI evidence."]


def test_tampered_credentials_without_ai_evidence_are_counted(tmp_path, capsys):
    """A camera photo whose credentials were changed after signing: no AI evidence, verdict
    no_ai_signal, and still in the tampered count and filter (CLI and HTML)."""
    folder = tmp_path / "queue"
    folder.mkdir()
    (folder / "camera.jpg").write_bytes(tampered_camera_photo())
    for name in ("plain_photo.jpg", "ai_c2pa_tampered.jpg", "iptc_ai.jpg"):
        (folder / name).write_bytes((TEST_MEDIA / name).read_bytes())
    out = tmp_path / "queue.html"
    assert main(["scan", str(folder), "--format", "html", "--out", str(out), "--no-ocr",
                 "--summary", "--quiet", "--workers", "1"]) == 0
    summary = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    assert summary["verdicts"]["no_ai_signal"] == 2 and summary["tampered"] == 2
    assert summary["tampered_without_ai"] == 1 and summary["files"] == 4
    html = out.read_text()
    assert re.search(r'data-filter="tampered"[^>]*><b>2</b> tampered \(1 without AI evidence\)',
                     html)
    camera = re.search(r'<tr class="file"[^>]*data-verdict="no_ai_signal" data-tampered="1"',
                       html)
    assert camera and html.count('data-tampered="1"') == 2


def test_summary_line_is_the_last_line_of_stderr(tmp_path, capsys):
    folder = tmp_path / "batch"
    folder.mkdir()
    names = ["ai_c2pa_signed.jpg", "ai_c2pa_tampered.jpg", "plain_photo.jpg", "truncated.jpg"]
    for name in names:
        (folder / name).write_bytes((TEST_MEDIA / name).read_bytes())
    code = main(["scan", str(folder), "--format", "jsonl", "--no-ocr", "--summary",
                 "--policy", "default,cn-gb45438", "--workers", "1"])
    captured = capsys.readouterr()
    assert code == 0
    verdicts = [json.loads(line)["verdict"] for line in captured.out.splitlines()]
    summary = json.loads(captured.err.strip().splitlines()[-1])
    assert summary["files"] == 4
    assert summary["verdicts"] == {v: verdicts.count(v) for v in summary["verdicts"]}
    assert set(summary["regimes"]) == {"default", "cn-gb45438"}
    assert summary["regimes"]["default"]["disclosed"] == 1
    assert summary["regimes"]["cn-gb45438"]["undisclosed"] == 1
    assert summary["regimes"]["cn-gb45438"]["error"] == 1
    assert summary["tampered"] == 1 and summary["tampered_without_ai"] == 0
    main(["scan", str(folder), "--format", "jsonl", "--no-ocr", "--workers", "1"])
    assert not capsys.readouterr().err.strip().startswith("{")  # only when asked


def html_paths(html: str) -> list[str]:
    return [unescape(re.sub(r"<[^>]+>", "", found)).rsplit("/", 1)[-1]
            for found in re.findall(r'<div class="path">(.*?)</div>', html)]


@pytest.mark.parametrize("order", ["input", "severity"])
def test_html_rows_in_input_order_or_most_severe_first(tmp_path, order):
    """Files given in an order the pool does not finish in (a large file first): the rows
    follow the input, or the severity, never the completion order."""
    names = ["plain_photo.jpg", "ai_c2pa_signed.jpg", "ai_stripped.png", "ai_c2pa_tampered.jpg",
             "truncated.jpg", "iptc_ai.jpg"]
    paths = [str(TEST_MEDIA / name) for name in names]
    out = tmp_path / "report.html"
    assert main(["scan", *paths, "--format", "html", "--out", str(out), "--sort", order,
                 "--workers", "2", "--quiet"]) == 0
    shown = html_paths(out.read_text())
    if order == "input":
        assert shown == names
    else:
        assert shown == ["ai_c2pa_tampered.jpg", "ai_stripped.png", "truncated.jpg",
                         "ai_c2pa_signed.jpg", "iptc_ai.jpg", "plain_photo.jpg"]


def test_text_report_says_why_a_requirement_does_not_apply(capsys):
    assert main(["scan", str(TEST_MEDIA / "plain_photo.jpg"), "--no-ocr", "--policy",
                 "cn-gb45438"]) == 0
    out = capsys.readouterr().out
    assert "implicit_label: not applicable (no AI evidence, so nothing to disclose)" in out
    assert "NOT met" not in out
