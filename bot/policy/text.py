"""A policy in plain English: the stage ladder, who each stage reaches, timescales, the emergency and
urgent routes, contacts and guidance. Nothing a policy file holds is left unshown here."""

from __future__ import annotations

from bot.policy.model import Contact, CopyRole, People, Policy, Stage, UrgentRoute

EMERGENCY_OPENING = (
    "If a child is in immediate danger, call 999 now.",
    "Tell your designated safeguarding lead now.",
)


def describe_stage_timescale(policy: Policy, number: int) -> str:
    stage = policy.stage(number)
    text = stage.standard.describe()
    if stage.urgent is not None:
        text += f" ({stage.urgent.describe()} if urgent)"
    if stage.anchor.value == "escalation_start" and stage.standard.given:
        text += " from the start of stage 1"
    return text


def stage_reach(policy: Policy, stage: Stage) -> str:
    """Which people a stage reaches and how the bot finds them, in one sentence."""
    if stage.people is People.PRACTITIONERS:
        return "The two professionals: the one raising the difference and the other professional."
    if stage.people is People.NEXT_UP:
        return (
            "On each side, the line manager of whoever handled it at the stage before, from the "
            "directory; where none is recorded, the bot asks that person to name them."
        )
    role_part = ""
    if stage.role is not None:
        fallback = "".join(f" (or, where it has none recorded, its {r.label})" for r in stage.or_roles)
        role_part = (
            f"on each side, the {stage.role.label} for that side's agency{fallback}, from the "
            "directory's roles; where none is recorded, the bot asks whoever is handling that side "
            "to name them"
        )
    if stage.people is People.ROLE:
        return role_part[0].upper() + role_part[1:] + "."
    admins = f"The {policy.short_name} partnership admins named in the directory"
    return f"{admins}; and {role_part}." if role_part else f"{admins}."


def describe_contacts(contacts: tuple[Contact | CopyRole, ...], prefix: str = "• ") -> list[str]:
    """One line per contact (a copy-in the bot makes says whom it tells)."""
    lines = []
    for contact in contacts:
        if isinstance(contact, CopyRole):
            lines.append(
                f"{prefix}{contact.label}: the bot copies in the {contact.role.label}s it knows "
                f"(\u201c{contact.quote}\u201d)."
            )
        else:
            lines.append(f"{prefix}{contact.describe()}")
    return lines


def urgent_route_lines(policy: Policy) -> list[str]:
    """The policy's own route for an urgent difference, or nothing where it names none."""
    route: UrgentRoute | None = policy.urgent_route
    if route is None:
        return []
    when = f" ({route.when.lower()})" if route.when else ""
    return [f"Urgent route in the {policy.short_name} policy{when}:", f"• {route.describe()}"]


