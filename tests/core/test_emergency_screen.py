"""The immediate-risk screen, for every policy: 999 and the designated lead first, then the policy's
own words and numbers exactly as its document prints them, with no debris, and numbers a phone can
dial in Slack and Teams."""

from __future__ import annotations

import re

import pytest

from adapters.slack.blocks import sections
from adapters.teams.cards import text_body
from bot.policy import PolicyLibrary, bundled_policy_dir
from bot.policy.sources import normalise, read_source, source_path
from bot.policy.text import describe_policy, emergency_text

POLICY_IDS = ("cambridgeshire-peterborough", "camden", "enfield", "kingston-richmond", "redbridge")
DEBRIS = re.compile(r">-|\|-|(^|\n)\s*- |\s-\s*$|\{|\}|\\n")


def source_text(policy_id: str) -> str:
    source = read_source(source_path(bundled_policy_dir() / f"{policy_id}.yaml", policy_id))
    assert source is not None
    return normalise(source.text)


def numbers_of(policies: PolicyLibrary, policy_id: str) -> list[str]:
    policy = policies.get(policy_id)
    found = [c.phone for c in (*policy.emergency_contacts, *policy.out_of_hours) if c.phone]
    if policy.urgent_route and policy.urgent_route.phone:
        found.append(policy.urgent_route.phone)
    return found


@pytest.mark.parametrize("policy_id", POLICY_IDS)
def test_the_screen_opens_with_999_and_the_designated_lead(policies, policy_id) -> None:
    lines = emergency_text(policies.get(policy_id)).splitlines()
    assert lines[0] == "If a child is in immediate danger, call 999 now."
    assert lines[1] == "Tell your designated safeguarding lead now."
    assert lines[3] == f"What the {policies.get(policy_id).short_name} policy says:"


@pytest.mark.parametrize("policy_id", POLICY_IDS)
def test_each_guidance_item_is_one_of_the_documents_sentences_on_its_own_line(policies, policy_id) -> None:
    policy = policies.get(policy_id)
    text = emergency_text(policy)
    document = source_text(policy_id)
    for item in policy.emergency_guidance:
        assert f"• {item}" in text.splitlines()
        assert not DEBRIS.search(item), f"debris in {item!r}"
        words = normalise(item).rstrip(".")
        assert words in document or (words[0].lower() + words[1:]) in document, item


@pytest.mark.parametrize("policy_id", POLICY_IDS)
def test_each_number_is_shown_exactly_as_the_document_prints_it(policies, policy_id) -> None:
    text = emergency_text(policies.get(policy_id))
    document = source_text(policy_id)
    for number in numbers_of(policies, policy_id):
        assert number in document, f"{number} is not how the document prints it"
        assert number in text


def test_the_numbers_each_policy_gives_are_on_its_screen(policies) -> None:
    # Camden 4: 999, and "the Head of Children Quality Assurance on 020 7974 3369" for urgent
    # resolution. Enfield: 999, MASH 0208 379 5555, out of hours 020 8379 1000. The other three
    # documents give no emergency numbers of their own.
    assert numbers_of(policies, "camden") == ["999", "020 7974 3369"]
    assert numbers_of(policies, "enfield") == ["999", "0208 379 5555", "020 8379 1000"]
    for policy_id in ("cambridgeshire-peterborough", "kingston-richmond", "redbridge"):
        assert numbers_of(policies, policy_id) == []
    kingston = emergency_text(policies.get("kingston-richmond"))
    # The screen is about immediate risk: Appendix 2's health-provider navigation is not on it.
    assert "SWL ICB" not in kingston
    assert "act without delay to safeguard the child" in kingston


@pytest.mark.parametrize("policy_id", POLICY_IDS)
def test_nothing_shown_of_a_policy_carries_yaml_or_markup_debris(policies, policy_id) -> None:
    text = describe_policy(policies.get(policy_id))
    for line in text.splitlines():
        assert ">-" not in line and "|-" not in line, line
        assert not re.match(r"^\s*- (?![A-Z][^:]*: )", line) or line.startswith("     - "), line
    assert "**" not in text and "<u>" not in text


