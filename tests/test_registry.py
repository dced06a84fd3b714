"""The reference registry: stripped copies recognised and explained, the CLI, concurrent
writers, PostgreSQL.

A small slice of the generated suite (6 originals, their copies, 100 look-alikes) is made once
per session; bench/registry.py runs the full suite.
"""

import io
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from sqlalchemy import create_engine, func, select, text

import labelcheck
import labelcheck.sources.registry as registry_source  # noqa: F401 - registers the source
from conftest import REAL_MEDIA, TEST_MEDIA, empty_database
from labelcheck import registry
from labelcheck.formats.media import Media
from labelcheck.core.model import MediaError
from labelcheck.core.settings import Settings
from labelcheck.cli.registry import main as registry_main
from labelcheck.registry.copies import copies_of
from labelcheck.registry.enrol import register_file

sys.path.insert(0, str(TEST_MEDIA))
import generate_registry  # noqa: E402

pytestmark = pytest.mark.slow  # deselect with -m "not slow"

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp", ".tif", ".tiff", ".gif", ".heic", ".avif")
ROOT = TEST_MEDIA.parent


@pytest.fixture(scope="session")
def suite(tmp_path_factory):
    out = tmp_path_factory.mktemp("registry_suite")
    return out, generate_registry.generate(out, originals=6, distractors=100, workers=2)


@pytest.fixture(scope="session")
def registered(suite, tmp_path_factory):
    """The six originals registered in a session database; scans during registration read
    that database too, never the user's."""
    out, manifest = suite
    url = f"sqlite:///{tmp_path_factory.mktemp('registry_db') / 'registry.db'}"
    reg = registry.Registry.open(url)
    ids = {o["id"]: register_file(reg, out / o["file"], "Acme Agency", f"campaign {o['id']}")
           for o in manifest["originals"]}
    return reg, url, ids


def pixels(path):
    return Media.open(path).rgb


def xyxy(box):
    return box[0], box[1], box[0] + box[2], box[1] + box[3]


def iou(a, b):
    ax0, ay0, ax1, ay1 = a
    bx0, by0, bx1, by1 = b
    inter = max(0, min(ax1, bx1) - max(ax0, bx0)) * max(0, min(ay1, by1) - max(ay0, by0))
    union = (ax1 - ax0) * (ay1 - ay0) + (bx1 - bx0) * (by1 - by0) - inter
    return inter / union if union else 0.0


def mapped_box(matrix, box):
    x0, y0, x1, y1 = box
    points = np.array([[x0, y0, 1], [x1, y0, 1], [x1, y1, 1], [x0, y1, 1]], float)
    mapped = points @ np.asarray(matrix).T
    return (*mapped[:, :2].min(axis=0), *mapped[:, :2].max(axis=0))


# -- the index ------------------------------------------------------------------------------