def describe_policy(policy: Policy) -> str:
    """The whole policy: every stage with its people, timescale, route and contacts, then the
    emergency and urgent routes, categories, record, scope, guidance and contacts."""
    lines = [
        f"{policy.name} ({policy.id})",
        f"Source: {policy.source_title} — {policy.source_publisher}, {policy.source_date}",
    ]
    if policy.source_url:
        lines.append(f"Published at: {policy.source_url}")
    if policy.source_note:
        lines.append(policy.source_note)
    for item in policy.corrections:
        lines.append(f"The document prints {item['printed']}; this uses {item['corrected']}: {item['why']}")
    lines += ["", "Stages:"]
    for stage in policy.stages:
        lines += _stage_lines(policy, stage)
    lines.append("")
    if policy.urgent_when:
        lines.append(f"Urgent when: {policy.urgent_when}")
        urgent_quote = (policy.raw.get("urgent") or {}).get("quote")
        if urgent_quote:
            lines.append(f"The policy: \u201c{urgent_quote}\u201d")
    if not policy.has_urgent_timescales:
        lines.append(
            "The policy gives no separate urgent timescale: set an earlier due time that protects the child."
        )
    lines += urgent_route_lines(policy) or [
        f"The {policy.short_name} policy names no separate route for urgent differences."
    ]
    if policy.urgent_route:
        lines.append(f"  The policy: \u201c{policy.urgent_route.quote}\u201d")
    lines += ["", "If a child is at immediate risk:", emergency_text(policy)]
    lines += ["", "What a disagreement can be about:"] + [f"• {c.label}" for c in policy.categories]
    lines += ["", "Each record must include:"] + [f"• {r}" for r in policy.record_must_include]
    if policy.out_of_scope:
        lines += ["", "Not for this process:"]
        for item in policy.out_of_scope:
            contact = f" ({item.contact.describe()})" if item.contact else ""
            lines.append(f"• {item.matter} → {item.route}{contact}")
    if policy.cross_borough:
        lines += ["", "Across borough boundaries:"] + [f"• {r}" for r in policy.cross_borough]
    if policy.guidance:
        lines += ["", "What else the policy says:"] + [f"• {g}" for g in policy.guidance]
    if policy.contacts:
        lines += ["", "Contacts:", *describe_contacts(policy.contacts)]
    if policy.seniority_ladder:
        note = f" ({policy.ladder_note})" if policy.ladder_note else ""
        lines += ["", f"Equivalent roles by level{note}:"]
        for level, roles in policy.seniority_ladder:
            lines.append(f"Level {level}: " + "; ".join(f"{a}: {r}" for a, r in roles.items()))
    return "\n".join(lines)


def _stage_lines(policy: Policy, stage: Stage) -> list[str]:
    lines = [f"{stage.number}. {stage.title} — {describe_stage_timescale(policy, stage.number)}"]
    if stage.quote:
        lines.append(f"   Its time, in the policy's words: \u201c{stage.quote}\u201d")
    if stage.involves_raising == stage.involves_other:
        lines.append(f"   Who: {stage.involves_raising}")
    else:
        lines.append(f"   Who: {stage.involves_raising} / {stage.involves_other}")
    lines.append(f"   Reaches: {stage_reach(policy, stage)}")
    if stage.people_quote:
        lines.append(f"   The policy: \u201c{stage.people_quote}\u201d")
    if stage.summary:
        lines.append(f"   {stage.summary}")
    for milestone in stage.milestones:
        lines.append(
            f"   • {milestone.name}: within {milestone.within.describe()} "
            f"of {milestone.after.value.replace('_', ' ')}"
            + (f" (\u201c{milestone.quote}\u201d)" if milestone.quote else "")
        )
    for alternative in stage.alternatives:
        lines.append(f"   • {alternative.applies_to}: {alternative.instead}")
    lines += describe_contacts(stage.contacts, "   • Contact ")
    lines += describe_contacts(stage.copy_to, "   • Copy in ")
    if stage.named_roles:
        lines.append("   Named roles for each agency at this stage:")
        lines += [f"     - {agency}: {role}" for agency, role in stage.named_roles.items()]
    if stage.seniority_level:
        lines.append(f"   • Seniority level {stage.seniority_level}")
    return lines


def emergency_text(policy: Policy) -> str:
    """The immediate-risk screen: 999 and the designated lead first, then the policy's own words,
    numbers and urgent route."""
    lines = [*EMERGENCY_OPENING, "", f"What the {policy.short_name} policy says:"]
    lines += [f"• {g}" for g in policy.emergency_guidance]
    contacts = [c for c in policy.emergency_contacts if c.phone != "999"]
    if contacts:
        lines += ["", "Numbers:"] + [f"• {c.describe()}" for c in contacts]
    if policy.out_of_hours:
        lines += ["", "Out of hours:"] + [f"• {c.describe()}" for c in policy.out_of_hours]
    route = urgent_route_lines(policy)
    if route:
        lines += ["", *route]
    return "\n".join(lines)
