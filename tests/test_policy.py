"""The verdict function and the policy files, on findings built by hand."""

import pytest

from labelcheck.core.model import Finding, Kind, Verdict
from labelcheck.core.policy import Policy, PolicyError, available_policies, decide


def declaration(channel, intact=True, **measurements):
    return Finding("test", Kind.AI_DECLARATION, f"{channel}.test", f"{channel} says AI",
                   channel=channel, intact=intact, measurements=measurements)


TRACE = Finding("png_text", Kind.AI_TRACE, "a1111.parameters", "A1111 settings")
BADGE_GOOD = dict(height_ratio=0.06, contrast=7.0, position="corner", rules=["gb45438"])
BADGE_SMALL = dict(height_ratio=0.01, contrast=7.0, position="corner", rules=["gb45438"])


def verdict(findings, policy="default"):
    return decide(findings, Policy.load(policy)).verdict


def test_bundled_policies_load():
    assert {"default", "eu-ai-act", "cn-gb45438", "ny-synthetic-performer"} <= set(
        available_policies())
    for name in available_policies():
        assert Policy.load(name).requirements


def test_no_evidence_is_no_ai_signal():
    assert verdict([]) is Verdict.NO_AI_SIGNAL
    possible = Finding("xmp", Kind.POSSIBLE_AI, "iptc.possible_ai_source_type", "composite")
    assert verdict([possible]) is Verdict.NO_AI_SIGNAL


def test_trace_alone_is_undisclosed():
    decision = decide([TRACE], Policy.load("default"))
    assert decision.verdict is Verdict.UNDISCLOSED and decision.ai_generated
    assert "no visible or c2pa or iptc or aigc disclosure found" in decision.requirements[0].missing


@pytest.mark.parametrize("channel", ["c2pa", "iptc", "aigc", "visible"])
def test_default_accepts_any_intact_disclosure(channel):
    assert verdict([TRACE, declaration(channel)]) is Verdict.DISCLOSED


def test_broken_c2pa_declaration_is_stripped():
    decision = decide([declaration("c2pa", intact=False)], Policy.load("default"))
    assert decision.verdict is Verdict.STRIPPED
    assert "broken" in decision.requirements[0].missing
    assert not decision.machine_readable_disclosure


def test_removal_evidence_makes_stripped():
    removal = Finding("registry", Kind.REMOVAL, "registry.badge_removed", "badge cropped")
    assert verdict([TRACE, removal]) is Verdict.STRIPPED


def test_eu_needs_both_marking_and_visible_label():
    assert verdict([declaration("c2pa")], "eu-ai-act") is Verdict.UNDISCLOSED
    assert verdict([declaration("visible", **BADGE_GOOD)], "eu-ai-act") is Verdict.UNDISCLOSED
    both = [declaration("c2pa"), declaration("visible", **BADGE_GOOD)]
    assert verdict(both, "eu-ai-act") is Verdict.DISCLOSED


def test_cn_needs_aigc_and_a_big_enough_edge_label():
    aigc = declaration("aigc", label="1")
    assert verdict([aigc, declaration("visible", **BADGE_GOOD)], "cn-gb45438") is Verdict.DISCLOSED
    small = decide([aigc, declaration("visible", **BADGE_SMALL)], Policy.load("cn-gb45438"))
    assert small.verdict is Verdict.UNDISCLOSED
    assert "height_ratio 0.01 below 0.05" in small.requirements[1].missing
    centre = dict(BADGE_GOOD, position="centre")
    assert verdict([aigc, declaration("visible", **centre)], "cn-gb45438") is Verdict.UNDISCLOSED
    english = dict(BADGE_GOOD, rules=[])
    assert verdict([aigc, declaration("visible", **english)], "cn-gb45438") is Verdict.UNDISCLOSED
    assert verdict([declaration("c2pa"), declaration("visible", **BADGE_GOOD)],
                   "cn-gb45438") is Verdict.UNDISCLOSED


def test_ny_needs_a_conspicuous_visible_label():
    assert verdict([declaration("c2pa")], "ny-synthetic-performer") is Verdict.UNDISCLOSED
    low_contrast = dict(BADGE_GOOD, contrast=1.5)
    assert verdict([declaration("visible", **low_contrast)],
                   "ny-synthetic-performer") is Verdict.UNDISCLOSED
    assert verdict([declaration("visible", **BADGE_GOOD)],
                   "ny-synthetic-performer") is Verdict.DISCLOSED


def test_custom_policy_file(tmp_path):
    path = tmp_path / "aigc-only.toml"
    path.write_text('name = "aigc-only"\n[[requirement]]\nid = "aigc"\nchannels = ["aigc"]\n')
    policy = Policy.load(str(path))
    assert policy.name == "aigc-only"
    assert decide([declaration("c2pa")], policy).verdict is Verdict.UNDISCLOSED
    assert decide([declaration("aigc")], policy).verdict is Verdict.DISCLOSED


def test_bad_policies_are_clear_errors(tmp_path):
    with pytest.raises(PolicyError, match="unknown policy"):
        Policy.load("no-such-regime")
    broken = tmp_path / "broken.toml"
    broken.write_text("name = [")
    with pytest.raises(PolicyError, match="not valid"):
        Policy.load(str(broken))
    with pytest.raises(PolicyError, match="cannot read"):
        Policy.load(str(tmp_path / "missing.toml"))
