"""Nothing is downloaded at run time: the OCR models come from the installed wheel, read with the
network cut off (a network namespace of its own) and an empty home folder."""

import os
import shutil
import subprocess
import sys

import pytest

from conftest import ROOT

pytestmark = pytest.mark.slow  # deselect with -m "not slow"

READ = """
import socket
from labelcheck.formats.media import Media
from labelcheck.vision import lexicon, ocr
try:
    socket.create_connection(("pypi.org", 443), timeout=3)
    raise SystemExit("the network is reachable: this check proves nothing")
except OSError:
    pass
lines = ocr.read_lines(Media.open(%r).rgb)
print(any(lexicon.match_label(line.text) for line in lines))
"""


def test_ocr_reads_a_label_with_no_network_and_an_empty_home(tmp_path):
    unshare = shutil.which("unshare")
    if unshare is None or subprocess.run([unshare, "-n", "true"],
                                         capture_output=True).returncode != 0:
        pytest.skip("cannot make a network namespace here (unshare -n)")
    labelled = tmp_path / "label.png"
    _draw_label(labelled)
    home = tmp_path / "home"
    home.mkdir()
    result = subprocess.run(
        [unshare, "-n", sys.executable, "-c", READ % str(labelled)], cwd=ROOT,
        env={"HOME": str(home), "PATH": os.defpath}, capture_output=True, text=True,
        timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True"


def _draw_label(path):
    """A plain picture with an "AI generated" badge in a corner."""
    from PIL import Image, ImageDraw, ImageFont

    image = Image.new("RGB", (800, 600), (70, 110, 150))
    draw = ImageDraw.Draw(image)
    draw.rectangle((20, 20, 300, 80), fill=(255, 255, 255))
    draw.text((32, 30), "AI generated", fill=(0, 0, 0), font=ImageFont.load_default(36))
    image.save(path)
