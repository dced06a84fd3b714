"""GB 45438 AIGC label parsing, leniency and non-conformance reporting."""

import pytest

from labelcheck.sources.aigc import parse_label

STANDARD = ('{"AIGC":{"Label":"1","ContentProducer":"001191110102MACQD9K64010000",'
            '"ProduceID":"p1","ReservedCode1":"","ContentPropagator":"","PropagateID":"",'
            '"ReservedCode2":""}}')


def test_standard_label_is_conformant():
    label = parse_label(STANDARD)
    assert label.value == "1" and label.problems == []
    assert label.fields["ContentProducer"] == "001191110102MACQD9K64010000"


def test_entity_encoded_label():
    encoded = STANDARD.replace('"', "&quot;")
    assert parse_label(encoded).value == "1"
    assert parse_label(encoded.replace("&", "&amp;")).value == "1"


def test_bare_app_segment_form_with_trailing_bytes():
    label = parse_label('AIGC{"Label":"2","ContentProducer":"x","ProduceID":"y"}\x00\xff junk')
    assert label.value == "2"
    assert 'fields not wrapped in an "AIGC" object' in label.problems


def test_nonstandard_values_are_reported():
    label = parse_label('{"AIGC":{"Label":"AIGC","ServiceProvider":"Example"}}')
    assert label.value == "AIGC"
    assert "Label is 'AIGC', not 1, 2 or 3" in label.problems
    assert "missing required field ContentProducer" in label.problems
    assert "non-standard field ServiceProvider" in label.problems


def test_broken_json_is_read_loosely():
    label = parse_label('{"AIGC":{Label:1, ContentProducer: abc')
    assert label is not None and "not valid JSON" in label.problems


@pytest.mark.parametrize("text", ["", "AIGC", '{"other": 1}', "[1, 2]", "{{{{"])
def test_non_labels_are_ignored(text):
    assert parse_label(text) is None
