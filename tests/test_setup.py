"""What a newcomer meets first: a detector failure is one line on stderr (the traceback with
``--debug``), and a URL whose fsspec driver is missing says which package to install."""

from __future__ import annotations

import importlib.util

import pytest

from labelcheck.cli.main import main
from labelcheck.run.inputs import url_problem
from labelcheck.sources.xmp_iptc import XmpIptcSource


@pytest.fixture
def broken_xmp_detector(monkeypatch):
    """The XMP detector with a bug in it (an error whose message spans two lines)."""
    def fail(self, media, settings):
        raise ValueError("unexpected packet\nat offset 20")

    monkeypatch.setattr(XmpIptcSource, "find", fail)


def test_a_failed_detector_is_one_line_on_stderr(broken_xmp_detector, media, capsys):
    path = str(media("iptc_ai.jpg"))
    assert main(["scan", path, "--no-store", "--quiet"]) == 0
    captured = capsys.readouterr()
    assert captured.err.splitlines() == [
        f"labelcheck: the xmp detector failed on {path}; the report says its layer was not "
        "read: ValueError: unexpected packet at offset 20 (--debug shows the traceback)"]
    assert "Not read: xmp detector could not finish" in captured.out  # the report says so


def test_debug_prints_the_traceback(broken_xmp_detector, media, capsys):
    path = str(media("iptc_ai.jpg"))
    main(["scan", path, "--no-store", "--quiet", "--debug"])
    err = capsys.readouterr().err
    assert err.startswith(f"labelcheck: the xmp detector failed on {path}")
    assert "Traceback (most recent call last):" in err and 'raise ValueError("unexpected' in err


@pytest.mark.parametrize("url, error, package", [
    ("s3://bucket/ad.jpg", ImportError("Install s3fs to access S3"), "s3fs"),
    ("gs://bucket/ad.jpg", ImportError("Please install gcsfs to access Google Storage"), "gcsfs"),
])
def test_a_missing_fsspec_driver_names_its_package(url, error, package):
    words = url_problem(url, error)
    assert words.endswith(f": pip install {package}") and str(error) in words
    assert "no such file" not in words


@pytest.mark.skipif(importlib.util.find_spec("gcsfs") is not None,
                    reason="gcsfs is installed: gs:// URLs have their driver")
def test_a_gs_url_without_gcsfs_says_what_to_install(capsys):
    """It used to say "no such file or directory"."""
    assert main(["scan", "gs://bucket/ad.jpg", "--no-store"]) == 2
    err = capsys.readouterr().err
    assert "labelcheck: skipped gs://bucket/ad.jpg: cannot read gs:// URLs without " \
        "their fsspec driver" in err
    assert "pip install gcsfs" in err and "no such file" not in err


def test_an_unknown_url_scheme_is_named(capsys):
    assert main(["scan", "nosuch://bucket/ad.jpg", "--no-store"]) == 2
    assert "not a URL labelcheck can read (Protocol not known: nosuch)" in capsys.readouterr().err
