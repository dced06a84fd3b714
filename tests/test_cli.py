"""The labelcheck command: formats, exit codes, directories, the results store."""

import csv
import io
import json
import re
import subprocess
import sys

import pytest
from sqlalchemy import create_engine, text

from conftest import png_with_text, small_jpeg
from labelcheck.cli.main import main

A1111 = "a cat\nNegative prompt: dog\nSteps: 20, Sampler: Euler a, CFG scale: 7, Seed: 1"
STANDARD_AIGC = '{"AIGC":{"Label":"1","ContentProducer":"p","ProduceID":"i"}}'


@pytest.fixture
def folder(tmp_path):
    """A folder with one undisclosed AI image, one disclosed, one plain, one broken."""
    (tmp_path / "sub").mkdir()
    (tmp_path / "a1111.png").write_bytes(png_with_text({"parameters": A1111}))
    (tmp_path / "sub" / "aigc.png").write_bytes(png_with_text({"AIGC": STANDARD_AIGC}))
    (tmp_path / "plain.jpg").write_bytes(small_jpeg())
    (tmp_path / "broken.jpg").write_bytes(small_jpeg()[:200])
    (tmp_path / "notes.txt").write_text("not media: skipped in directory walks")
    return tmp_path


def run(args, capsys):
    code = main(args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.slow
def test_jsonl_contract(folder, capsys):
    code, out, _ = run(["scan", str(folder), "--format", "jsonl"], capsys)
    assert code == 0
    rows = [json.loads(line) for line in out.splitlines()]
    by_name = {row["path"].rsplit("/", 1)[-1]: row for row in rows}
    assert set(by_name) == {"a1111.png", "aigc.png", "plain.jpg", "broken.jpg"}
    for row in rows:
        assert {"path", "sha256", "media_type", "kind", "verdict", "ai_generated", "tampered",
                "disclosures", "policy", "findings", "error"} <= set(row)
        assert set(row["disclosures"]) == {"visible", "machine_readable"}
        for finding in row["findings"]:
            assert {"detector", "kind", "code", "message", "confidence"} <= set(finding)
    assert by_name["a1111.png"]["verdict"] == "undisclosed"
    assert by_name["aigc.png"]["verdict"] == "disclosed"
    assert by_name["aigc.png"]["disclosures"]["machine_readable"] is True
    assert by_name["plain.jpg"]["verdict"] == "no_ai_signal"
    assert by_name["broken.jpg"]["verdict"] == "error"
    assert "truncated" in by_name["broken.jpg"]["error"]


@pytest.mark.slow
def test_json_and_csv_and_text(folder, capsys):
    _, out, _ = run(["scan", str(folder), "--format", "json"], capsys)
    assert len(json.loads(out)) == 4
    _, out, _ = run(["scan", str(folder), "--format", "csv"], capsys)
    rows = list(csv.DictReader(io.StringIO(out)))
    assert {row["verdict"] for row in rows} == {"undisclosed", "disclosed", "no_ai_signal",
                                                "error"}
    _, out, _ = run(["scan", str(folder / "a1111.png")], capsys)
    assert "UNDISCLOSED" in out and "Seed: 1" in out and "1 file(s): 1 undisclosed" in out


def test_empty_json_array(tmp_path, capsys):
    _, out, _ = run(["scan", str(tmp_path), "--format", "json"], capsys)
    assert json.loads(out) == []


@pytest.mark.slow
def test_fail_on_exit_codes(folder, capsys):
    assert run(["scan", str(folder), "--fail-on", "undisclosed"], capsys)[0] == 1
    assert run(["scan", str(folder), "--fail-on", "stripped"], capsys)[0] == 0
    assert run(["scan", str(folder / "plain.jpg"), "--fail-on", "error,undisclosed"],
               capsys)[0] == 0


@pytest.mark.slow
def test_usage_and_io_errors_exit_2(folder, tmp_path, capsys):
    code, out, err = run(["scan", str(folder / "plain.jpg"), str(tmp_path / "missing.jpg")],
                         capsys)
    assert code == 2 and "no such file" in err and "plain.jpg" in out
    assert run(["scan", str(folder), "--policy", "nope"], capsys)[0] == 2
    assert run(["scan", str(folder), "--out", str(tmp_path / "no" / "dir.txt")], capsys)[0] == 2
    with pytest.raises(SystemExit) as exit_info:
        main(["scan", str(folder), "--fail-on", "bogus"])
    assert exit_info.value.code == 2


@pytest.mark.slow
def test_out_file_and_policy_by_name(folder, tmp_path, capsys):
    target = tmp_path / "report.jsonl"
    assert run(["scan", str(folder / "sub"), "--format", "jsonl", "--out", str(target),
                "--policy", "cn-gb45438"], capsys)[0] == 0
    row = json.loads(target.read_text())
    assert row["policy"] == "cn-gb45438" and row["verdict"] == "undisclosed"
    assert any(r["id"] == "explicit_label" and not r["satisfied"] for r in row["requirements"])


@pytest.mark.slow
def test_results_are_stored(folder, tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'results.db'}"
    run(["scan", str(folder), "--db", url], capsys)
    with create_engine(url).connect() as connection:
        verdicts = connection.execute(text("select verdict from scan_results")).scalars().all()
    assert sorted(verdicts) == ["disclosed", "error", "no_ai_signal", "undisclosed"]


@pytest.mark.slow
def test_no_ocr_skips_pixel_sources(real_media, capsys):
    path = str(real_media / "sd-parsers" / "automatic1111_stealth.png")
    _, out, _ = run(["scan", path, "--format", "jsonl", "--no-ocr"], capsys)
    assert json.loads(out)["verdict"] == "no_ai_signal"
    _, out, _ = run(["scan", path, "--format", "jsonl"], capsys)
    assert json.loads(out)["verdict"] == "undisclosed"


@pytest.mark.slow
def test_console_script_runs(folder):
    result = subprocess.run([sys.executable, "-m", "labelcheck.cli.main", "scan", str(folder),
                             "--format", "jsonl", "--no-store"], capture_output=True, text=True,
                            check=False)
    assert result.returncode == 0 and len(result.stdout.splitlines()) == 4


def test_policies_command(capsys):
    code, out, _ = run(["policies"], capsys)
    assert code == 0 and "eu-ai-act" in out and "cn-gb45438" in out


def test_policies_command_names_citation_date_and_role(capsys):
    code, out, _ = run(["policies", "--requirements"], capsys)
    assert code == 0
    assert "eu-ai-act: EU AI Act Art. 50 (in force from 2026-08-02; binds provider, deployer)" \
        in out and "Regulation (EU) 2024/1689" in out
    assert "deepfake [deployer, from 2026-08-02, manual check]" in out
    assert "in-it-rules-2026" in out and "kr-ai-basic-act" in out and "us-ca-ab853" in out


SEVERAL = "eu-ai-act,cn-gb45438"


def test_several_policies_in_every_format(folder, tmp_path, capsys):
    """One scan, one verdict per regime: JSON/JSONL add a `verdicts` map, CSV one column per
    regime, text and HTML name each regime's requirements."""
    aigc = str(folder / "sub" / "aigc.png")
    _, out, _ = run(["scan", aigc, "--format", "jsonl", "--policy", SEVERAL], capsys)
    row = json.loads(out)
    assert row["policy"] == SEVERAL and set(row["verdicts"]) == {"eu-ai-act", "cn-gb45438"}
    assert {r["verdict"] for r in row["verdicts"].values()} == {"undisclosed"}
    _, out, _ = run(["scan", aigc, "--format", "json", "--policy", SEVERAL], capsys)
    assert json.loads(out)[0]["verdicts"] == row["verdicts"]
    _, out, _ = run(["scan", aigc, "--format", "csv", "--policy", SEVERAL], capsys)
    (csv_row,) = csv.DictReader(io.StringIO(out))
    assert csv_row["verdict:eu-ai-act"] == csv_row["verdict:cn-gb45438"] == "undisclosed"
    _, out, _ = run(["scan", aigc, "--format", "text", "--policy", SEVERAL], capsys)
    assert f"policy {SEVERAL} / cn-gb45438:explicit_label: NOT met" in out
    assert f"policy {SEVERAL} / eu-ai-act:deepfake: manual check" in out
    _, out, _ = run(["scan", aigc, "--format", "html", "--policy", SEVERAL], capsys)
    assert re.search(r'data-status="not_met" data-label="Visible label \(cn-gb45438\)"[^>]*>'
                     r'.*?<span class="value">visible label missing</span>', out)
    assert "1 of 1 file fails China GB 45438-2025: 1 lacks the visible label." in out
    assert "<code>eu-ai-act</code></h2>" in out and "<code>cn-gb45438</code></h2>" in out
    _, out, _ = run(["scan", aigc, "--format", "jsonl"], capsys)
    assert "verdicts" not in json.loads(out)


def test_as_of_applies_the_rules_of_that_date(folder, capsys):
    aigc = str(folder / "sub" / "aigc.png")
    _, out, _ = run(["scan", aigc, "--format", "jsonl", "--policy", "eu-ai-act",
                     "--as-of", "2026-07-01"], capsys)
    before = json.loads(out)
    assert {r["status"] for r in before["requirements"]} == {"not_in_force"}
    _, out, _ = run(["scan", aigc, "--format", "jsonl", "--policy", "eu-ai-act",
                     "--as-of", "2026-08-02"], capsys)
    after = json.loads(out)
    assert after["verdict"] == "undisclosed"
    assert {r["id"]: r["status"] for r in after["requirements"]}["visible_label"] == "not_met"
    with pytest.raises(SystemExit):
        main(["scan", aigc, "--as-of", "next tuesday"])


def test_folder_of_hash_named_uploads_is_read_by_content(tmp_path, capsys):
    tmp_path = tmp_path / "uploads"  # beside the test's results database
    tmp_path.mkdir()
    (tmp_path / "3f9a0c").write_bytes(png_with_text({"parameters": A1111}))
    (tmp_path / "b71e22").write_bytes(small_jpeg())
    (tmp_path / "c0ffee").write_text("a note, not media")
    code, out, err = run(["scan", str(tmp_path), "--format", "jsonl", "--fail-on",
                          "undisclosed"], capsys)
    verdicts = {json.loads(line)["path"].rsplit("/", 1)[-1]: json.loads(line)["verdict"]
                for line in out.splitlines()}
    assert verdicts == {"3f9a0c": "undisclosed", "b71e22": "no_ai_signal"}
    assert code == 1  # --fail-on sees the files read by content
    assert err.count("labelcheck: skipped") == 1 and "c0ffee" in err
    assert "not a supported image or video format" in err


def test_nothing_to_scan_exits_2_and_says_why(tmp_path, capsys):
    tmp_path = tmp_path / "uploads"
    tmp_path.mkdir()
    (tmp_path / "readme").write_text("text")
    (tmp_path / "empty.bin").write_bytes(b"")
    code, out, err = run(["scan", str(tmp_path), "--fail-on", "undisclosed"], capsys)
    assert code == 2
    assert "nothing to scan (2 file(s) skipped" in err
    assert "readme" in err and "empty file (0 bytes)" in err
    assert run(["scan", str(tmp_path / "missing")], capsys)[0] == 2


def test_a_fifo_in_a_folder_is_skipped_not_opened(tmp_path, capsys):
    import os

    tmp_path = tmp_path / "uploads"
    tmp_path.mkdir()
    os.mkfifo(tmp_path / "pipe")  # opening it would block until a writer came
    (tmp_path / "plain.jpg").write_bytes(small_jpeg())
    code, out, err = run(["scan", str(tmp_path), "--format", "jsonl"], capsys)
    assert code == 0 and len(out.splitlines()) == 1
    assert "pipe: not a regular file" in err


@pytest.mark.slow
def test_without_the_web_extra_only_serve_is_missing():
    """Without Flask (``pip install labelcheck`` without ``[web]``) every command works and
    ``serve`` says what to install."""
    script = ("import sys; sys.modules['flask'] = None; from labelcheck.cli.main import main; "
              "sys.exit(main(sys.argv[1:]))")
    serve = subprocess.run([sys.executable, "-c", script, "serve"], capture_output=True,
                           text=True, check=False)
    assert serve.returncode == 2 and serve.stdout == ""
    assert serve.stderr == ("labelcheck: the serve command is not installed (missing module "
                            "'flask'); install it with pip install 'labelcheck[web]'\n")
    policies = subprocess.run([sys.executable, "-c", script, "policies"], capture_output=True,
                              text=True, check=False)
    assert policies.returncode == 0 and "eu-ai-act" in policies.stdout


@pytest.mark.parametrize("mode, words", [("fast", "keyframes first, at most 10 s apart"),
                                         ("thorough", "at most 0.8 s apart")])
def test_video_sampling_option(clips, capsys, mode, words):
    code, out, _ = run(["scan", str(clips["label_long_gop"]), "--no-store", "--format",
                        "json", "--video-sampling", mode], capsys)
    read = next(f for f in json.loads(out)[0]["findings"] if f["code"] == "video.frames_read")
    assert code == 0 and words in read["message"]
    with pytest.raises(SystemExit) as stopped:
        main(["scan", str(clips["label_long_gop"]), "--video-sampling", "quick"])
    assert stopped.value.code == 2 and "invalid choice: 'quick'" in capsys.readouterr().err
