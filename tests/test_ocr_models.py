"""The OCR models labelcheck runs (labelcheck/vision/ocr_models.py): folded from the wheel's,
computing what they compute, made once into the user's cache and loaded by the engine."""

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import rapidocr
from PIL import Image, ImageDraw, ImageFont

from labelcheck.vision import lexicon, ocr, ocr_models

WHEEL = Path(rapidocr.__file__).parent / "models"


def badge_picture(size=(896, 704), text="AI generated"):
    """A plain picture with a dark badge holding `text` near its lower left corner (sides
    multiples of 32, as the detector takes them)."""
    image = Image.new("RGB", size, (120, 150, 90))
    draw = ImageDraw.Draw(image)
    face = ImageFont.load_default(48)
    left, top, right, bottom = draw.textbbox((60, size[1] - 140), text, font=face)
    draw.rounded_rectangle((left - 20, top - 16, right + 20, bottom + 16), radius=18,
                           fill=(20, 20, 20))
    draw.text((60, size[1] - 140), text, font=face, fill=(255, 255, 255))
    return image


def session(model):
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    source = model.SerializeToString() if isinstance(model, onnx.ModelProto) else str(model)
    return ort.InferenceSession(source, options, providers=["CPUExecutionProvider"])


def normalised(image, line=False):
    """A picture as the models take it: NCHW, BGR, scaled to [-1, 1] (RapidOCR's mean and
    deviation 0.5); a `line` for the recogniser is resized to 48 px high and padded to 320 px
    wide, as RapidOCR does."""
    if line:
        image = image.resize((min(320, round(image.width * 48 / image.height)), 48))
    bgr = np.asarray(image.convert("RGB"), np.float32)[:, :, ::-1] / 255
    pixels = ((bgr - 0.5) / 0.5).transpose(2, 0, 1)
    if line:
        pixels = np.pad(pixels, ((0, 0), (0, 0), (0, 320 - pixels.shape[2])))
    return np.ascontiguousarray(pixels[None])


def test_the_engine_runs_the_folded_models():
    detector, recogniser = ocr._models(1)
    for stage in (detector, recogniser):
        metadata = stage.session.session.get_modelmeta().custom_metadata_map
        assert metadata.get(ocr_models.FOLD_KEY) == str(ocr_models.FOLD_VERSION)
    paths = ocr_models.model_paths()
    assert all(path.parent != WHEEL and path.is_file() for path in paths.values())


def test_folding_removes_the_elementwise_steps():
    for name in ocr_models.SOURCES.values():
        model = onnx.load(WHEEL / name)
        before = [node.op_type for node in model.graph.node]
        after = [node.op_type for node in ocr_models.fold(model).graph.node]
        assert "Div" in before and "Clip" in before
        assert after.count("Clip") == 0  # every hard-swish became HardSigmoid * x
        assert after.count("Mul") + after.count("Add") < \
            0.6 * (before.count("Mul") + before.count("Add"))
        assert after.count("Conv") == before.count("Conv")


@pytest.mark.parametrize("task", ["det", "rec"])
def test_folded_models_compute_what_the_wheels_do(task):
    """On a real input (a badge, at the size each stage sees it), the same numbers up to
    float rounding, and the same characters read."""
    picture = badge_picture()
    if task == "rec":
        picture = picture.crop((40, 540, 480, 620))
    pixels = normalised(picture, line=task == "rec")
    wheel = session(WHEEL / ocr_models.SOURCES[task])
    folded = session(ocr_models.fold(onnx.load(WHEEL / ocr_models.SOURCES[task])))
    expected = wheel.run(None, {"x": pixels})[0]
    got = folded.run(None, {"x": pixels})[0]
    assert np.abs(got - expected).max() < 1e-4 * max(1.0, np.abs(expected).max())
    if task == "rec":
        assert (got.argmax(-1) == expected.argmax(-1)).all()
    else:
        assert ((got > 0.3) == (expected > 0.3)).mean() > 0.9999
        assert (expected > 0.3).sum() > 100  # the badge's text is there to find


def test_a_generated_badge_is_read():
    lines = ocr.read_lines(np.asarray(badge_picture()), threads=1)
    assert any(lexicon.match_label(line.text) for line in lines), [line.text for line in lines]


def test_the_folded_files_are_made_once_in_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    folder = tmp_path / "labelcheck" / "ocr-models"
    older = folder / "ch_PP-OCRv4_rec_mobile-rapidocr3.8.4-fold0.onnx"
    folder.mkdir(parents=True)
    older.write_bytes(b"a folded file of an earlier version")
    paths = ocr_models.model_paths.__wrapped__()
    assert {path.parent for path in paths.values()} == {folder}
    made = {task: path.stat().st_mtime_ns for task, path in paths.items()}
    assert ocr_models.model_paths.__wrapped__() == paths
    assert {task: path.stat().st_mtime_ns for task, path in paths.items()} == made
    assert sorted(path.name for path in paths["rec"].parent.iterdir()) == \
        sorted(path.name for path in paths.values())  # no half-written or older files
    characters = onnx.load(paths["rec"]).metadata_props
    assert "character" in {entry.key for entry in characters}  # the alphabet is kept


def test_an_unwritable_cache_falls_back_to_the_wheels_models(tmp_path, monkeypatch):
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the cache folder would be")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocked))
    paths = ocr_models.model_paths.__wrapped__()
    assert paths == {task: WHEEL / name for task, name in ocr_models.SOURCES.items()}