@pytest.mark.parametrize("policy_id", POLICY_IDS)
def test_slack_makes_every_number_on_the_screen_tappable(policies, policy_id) -> None:
    shown = "\n".join(b["text"]["text"] for b in sections(emergency_text(policies.get(policy_id))))
    assert "call <tel:999|999> now" in shown
    for number in numbers_of(policies, policy_id):
        digits = re.sub(r"\D", "", number)
        uri = "tel:999" if digits == "999" else f"tel:+44{digits[1:]}"
        assert f"<{uri}|{number}>" in shown


@pytest.mark.parametrize("policy_id", POLICY_IDS)
def test_teams_makes_every_number_on_the_screen_tappable(policies, policy_id) -> None:
    body = text_body(emergency_text(policies.get(policy_id)))
    runs = [run for block in body for run in block["inlines"]]
    links = {run["text"]: run["selectAction"]["url"] for run in runs if "selectAction" in run}
    assert links["999"] == "tel:999"
    for number in numbers_of(policies, policy_id):
        digits = re.sub(r"\D", "", number)
        assert links[number] == ("tel:999" if digits == "999" else f"tel:+44{digits[1:]}")
    # The words around the numbers arrive unchanged.
    assert "\n".join("".join(r["text"] for r in b["inlines"]) for b in body) == emergency_text(
        policies.get(policy_id)
    )


# Fields that are codes for the bot (ids, enums, timescales), shown in words rather than as written.
CODES = {
    "id",
    "people",
    "role",
    "roles",
    "or_roles",
    "within",
    "after",
    "who",
    "standard",
    "urgent",
    "anchor",
}


@pytest.mark.parametrize("policy_id", POLICY_IDS)
def test_policies_show_holds_every_word_the_file_holds(policies, policy_id) -> None:
    policy = policies.get(policy_id)
    shown = " ".join(describe_policy(policy).split())

    def strings(value, path=""):
        if isinstance(value, str):
            yield path, value
        elif isinstance(value, dict):
            for key, item in value.items():
                yield from strings(item, f"{path}.{key}" if path else key)
        elif isinstance(value, list):
            for i, item in enumerate(value):
                yield from strings(item, f"{path}[{i}]")

    missing = []
    for field, text in strings(dict(policy.raw)):
        if field.rsplit(".", 1)[-1].split("[")[0] in CODES:
            continue
        # 999 leads every screen ("call 999 now"); its contact entry is not repeated.
        nines = [c for c in policy.emergency_contacts if c.phone == "999"]
        if field.startswith("emergency.contacts") and any(text in (c.label, c.phone, c.when) for c in nines):
            continue
        if " ".join(text.split()) not in shown:
            missing.append(field)
    assert missing == []


def test_a_long_message_never_splits_a_phone_number_between_sections() -> None:
    from bot.wording import split_text

    for offset in range(0, 40):
        text = "word " * (500 + offset) + "call the Head of Children Quality Assurance on 020 7974 3369 today"
        for piece in split_text(text, 2600):
            assert not piece.endswith(("020", "020 7974")) and not piece.startswith(("7974", "3369"))
        shown = "".join(b["text"]["text"] for b in sections(text))
        assert "<tel:+442079743369|020 7974 3369>" in shown


@pytest.mark.parametrize(
    ("text", "linked"),
    [
        ("If a child is in immediate danger, call 999 now.", ["999"]),
        ("call the police on 999.", ["999"]),
        ("It cost £999 and case 999 was closed", []),
        ("Reference 0012345 and 01234 56", []),
        ("Ring 07834 386459 or 0300 555 1201 x73226", ["07834 386459", "0300 555 1201 x73226"]),
    ],
)
def test_only_numbers_worth_dialling_become_links(text, linked) -> None:
    from bot.phones import dialable

    assert [m.group() for m in dialable(text)] == linked


def test_a_case_reference_in_the_heading_is_never_a_link() -> None:
    text = "E-0001 · case 01234 567890 · Camden policy\nCall 020 7974 3369."
    (block,) = sections(text)
    assert block["text"]["text"].startswith("*E-0001 · case 01234 567890 · Camden policy*\n")
    assert "<tel:+442079743369|020 7974 3369>" in block["text"]["text"]
    heading = text_body(text)[0]
    assert all("selectAction" not in run for run in heading["inlines"])
