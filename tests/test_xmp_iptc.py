"""XMP/IPTC: namespace resolution, value forms, and hostile XML."""

import labelcheck
from conftest import jpeg_with_xmp, png_with_text, xmp_packet
from labelcheck import Kind, Verdict

IPTC = "http://iptc.org/std/Iptc4xmpExt/2008-02-29/"
DST = "http://cv.iptc.org/newscodes/digitalsourcetype/"


def scan_xmp(body, namespaces=""):
    return labelcheck.scan(jpeg_with_xmp(xmp_packet(body, namespaces)), name="x.jpg")


def codes(report):
    return [f.code for f in report.findings]


def test_source_type_resolved_by_namespace_not_prefix():
    report = scan_xmp(f"<anyPrefix:DigitalSourceType>{DST}trainedAlgorithmicMedia"
                      "</anyPrefix:DigitalSourceType>", f'xmlns:anyPrefix="{IPTC}"')
    assert "iptc.ai_source_type" in codes(report)
    assert report.verdict is Verdict.DISCLOSED
    wrong_namespace = scan_xmp("<Iptc4xmpExt:DigitalSourceType>trainedAlgorithmicMedia"
                               "</Iptc4xmpExt:DigitalSourceType>",
                               'xmlns:Iptc4xmpExt="http://example.com/not-iptc/"')
    assert wrong_namespace.verdict is Verdict.NO_AI_SIGNAL


def test_attribute_form_and_https_and_bare_values():
    for value in ("https://cv.iptc.org/newscodes/digitalsourcetype/compositeSynthetic",
                  "trainedAlgorithmicMedia", f"{DST}compositeWithTrainedAlgorithmicMedia"):
        report = scan_xmp("", f'xmlns:Iptc4xmpExt="{IPTC}" Iptc4xmpExt:DigitalSourceType='
                              f'"{value}"')
        assert report.ai_generated, value


def test_possibly_ai_and_not_ai_values_are_not_evidence():
    possible = scan_xmp(f"<i:DigitalSourceType>{DST}virtualRecording</i:DigitalSourceType>",
                        f'xmlns:i="{IPTC}"')
    assert [f.kind for f in possible.findings] == [Kind.POSSIBLE_AI]
    assert possible.verdict is Verdict.NO_AI_SIGNAL
    capture = scan_xmp(f"<i:DigitalSourceType>{DST}digitalCapture</i:DigitalSourceType>",
                       f'xmlns:i="{IPTC}"')
    assert [f.kind for f in capture.findings] == [Kind.NOT_AI_DECLARATION]


def test_google_credit_line():
    report = scan_xmp("<photoshop:Credit>Made with Google AI</photoshop:Credit>",
                      'xmlns:photoshop="http://ns.adobe.com/photoshop/1.0/"')
    assert "xmp.google_ai_credit" in codes(report) and report.verdict is Verdict.DISCLOSED


def test_billion_laughs_is_refused_not_expanded():
    entities = "".join(f'<!ENTITY l{i} "&l{i - 1};&l{i - 1};&l{i - 1};&l{i - 1};">'
                       for i in range(1, 12))
    hostile = f'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY l0 "ha">{entities}]>' + \
        xmp_packet("<dc:title>&l11;</dc:title>", 'xmlns:dc="http://purl.org/dc/elements/1.1/"')
    report = labelcheck.scan(jpeg_with_xmp(hostile), name="laughs.jpg")
    problem = [f for f in report.findings if f.code == "xmp.unreadable"]
    assert problem and "hostile" in problem[0].message
    assert report.verdict is Verdict.NO_AI_SIGNAL


def test_deeply_nested_xmp_does_not_crash():
    depth = 50_000
    body = "<a:n>" * depth + "x" + "</a:n>" * depth
    packet = xmp_packet(body + "<i:DigitalSourceType>trainedAlgorithmicMedia"
                        "</i:DigitalSourceType>", f'xmlns:a="urn:a" xmlns:i="{IPTC}"')
    report = labelcheck.scan(png_with_text({"XML:com.adobe.xmp": packet}), name="deep.png")
    assert report.verdict in (Verdict.DISCLOSED, Verdict.NO_AI_SIGNAL)
    assert report.error is None


def test_malformed_xmp_is_a_problem_finding():
    report = labelcheck.scan(jpeg_with_xmp("<x:xmpmeta><rdf:RDF>"), name="bad.jpg")
    assert "xmp.unreadable" in codes(report)
