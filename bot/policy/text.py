"""A policy in plain English: the stage ladder, timescales, emergency numbers, what is out of scope."""

from __future__ import annotations

from bot.policy.model import People, Policy


def describe_stage_timescale(policy: Policy, number: int) -> str:
    stage = policy.stage(number)
    text = stage.standard.describe()
    if stage.urgent is not None:
        text += f" ({stage.urgent.describe()} if urgent)"
    if stage.anchor.value == "escalation_start" and stage.standard.given:
        text += " from the start of stage 1"
    return text


def describe_policy(policy: Policy) -> str:
    """The whole policy as a person would want it on one screen."""
    lines = [
        f"{policy.name} ({policy.id})",
        f"Source: {policy.source_title} — {policy.source_publisher}, {policy.source_date}",
        "",
        "Stages:",
    ]
    for stage in policy.stages:
        lines.append(f"{stage.number}. {stage.title} — {describe_stage_timescale(policy, stage.number)}")
        if stage.people is People.PARTNERSHIP:
            lines.append(f"   Who: {stage.involves_raising}")
        else:
            lines.append(f"   Who: {stage.involves_raising} / {stage.involves_other}")
        for milestone in stage.milestones:
            lines.append(
                f"   • {milestone.name}: within {milestone.within.describe()} "
                f"of {milestone.after.value.replace('_', ' ')}"
            )
        for alternative in stage.alternatives:
            lines.append(f"   • {alternative.applies_to}: {alternative.instead}")
        for contact in stage.copy_to:
            lines.append(f"   • Copy in: {contact.describe()}")
        if stage.seniority_level:
            lines.append(f"   • Seniority level {stage.seniority_level}")
    if policy.urgent_when:
        lines += ["", f"Urgent when: {policy.urgent_when}"]
    if not policy.has_urgent_timescales:
        lines.append(
            "The policy gives no separate urgent timescale: set an earlier due time that protects the child."
        )
    lines += ["", emergency_text(policy), "", "What a disagreement can be about:"]
    lines += [f"• {c.label}" for c in policy.categories]
    lines += ["", "Each record must include:"] + [f"• {r}" for r in policy.record_must_include]
    if policy.out_of_scope:
        lines += ["", "Not for this process:"]
        for item in policy.out_of_scope:
            contact = f" ({item.contact.describe()})" if item.contact else ""
            lines.append(f"• {item.matter} → {item.route}{contact}")
    if policy.cross_borough:
        lines += ["", "Across borough boundaries:"] + [f"• {r}" for r in policy.cross_borough]
    if policy.seniority_ladder:
        lines += [
            "",
            "Equivalent roles by level" + (f" ({policy.ladder_note})" if policy.ladder_note else "") + ":",
        ]
        for level, roles in policy.seniority_ladder:
            lines.append(f"Level {level}: " + "; ".join(f"{a}: {r}" for a, r in roles.items()))
    return "\n".join(lines)


def emergency_text(policy: Policy) -> str:
    """The immediate-risk guidance: 999 always, then the policy's own words and numbers."""
    lines = [
        "If a child is in immediate danger, call 999 now.",
        "Tell your designated safeguarding lead straight away.",
        "",
        f"What the {policy.short_name} policy says:",
    ]
    lines += [f"• {g}" for g in policy.emergency_guidance]
    contacts = [c for c in policy.emergency_contacts if c.phone != "999"]
    if contacts:
        lines += ["", "Numbers:"] + [f"• {c.describe()}" for c in contacts]
    if policy.out_of_hours:
        lines += ["", "Out of hours:"] + [f"• {c.describe()}" for c in policy.out_of_hours]
    return "\n".join(lines)
