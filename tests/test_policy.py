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
    assert decision.requirements[0].missing == (
        "no visible AI label, C2PA declaration, IPTC/XMP declaration or GB 45438 AIGC label "
        "found")


@pytest.mark.parametrize("channel", ["c2pa", "iptc", "aigc", "visible"])
def test_default_accepts_any_intact_disclosure(channel):
    assert verdict([TRACE, declaration(channel)]) is Verdict.DISCLOSED


def test_broken_c2pa_declaration_is_stripped():
    decision = decide([declaration("c2pa", intact=False)], Policy.load("default"))
    assert decision.verdict is Verdict.STRIPPED
    assert decision.requirements[0].missing == (
        "the C2PA declaration no longer matches the content: it was changed after signing")
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
    assert small.requirements[1].missing == (
        "text height 1% of the shorter side, under the 5% required")
    centre = dict(BADGE_GOOD, position="centre")
    decision = decide([aigc, declaration("visible", **centre)], Policy.load("cn-gb45438"))
    assert decision.verdict is Verdict.UNDISCLOSED
    assert decision.requirements[1].missing == (
        "the label is at the centre, not at a corner or an edge")
    english = dict(BADGE_GOOD, rules=[])
    decision = decide([aigc, declaration("visible", **english)], Policy.load("cn-gb45438"))
    assert decision.verdict is Verdict.UNDISCLOSED
    assert decision.requirements[1].missing == (
        "the label does not use the wording GB 45438 requires (AI or 人工智能 together with "
        "生成 or 合成)")
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


# -- regimes of record: citations, dates, roles, what a file cannot show ----------------------

def statuses(decision):
    return {result.id: result.status.value for result in decision.requirements}


def test_every_regime_cites_its_source_date_and_roles():
    for name in available_policies():
        policy = Policy.load(name)
        assert policy.citation, name
        if name == "default":
            continue
        assert policy.effective and policy.roles, name
        for requirement in policy.requirements:
            assert requirement.source and requirement.role in policy.roles, (name, requirement.id)


def test_rules_apply_from_their_effective_date():
    import datetime as dt

    findings = [declaration("c2pa")]
    before = decide(findings, Policy.load("eu-ai-act"), "image", dt.date(2026, 8, 1))
    assert set(statuses(before).values()) == {"not_in_force"}
    assert before.verdict is Verdict.DISCLOSED  # nothing was required yet
    after = decide(findings, Policy.load("eu-ai-act"), "image", dt.date(2026, 8, 2))
    assert statuses(after)["machine_readable_marking"] == "met"
    assert statuses(after)["visible_label"] == "not_met"
    assert after.verdict is Verdict.UNDISCLOSED
    platform = "platform_provenance_display"
    assert statuses(decide(findings, Policy.load("us-ca-ab853"), "image",
                           dt.date(2026, 12, 31)))[platform] == "not_in_force"
    assert statuses(decide(findings, Policy.load("us-ca-ab853"), "image",
                           dt.date(2027, 1, 1)))[platform] == "manual_check"


def test_a_manual_check_is_never_met_and_never_decides():
    decision = decide([TRACE, declaration("visible", **BADGE_GOOD)],
                      Policy.load("ny-synthetic-performer"))
    assert statuses(decision) == {"conspicuous_disclosure": "met",
                                  "synthetic_performer": "manual_check"}
    assert decision.verdict is Verdict.DISCLOSED
    manual = next(r for r in decision.requirements if r.id == "synthetic_performer")
    assert not manual.satisfied and "a person must check" in manual.missing
    replica = decide([TRACE], Policy.load("ny-digital-replica"))
    assert set(statuses(replica).values()) == {"manual_check"}


def test_a_watermark_no_detector_reads_is_not_verifiable_never_absent():
    both = [declaration("c2pa"), declaration("visible", **BADGE_GOOD)]
    decision = decide(both, Policy.load("eu-ai-act"), "image")
    assert statuses(decision)["imperceptible_watermark"] == "not_verifiable"
    assert "not verifiable here" in next(
        r.missing for r in decision.requirements if r.id == "imperceptible_watermark")
    assert decision.verdict is Verdict.DISCLOSED
    mark = Finding("sd_watermark", Kind.AI_TRACE, "sd_watermark.sd1", "SD watermark",
                   channel="watermark")
    assert statuses(decide(both + [mark], Policy.load("eu-ai-act"), "image"))[
        "imperceptible_watermark"] == "met"


def test_a_draft_rule_is_reported_not_applied():
    label = declaration("visible", coverage=0.4, **BADGE_GOOD)
    decision = decide([label, declaration("c2pa")], Policy.load("in-it-rules-2026"), "video")
    assert statuses(decision)["label_throughout_video"] == "draft"
    assert decision.verdict is Verdict.DISCLOSED


def test_role_limits_the_requirements_judged():
    visible_only = [declaration("visible", **BADGE_GOOD)]
    deployer = decide(visible_only, Policy.load("eu-ai-act"), "image", role="deployer")
    assert deployer.verdict is Verdict.DISCLOSED
    assert statuses(deployer)["machine_readable_marking"] == "not_applicable"
    assert "binds the provider, not the deployer" in deployer.requirements[0].missing
    assert decide(visible_only, Policy.load("eu-ai-act"), "image").verdict is \
        Verdict.UNDISCLOSED


def test_without_ai_evidence_no_requirement_applies():
    decision = decide([], Policy.load("cn-gb45438"), "image")
    assert set(statuses(decision).values()) == {"not_applicable"}


def test_several_policies_in_one_pass(media):
    from labelcheck import scan
    from labelcheck.core.policy import Regimes, load_policies

    regimes = load_policies("eu-ai-act, cn-gb45438,eu-ai-act")
    assert isinstance(regimes, Regimes) and regimes.name == "eu-ai-act,cn-gb45438"
    assert isinstance(load_policies("default"), Policy)
    report = scan(media("aigc_xmp.jpg"), policy="eu-ai-act,cn-gb45438")
    data = report.to_dict()
    assert data["policy"] == "eu-ai-act,cn-gb45438"
    assert set(data["verdicts"]) == {"eu-ai-act", "cn-gb45438"}
    single = {name: scan(media("aigc_xmp.jpg"), policy=name) for name in data["verdicts"]}
    for name, regime in data["verdicts"].items():
        assert regime["verdict"] == single[name].verdict.value
        assert regime["requirements"] == [r.to_dict() for r in single[name].requirements]
    worst = {"stripped": 0, "undisclosed": 1, "disclosed": 2}
    assert data["verdict"] == min((r.verdict.value for r in single.values()), key=worst.get)
    assert {r["id"].split(":")[0] for r in data["requirements"]} == set(data["verdicts"])
    assert "verdicts" not in single["eu-ai-act"].to_dict()


def test_a_requirement_result_writes_every_field_and_reads_back():
    """The JSON of a requirement names each of its fields (role and source only when set),
    and `report_from_dict` gives the same result back."""
    from dataclasses import fields

    from labelcheck.core.model import RequirementResult, Status, _requirement_from_dict

    result = RequirementResult("eu:visible", "a visible label", False, ["ocr.label"],
                               "no label", Status.NOT_VERIFIABLE, "deployer", "Art. 50(4)")
    data = result.to_dict()
    assert set(data) == {item.name for item in fields(RequirementResult)}
    assert data["status"] == "not_verifiable" and data["satisfied_by"] == ["ocr.label"]
    assert _requirement_from_dict(data) == result
    bare = RequirementResult("x", "y", True, status=Status.MET).to_dict()
    assert "role" not in bare and "source" not in bare and bare["missing"] == ""