def test_binary_index_agrees_with_unpacked_bits():
    rng = np.random.default_rng(3)
    codes = rng.integers(0, 256, (5000, 32), dtype=np.uint8)
    index = registry.BinaryIndex()
    index.add(np.arange(5000) // 2, codes)  # two codes per id
    query = codes[1234] ^ np.uint8(1)  # 32 bits away from row 1234 (id 617)
    expected = np.unpackbits(codes ^ query, axis=1).sum(axis=1)
    assert np.array_equal(index.distances(query), expected)
    hits = index.search(query[None], k=3, radius=40)[0]
    assert hits[0] == (617, 32) and len(hits) == 1
    assert len(index.search(query[None], k=3, radius=256)[0]) == 3
    index.remove([617])
    assert len(index) == 4998 and index.search(query[None], k=3, radius=40) == [[]]


def test_content_box_finds_the_picture_in_padding_and_app_frames(suite):
    """A picture whose own edge has the padding's colour (a white studio backdrop padded in
    white) is ambiguous; the full picture's hash and local features cover that case."""
    out, manifest = suite
    found = {}
    for copy in manifest["copies"]:
        if copy["transform"] in ("pad", "screenshot"):
            original = next(o for o in manifest["originals"] if o["id"] == copy["original"])
            expected = mapped_box(copy["matrix"], (0, 0, *original["size"]))
            box = registry.content_box(pixels(out / copy["file"]))
            found[copy["file"]] = bool(box) and iou(box, expected) > 0.9
    assert sum(found.values()) >= 0.8 * len(found), found


# -- matching ---------------------------------------------------------------------------------

def test_originals_register_what_they_disclose(suite, registered):
    _, manifest = suite
    reg, _, ids = registered
    for original in manifest["originals"]:
        disclosures = reg.get(ids[original["id"]]).disclosures
        assert disclosures["c2pa"] == (original["metadata"] == "c2pa"), original["id"]
        assert disclosures["iptc"] == (original["metadata"] == "iptc"), original["id"]
        if original["badge"]:
            truth = xyxy(original["drawn"]["text_box"])
            assert any(iou(xyxy(b["box"]), truth) > 0.3 for b in disclosures["visible"])
        else:
            assert disclosures["visible"] == []


def test_copies_are_matched_to_their_original(suite, registered):
    out, manifest = suite
    reg, _, ids = registered
    outcomes = {}
    for copy in manifest["copies"]:
        found = reg.match(pixels(out / copy["file"]))
        assert all(m.asset.id == ids[copy["original"]] for m in found[:1]), copy["file"]
        outcomes[copy["file"]] = (copy["transform"], bool(found))
    matched = sum(ok for _, ok in outcomes.values())
    assert matched >= 0.95 * len(outcomes), [f for f, (_, ok) in outcomes.items() if not ok]
    for transform in generate_registry.STRENGTHS:
        assert any(ok for t, ok in outcomes.values() if t == transform), transform


def test_badges_are_mapped_to_where_they_are_in_the_copy(suite, registered):
    out, manifest = suite
    reg, _, _ = registered
    checked = 0
    for copy in manifest["copies"]:
        if not copy["badge_kept"] or copy["transform"] in ("strip", "jpeg", "exact"):
            continue
        original = next(o for o in manifest["originals"] if o["id"] == copy["original"])
        found = reg.match(pixels(out / copy["file"]))
        if not found:
            continue
        truth = mapped_box(copy["matrix"], xyxy(original["drawn"]["text_box"]))
        badge = found[0].badges[0]
        assert iou(xyxy(badge.box), truth) > 0.5, copy["file"]
        assert badge.inside > 0.9 and badge.similarity > 0.5, copy["file"]
        checked += 1
    assert checked >= 25


def test_unrelated_pictures_never_match(suite, registered):
    out, manifest = suite
    reg, _, _ = registered
    paths = [out / d["file"] for d in manifest["distractors"]]
    if REAL_MEDIA.is_dir():
        paths += sorted(p for p in REAL_MEDIA.rglob("*") if p.suffix.lower() in IMAGE_EXTENSIONS)
    for path in paths:
        try:
            rgb = pixels(path)
        except MediaError:
            continue
        assert reg.match(rgb) == [], path


# -- evidence and verdicts --------------------------------------------------------------------

def scan_copy(out, manifest, transform, url, original=None):
    copy = next(c for c in manifest["copies"] if c["transform"] == transform
                and (original is None or c["original"] == original))
    report = labelcheck.scan(out / copy["file"], settings=Settings(db_url=url))
    codes = {f.code for f in report.findings if f.detector == "registry"}
    return copy, report, codes


@pytest.mark.parametrize("transform", ["crop_badge", "cover_badge", "crop", "jpeg", "flip",
                                       "screenshot", "stickers"])
def test_scan_names_the_removed_disclosure(suite, registered, monkeypatch, transform):
    out, manifest = suite
    _, url, ids = registered
    copy, report, codes = scan_copy(out, manifest, transform, url, original="orig_00")
    assert "registry.match" in codes
    match = next(f for f in report.findings if f.code == "registry.match")
    assert match.details["asset_id"] == ids["orig_00"] and "Acme Agency" in match.message
    assert report.verdict.value == copy["expected_verdict"], (copy["file"], report.summary)
    expected_badge = {"crop_badge": "registry.badge_removed",
                      "cover_badge": "registry.badge_covered",
                      "flip": "registry.badge_mirrored"}.get(transform, "registry.badge_present")
    assert expected_badge in codes
    assert "registry.metadata_removed" in codes  # orig_00 is C2PA-signed; copies lose it


def test_metadata_only_original_stripped_and_exact_copy_disclosed(suite, registered,
                                                                   monkeypatch):
    out, manifest = suite
    _, url, _ = registered
    _, report, codes = scan_copy(out, manifest, "rescale", url, original="orig_05")
    assert report.verdict.value == "stripped"
    assert codes == {"registry.match", "registry.metadata_removed"}
    _, report, codes = scan_copy(out, manifest, "exact", url, original="orig_05")
    assert report.verdict.value == "disclosed" and codes == {"registry.match"}


def test_source_costs_nothing_without_a_registry(suite, tmp_path, monkeypatch):
    out, manifest = suite
    database = tmp_path / "absent.db"
    report = labelcheck.scan(out / manifest["copies"][0]["file"],
                             settings=Settings(db_url=f"sqlite:///{database}"))
    assert not any(f.detector == "registry" for f in report.findings)
    assert not database.exists()


def test_source_reloads_when_the_registry_changes(suite, tmp_path):
    out, manifest = suite
    url = f"sqlite:///{tmp_path / 'live.db'}"
    writer = registry.Registry.open(url)
    assert registry_source.registry_for(url) is None  # no original: the source looks no further
    copy = pixels(out / manifest["copies"][1]["file"])  # a copy of orig_00
    original = out / manifest["originals"][0]["file"]
    asset_id = register_file(writer, original, "Jane Doe")
    reader = registry_source.registry_for(url)
    assert [m.asset.id for m in reader.match(copy)] == [asset_id]
    writer.remove(asset_id)
    assert reader.match(copy) == [] and registry_source.registry_for(url) is None
    again = register_file(writer, original, "Jane Doe")
    assert registry_source.registry_for(url) is reader  # the same indexes, reloaded
    assert [m.asset.id for m in reader.match(copy)] == [again] and again != asset_id


# -- the command and the database ---------------------------------------------------------------

def run_cli(args, capsys):
    code = registry_main(["registry", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_cli_add_list_remove(suite, tmp_path, capsys):
    out, manifest = suite
    db = ["--db", f"sqlite:///{tmp_path / 'cli.db'}"]
    files = [str(out / o["file"]) for o in manifest["originals"][:2]]
    code, stdout, _ = run_cli(["add", *files, "--owner", "Jane Doe", "--note", "avatar clips",
                               "--format", "json", *db], capsys)
    added = json.loads(stdout)
    assert code == 0 and [a["owner"] for a in added] == ["Jane Doe"] * 2
    assert added[0]["note"] == "avatar clips" and added[0]["disclosures"]["c2pa"] is True
    code, stdout, _ = run_cli(["add", files[0], "--owner", "Jane Doe", *db], capsys)
    assert code == 0 and f"#{added[0]['id']}" in stdout  # the same bytes: the same entry
    code, stdout, _ = run_cli(["list", *db], capsys)
    assert code == 0 and len(stdout.splitlines()) == 2 and "Jane Doe: avatar clips" in stdout
    code, stdout, _ = run_cli(["remove", str(added[0]["id"]), *db], capsys)
    assert code == 0 and stdout.strip() == f"removed #{added[0]['id']}"
    code, stdout, _ = run_cli(["list", "--format", "json", *db], capsys)
    assert [a["id"] for a in json.loads(stdout)] == [added[1]["id"]]
    code, _, stderr = run_cli(["remove", "999", *db], capsys)
    assert code == 2 and "no registered asset #999" in stderr
    code, _, stderr = run_cli(["add", str(tmp_path / "missing.jpg"), "--owner", "x", *db], capsys)
    assert code == 2 and "no such file" in stderr


def add_in_parallel(url, groups, env_url=None):
    """One `labelcheck registry add` process per group of files, all started at once (the
    look-alikes among them carry no AI evidence of their own: declared AI-made)."""
    env = {**os.environ, "LABELCHECK_DB": env_url or url}
    processes = [subprocess.Popen(
        [sys.executable, "-m", "labelcheck.cli.registry", "registry", "add", *map(str, files),
         "--owner", f"writer {n}", "--ai-made", "--db", url], cwd=ROOT, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for n, files in enumerate(groups)]
    for process in processes:
        _, stderr = process.communicate(timeout=300)
        assert process.returncode == 0, stderr


def counts(engine) -> tuple[int, int, int]:
    with engine.connect() as connection:
        return tuple(connection.execute(select(func.count()).select_from(table)).scalar()
                     for table in (registry.assets, registry.fingerprints,
                                   registry.local_features))


def test_two_writers_at_once_lose_nothing(suite, tmp_path):
    out, manifest = suite
    files = [out / o["file"] for o in manifest["originals"]]
    files += [out / d["file"] for d in manifest["distractors"][:2]]
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    add_in_parallel(url, [files[0::2], files[1::2]])
    engine = create_engine(url)
    assert counts(engine) == (8, 16, 8)
    with engine.connect() as connection:
        assert connection.execute(text("PRAGMA integrity_check")).scalar() == "ok"


def test_postgresql(suite, tmp_path, pg_url):
    out, manifest = suite
    engine = create_engine(pg_url)
    try:
        files = [out / o["file"] for o in manifest["originals"][:4]]
        add_in_parallel(pg_url, [files[0::2], files[1::2]],
                        env_url=f"sqlite:///{tmp_path / 'absent.db'}")
        assert counts(engine) == (4, 8, 4)
        reg = registry.Registry.open(pg_url)
        copy = next(c for c in manifest["copies"]
                    if c["original"] == "orig_01" and c["transform"] == "crop")
        found = reg.match(pixels(out / copy["file"]))
        assert found and found[0].asset.note is None and found[0].found_by == "local features"
        assert reg.remove(found[0].asset.id) and counts(engine) == (3, 6, 3)
    finally:
        engine.dispose()


# -- an original must be known to be AI-made ----------------------------------------------------

PHOTO = TEST_MEDIA / "plain_photo.jpg"  # a camera photo: EXIF camera, no AI evidence


def test_a_camera_photo_is_refused_unless_declared_ai_made(tmp_path):
    """Registering a camera photo made it and its copies "AI-made, undisclosed". Now an
    original needs AI evidence or its owner's declaration, and the registry says which."""
    url = f"sqlite:///{tmp_path / 'photo.db'}"
    reg = registry.Registry.open(url)
    with pytest.raises(registry.NotAiMade, match="no AI evidence"):
        register_file(reg, PHOTO, "Jane Doe")
    assert reg.list() == []
    assert labelcheck.scan(PHOTO, settings=Settings(db_url=url)).verdict.value == "no_ai_signal"
    asset = reg.get(register_file(reg, PHOTO, "Jane Doe", declared_ai=True))
    assert asset.declared_ai and asset.ai_evidence == [] and asset.ai_made
    assert asset.ai_basis == "its owner declared it AI-made"
    copy = labelcheck.scan(PHOTO, settings=Settings(db_url=url))  # the owner's word counts
    assert "registry.match" in {f.code for f in copy.findings} and copy.ai_generated


def test_a_match_with_a_registered_original_vouches_for_nothing(tmp_path):
    """Another owner registering the same photo undeclared is refused: a registry match is
    not AI evidence of its own, or one wrong registration would vouch for the next."""
    reg = registry.Registry.open(f"sqlite:///{tmp_path / 'vouch.db'}")
    register_file(reg, PHOTO, "First Owner", declared_ai=True)
    with pytest.raises(registry.NotAiMade):
        register_file(reg, PHOTO, "Second Owner")
    assert [asset.owner for asset in reg.list()] == ["First Owner"]


def test_originals_keep_their_ai_evidence_and_a_preview(suite, registered):
    from PIL import Image

    out, manifest = suite
    reg, _, ids = registered
    for original in manifest["originals"]:
        asset = reg.get(ids[original["id"]])
        assert asset.ai_evidence and not asset.declared_ai, original["id"]
        if original["badge"]:
            assert any("visible AI label" in item for item in asset.ai_evidence)
        with Image.open(io.BytesIO(reg.preview(asset.id))) as preview:
            assert preview.format == "JPEG" and max(preview.size) == 640
            width, height = original["size"]
            assert abs(preview.size[0] / preview.size[1] - width / height) < 0.01
    assert reg.with_preview() == set(ids.values())


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request, tmp_path):
    return empty_database(request, tmp_path)


def test_originals_registered_before_keep_their_disclosures_as_evidence(database):
    """The migration that records why an original is AI-made: an original registered before
    it keeps what its scan disclosed as its evidence; one that disclosed nothing is not held
    as AI-made, and a copy of it is no longer called AI-made."""
    from alembic import command

    from labelcheck.run import store

    url = database
    reg = registry.Registry.open(url)
    photo = register_file(reg, PHOTO, "Jane Doe", declared_ai=True)
    iptc = register_file(reg, TEST_MEDIA / "iptc_ai.jpg", "Jane Doe")
    config = store._alembic_config()
    with reg.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "lc0002")  # as a database of the earlier version was
    reg.engine.dispose()
    reg = registry.Registry.open(url)  # migrates it to the newest revision
    assert reg.get(photo).ai_evidence == [] and not reg.get(photo).ai_made
    assert reg.get(iptc).ai_evidence == ["AI declared in an IPTC Digital Source Type"]
    assert reg.preview(photo) is None
    report = labelcheck.scan(PHOTO, settings=Settings(db_url=url))
    [match] = [f for f in report.findings if f.detector == "registry"]
    assert match.code == "registry.match_not_ai" and match.kind.value == "info"
    assert report.verdict.value == "no_ai_signal"


def test_cli_refuses_an_original_not_known_to_be_ai_made(tmp_path, capsys):
    db = ["--db", f"sqlite:///{tmp_path / 'cli-photo.db'}"]
    code, _, stderr = run_cli(["add", str(PHOTO), "--owner", "Jane", *db], capsys)
    assert code == 2 and "no AI evidence" in stderr and "--ai-made" in stderr
    code, stdout, _ = run_cli(["add", str(PHOTO), "--owner", "Jane", "--ai-made", *db], capsys)
    assert code == 0 and "AI-made: its owner declared it AI-made" in stdout


# -- a performer's check of a copy ------------------------------------------------------------

@pytest.mark.parametrize("transform, state", [
    ("crop_badge", "removed"), ("cover_badge", "covered"), ("flip", "mirrored"),
    ("jpeg", "shown"), ("screenshot", "shown")])
def test_copies_of_says_what_became_of_each_disclosure(suite, registered, transform, state):
    out, manifest = suite
    _, url, ids = registered
    copy, report, _ = scan_copy(out, manifest, transform, url, original="orig_00")
    [found] = copies_of(report.to_dict())
    original = next(o for o in manifest["originals"] if o["id"] == "orig_00")
    assert found.asset_id == ids["orig_00"] and found.title == "orig_00.jpg"
    assert found.label.startswith(f'#{ids["orig_00"]} "orig_00.jpg" (Acme Agency')
    assert found.original_size == original["size"] and found.copy_size == copy["size"]
    [badge] = found.badges
    assert badge.state == state and badge.text == original["badge"]["text"]
    truth = xyxy(original["drawn"]["text_box"])
    assert iou(xyxy(badge.original_box), truth) > 0.3
    if transform == "crop_badge":  # cropped off: no place in the copy
        assert badge.copy_box is None and "cropped off" in found.answer
    else:
        assert iou(xyxy(badge.copy_box), mapped_box(copy["matrix"], truth)) > 0.3
    assert found.layers_lost == ["c2pa"]  # orig_00 is C2PA-signed; no copy keeps it
    assert "the C2PA declaration was stripped" in found.lost
    answer = found.answer
    assert answer.startswith(f"This is a copy of registered original {found.label}")
    if state == "shown":
        assert "It still carries an AI label" in answer and "but it lost the rest" in answer
    else:
        assert "its AI label was removed" in answer


def test_a_cropped_reencoded_feed_screenshot_names_its_original(suite, registered, tmp_path):
    """A performer's screenshot of a feed, cropped through the ad's badge and re-encoded: the
    answer names the original, maps the badge into the screenshot (cut by its edge) and
    shows where the screenshot's edges cut the original."""
    from PIL import Image

    out, manifest = suite
    _, url, ids = registered
    original = next(o for o in manifest["originals"] if o["id"] == "orig_00")
    path = tmp_path / "feed.jpg"
    path.write_bytes(generate_registry.feed_screenshot(pixels(out / original["file"]), "test"))
    report = labelcheck.scan(path, settings=Settings(db_url=url))
    [found] = copies_of(report.to_dict())
    assert found.asset_id == ids["orig_00"] and report.verdict.value == "stripped"
    [badge] = found.badges
    assert badge.state == "removed" and badge.copy_box and 0.05 < badge.inside < 0.9
    assert badge.copy_box[0] == 0  # it runs into the screenshot's left edge
    assert "was cut by the edge of the copy" in badge.words
    width, _ = original["size"]
    left = min(x for x, _ in found.copy_outline)
    assert 0.08 * width < left < 0.16 * width  # the screenshot lost 12 % of its width
    with Image.open(path) as shot:
        assert found.copy_size == list(shot.size)
    assert all(-2 <= y for _, y in found.original_outline)  # below the app's header


def test_cli_check_answers_and_exits_1_when_a_label_was_lost(suite, registered, capsys):
    out, manifest = suite
    _, url, ids = registered
    crop = next(c for c in manifest["copies"]
                if c["original"] == "orig_00" and c["transform"] == "crop_badge")
    code, stdout, _ = run_cli(["check", str(out / crop["file"]), str(TEST_MEDIA / "plain.png"),
                               "--db", url, "--format", "json"], capsys)
    assert code == 1
    crop_answer, plain = json.loads(stdout)
    assert crop_answer["copies"][0]["asset_id"] == ids["orig_00"]
    assert crop_answer["copies"][0]["badges"][0]["state"] == "removed"
    assert "cropped off" in crop_answer["answer"] and crop_answer["verdict"] == "stripped"
    assert plain["copies"] == [] and plain["answer"].startswith("No registered original")
    code, stdout, _ = run_cli(["check", str(TEST_MEDIA / "plain.png"), "--db", url], capsys)
    assert code == 0 and "No registered original was found" in stdout
