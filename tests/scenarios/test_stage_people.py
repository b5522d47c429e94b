"""Each policy walked from stage 1 to its final stage: who is messaged at each stage, as the policy's
own words name them; and the same walk with no roles in the directory, where the bot asks and
nothing stalls."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import timedelta

import pytest

from bot.commands import EscalateStage, NameRoleHolder, RaiseEscalation
from bot.core import EscalationBot
from bot.messages import ActionKind, MessageKind
from bot.people import Person, Role
from bot.policy import People, PolicyLibrary
from bot.storage import Storage

CSC = "Camden Children's Services"
HEALTH = "Whittington Health"

# Two agencies with full line management and every role, and a partnership admin.
DIRECTORY = (
    Person("alex", "Alex Morgan", CSC, "Social Worker", manager_id="jo"),
    Person("jo", "Jo Bennett", CSC, "Team Manager", manager_id="ravi"),
    Person("ravi", "Ravi Shah", CSC, "Service Manager", manager_id="hana"),
    Person("hana", "Hana Iqbal", CSC, "Head of Service", manager_id="dina", roles=(Role.HEAD_OF_SERVICE,)),
    Person("dina", "Dina Cole", CSC, "Director of Children's Services", roles=(Role.SENIOR_MANAGER,)),
    Person("nina", "Nina Park", CSC, "Named Safeguarding Lead Officer", roles=(Role.NAMED_LEAD,)),
    Person("sam", "Sam Patel", HEALTH, "Health Visitor", manager_id="priya"),
    Person("priya", "Priya Nair", HEALTH, "Health Visiting Team Lead", manager_id="tom"),
    Person("tom", "Tom Hale", HEALTH, "Service Manager", manager_id="hugo"),
    Person(
        "hugo",
        "Hugo Reyes",
        HEALTH,
        "Head of Children's Services",
        manager_id="stella",
        roles=(Role.HEAD_OF_SERVICE,),
    ),
    Person("stella", "Stella Obi", HEALTH, "Director of Nursing", roles=(Role.SENIOR_MANAGER,)),
    Person("nora", "Nora Finch", HEALTH, "Named Nurse Safeguarding Children", roles=(Role.NAMED_LEAD,)),
    Person("des", "Des Amis", HEALTH, "Designated Nurse", roles=(Role.DESIGNATED_PROFESSIONAL,)),
    Person("dee", "Dee Okafor", "Partnership", "Partnership Business Manager", admin=True),
)

# Who each stage brings in (a case message of their own), by the policy's words.
EXPECTED = {
    "camden": [
        {"alex", "sam"},  # "the professionals directly involved"
        {"jo", "priya"},  # "contact their manager ... The frontline managers"
        {"nina", "nora"},  # "the relevant named safeguarding lead officer for the agencies involved"
        {"dina", "stella"},  # "named senior managers or directors within the relevant agencies"
        {"dee"},  # "CSCP Lead Safeguarding Partners or their delegated officers"
        set(),  # the Secretary of State, "through the CSCP Lead Safeguarding Partners"
    ],
    "enfield": [
        {"alex", "sam", "jo", "priya"},  # "the first line manager ... with their equivalent"
        {"hana", "hugo"},  # "refer to a Head of Service or equivalent"
        {"dina", "stella"},  # "the next senior person in the agency's line management"
        {"dee"},  # "the Chair of ESCP via the ESCP Strategic Safeguarding Partnership Manager"
    ],
    "cambridgeshire-peterborough": [
        {"alex", "sam"},  # "The people who disagree"
        {"jo", "priya"},  # "their supervisor / line manager / safeguarding lead"
        {"ravi", "tom"},  # "reports to their manager"
        {"dee", "hana", "hugo"},  # "via the Head of Service (for each individual/agency)"
    ],
    "kingston-richmond": [
        {"alex", "sam"},  # "Professionals should attempt to resolve differences"
        {"jo", "priya"},  # "(first line manager) equivalent"
        {"ravi", "tom"},  # "through the line management"
        {"hana", "hugo"},  # "the heads of service for each agency involved"
        {"dee"},  # "referred urgently to the safeguarding children partnership"
    ],
    "redbridge": [
        {"alex", "sam"},  # "the relevant practitioner/decision maker"
        {"jo", "priya"},  # "their respective line managers"
        {"dina", "stella"},  # "the relevant senior manager"
        {"dee"},  # "the Chair of the LSCB via the LSCB Business Manager"
    ],
}
# The words in each stage's people_quote that name whom the bot reaches.
ROLE_WORDS = {
    Role.NAMED_LEAD: r"named safeguarding lead",
    Role.SENIOR_MANAGER: r"senior managers?",
    Role.HEAD_OF_SERVICE: r"heads? of service",
}


def directory(*, roles: bool) -> list[Person]:
    return list(DIRECTORY) if roles else [replace(p, roles=()) for p in DIRECTORY]


@pytest.fixture
def walk(database_url, clock, policies: PolicyLibrary):
    def make(*, roles: bool = True) -> tuple[EscalationBot, Storage]:
        store = Storage.open(database_url)
        store.upsert_people(directory(roles=roles))
        return EscalationBot(store=store, policies=policies, clock=clock), store

    return make


def target(clock):
    return (clock.now() + timedelta(days=3)).replace(hour=17, minute=0)


def raise_under(bot: EscalationBot, policy_id: str, clock, case: str = "CIN-1"):
    policy = bot.policies.get(policy_id)
    return bot.handle(
        RaiseEscalation(
            actor="alex",
            policy_id=policy_id,
            case_reference=case,
            counterpart="sam",
            category=policy.categories[0].id,
            issue="Health visiting plans to close the case.",
            risk="Baby of 8 months; missed appointments.",
            outcome_wanted="Keep health visiting open until the review.",
            target_due=None if policy.stage(1).standard.given else target(clock),
        )
    )


def escalate(bot: EscalationBot, esc_id: str, clock, actor: str = "alex"):
    esc = bot.load(esc_id)
    following = esc.policy.stage(esc.stage.number + 1)
    needs = not following.timescale(urgent=esc.urgent).given
    return bot.handle(
        EscalateStage(
            actor=actor,
            escalation_id=esc_id,
            reason="Still no agreement.",
            target_due=target(clock) if needs else None,
        )
    )


def case_messages(messages) -> set[str]:
    return {m.to for m in messages if m.kind is MessageKind.CASE}


@pytest.mark.parametrize("policy_id", sorted(EXPECTED))
def test_each_stage_reaches_the_people_its_policy_names(walk, clock, policy_id) -> None:
    bot, _ = walk(roles=True)
    policy = bot.policies.get(policy_id)
    reached = [case_messages(raise_under(bot, policy_id, clock))]
    for _ in policy.stages[1:]:
        clock.advance(timedelta(hours=1))
        messages = escalate(bot, "E-0001", clock)
        assert [m for m in messages if m.kind is MessageKind.QUESTION] == [], "every role is known"
        reached.append(case_messages(messages))
    assert reached == EXPECTED[policy_id]
    for stage, people in zip(policy.stages, EXPECTED[policy_id], strict=True):
        quote = (stage.people_quote or "").lower()
        if stage.role is not None:
            assert re.search(ROLE_WORDS[stage.role], quote), (stage.number, quote)
        if stage.people is People.NEXT_UP:
            assert "manager" in quote or "line management" in quote, (stage.number, quote)
        if stage.people is People.PARTNERSHIP and people:
            assert "dee" in people


@pytest.mark.parametrize(
    ("policy_id", "stage", "person", "words"),
    [
        ("camden", 3, "nora", "as the named safeguarding lead for Whittington Health"),
        ("camden", 4, "dina", "as the senior manager or director for Camden Children's Services"),
        ("enfield", 2, "hugo", "as the head of service for Whittington Health"),
        ("kingston-richmond", 4, "hana", "as the head of service for Camden Children's Services"),
        ("redbridge", 3, "stella", "as the senior manager or director for Whittington Health"),
        ("camden", 2, "priya", "as Sam Patel's manager"),
    ],
)
def test_the_newcomer_is_told_why_them(walk, clock, policy_id, stage, person, words) -> None:
    bot, _ = walk(roles=True)
    raise_under(bot, policy_id, clock)
    for _ in range(stage - 1):
        messages = escalate(bot, "E-0001", clock)
    (welcome,) = [m for m in messages if m.to == person and m.kind is MessageKind.CASE]
    assert welcome.text.startswith(f"You've been brought into E-0001 {words}.")
    assert "Still no agreement." not in welcome.text or "Why:" not in welcome.text
    assert "Health visiting plans to close the case." in welcome.text  # the summary, in one message


def test_a_stage_message_carries_the_stages_route_and_contacts(walk, clock) -> None:
    bot, _ = walk(roles=True)
    raise_under(bot, "kingston-richmond", clock)
    for _ in range(4):
        messages = escalate(bot, "E-0001", clock)
    (to_dee,) = [m for m in messages if m.to == "dee"]
    # Appendix 2: "contact the KRSCP Partnership Manager ... and note that you wish to make a formal
    # escalation: lscb-support@kingrichlscb.org.uk 07834 386459"
    assert "Contact KRSCP Partnership Manager: 07834 386459, lscb-support@kingrichlscb.org.uk." in to_dee.text
    assert "Say that you wish to make a formal escalation." in to_dee.text
    moved = next(m for m in messages if m.to == "alex")
    assert "lscb-support@kingrichlscb.org.uk" in moved.text
    assert "What the policy says for this stage:" in moved.text


def test_camden_stage_3_says_where_to_get_named_officers_details(walk, clock) -> None:
    bot, _ = walk(roles=True)
    raise_under(bot, "camden", clock)
    escalate(bot, "E-0001", clock)
    messages = escalate(bot, "E-0001", clock)
    (to_nina,) = [m for m in messages if m.to == "nina"]
    assert "Contact CSCP: cscp@camden.gov.uk. Ask for the named officer's contact details." in to_nina.text
    assert (
        "This stage is with: Nina Park (Named Safeguarding Lead Officer, Camden Children's Services)"
        in to_nina.text
    )


# -- with no roles known: the bot asks, remembers, and nothing stalls ------------------------------


ROLE_STAGES = {
    "camden": [3, 4],
    "enfield": [2],
    "cambridgeshire-peterborough": [4],
    "kingston-richmond": [4],
    "redbridge": [3],
}


@pytest.mark.parametrize("policy_id", sorted(ROLE_STAGES))
def test_with_no_roles_known_the_bot_asks_and_every_stage_still_starts(walk, clock, policy_id) -> None:
    bot, _ = walk(roles=False)
    policy = bot.policies.get(policy_id)
    raise_under(bot, policy_id, clock)
    for stage in policy.stages[1:]:
        messages = escalate(bot, "E-0001", clock)
        esc = bot.load("E-0001")
        assert esc.stage.number == stage.number
        assert esc.stage.due is not None  # a due time (policy or locally agreed) whatever happens
        questions = [m for m in messages if m.kind is MessageKind.QUESTION]
        if stage.number not in ROLE_STAGES[policy_id]:
            continue
        # Each side's current handler is asked who holds the role in their own agency.
        asked = {m.to: m for m in questions}
        handlers = {side: esc.handling(side) for side in ("raising", "other")}
        assert set(asked) == {handlers["raising"][-1], handlers["other"][-1]}
        label = stage.role.label
        assert (
            f"goes to the {label} for {CSC}, and we don't know who that is yet"
            in asked[handlers["raising"][-1]].text
        )
        assert f"goes to the {label} for {HEALTH}" in asked[handlers["other"][-1]].text
        (action,) = asked[handlers["other"][-1]].actions
        assert action.kind is ActionKind.NAME_ROLE_HOLDER and action.ref
        # Meanwhile the stage is with whoever handled each side before: they get its reminders.
        assert set(esc.current_people()) >= {handlers["raising"][-1], handlers["other"][-1]}


def test_an_answer_brings_the_person_in_and_is_remembered_for_the_next_case(walk, clock, inbox) -> None:
    bot, store = walk(roles=False)
    raise_under(bot, "camden", clock)
    escalate(bot, "E-0001", clock)
    messages = escalate(bot, "E-0001", clock)  # stage 3: named safeguarding leads
    (question,) = [m for m in messages if m.to == "priya" and m.kind is MessageKind.QUESTION]
    question_id = int(question.actions[0].ref)
    with pytest.raises(Exception, match="Only the person we asked"):
        bot.handle(NameRoleHolder(actor="sam", question_id=question_id, person="nora"))
    answered = bot.handle(NameRoleHolder(actor="priya", question_id=question_id, person="nora"))
    (welcome,) = [m for m in answered if m.to == "nora"]
    assert welcome.kind is MessageKind.CASE
    assert "as the named safeguarding lead for Whittington Health" in welcome.text
    said = (
        "Nora Finch (Named Nurse Safeguarding Children, Whittington Health) has joined as the named "
        "safeguarding lead for Whittington Health."
    )
    joined = {m.to for m in answered if said in m.text}
    assert {"alex", "sam", "jo", "priya"} <= joined
    assert "nora" in bot.load("E-0001").current_people()
    # A second difference with the same agency reaches Nora at stage 3 without asking.
    raise_under(bot, "camden", clock, case="CIN-2")
    escalate(bot, "E-0002", clock)
    messages = escalate(bot, "E-0002", clock)
    assert "nora" in case_messages(messages)
    assert [m.to for m in messages if m.kind is MessageKind.QUESTION] == ["jo"]  # CSC's lead is still unknown
    assert store.role_holders(Role.NAMED_LEAD, "whittington  HEALTH") == [store.person("nora")]


def test_one_answer_serves_every_escalation_waiting_on_it(walk, clock) -> None:
    bot, _ = walk(roles=False)
    for case in ("CIN-1", "CIN-2"):
        raise_under(bot, "kingston-richmond", clock, case=case)
    for esc_id in ("E-0001", "E-0002"):
        for _ in range(3):
            messages = escalate(bot, esc_id, clock)
    first = next(m for m in messages if m.to == "tom" and m.kind is MessageKind.QUESTION)
    waiting = [q for q in bot.store.open_questions(kind="role") if q.person_id == "tom"]
    assert len(waiting) == 2
    answered = bot.handle(NameRoleHolder(actor="tom", question_id=int(first.actions[0].ref), person="hugo"))
    assert sum(1 for m in answered if m.to == "hugo" and m.kind is MessageKind.CASE) == 2
    assert [q for q in bot.store.open_questions(kind="role") if q.person_id == "tom"] == []


def test_an_unanswered_question_never_stalls_the_clock(walk, clock, inbox) -> None:
    bot, _ = walk(roles=False)
    raise_under(bot, "camden", clock)
    escalate(bot, "E-0001", clock)
    escalate(bot, "E-0001", clock)  # stage 3, nobody named
    inbox.collect()
    esc = bot.load("E-0001")
    clock.set(esc.stage.due + timedelta(minutes=1))
    bot.run_due()
    due = [m for m in inbox.collect() if m.kind is MessageKind.REMINDER]
    assert {"jo", "priya"} <= {m.to for m in due}
    assert all("Stage 3 is due now" in m.text for m in due if m.to in {"jo", "priya"})
    # And the difference can still move on to stage 4, where the directory knows nobody either.
    messages = escalate(bot, "E-0001", clock)
    assert bot.load("E-0001").stage.number == 4
    assert {m.to for m in messages if m.kind is MessageKind.QUESTION} == {"jo", "priya"}


def test_camden_stage_3_falls_back_to_a_designated_professional(walk, clock) -> None:
    # "named/ designated safeguarding leads/ operational managers": with no named lead recorded for
    # Whittington Health, its designated professional is reached instead of asking.
    bot, store = walk(roles=True)
    store.upsert_people([replace(store.person("nora"), roles=())])
    raise_under(bot, "camden", clock)
    escalate(bot, "E-0001", clock)
    messages = escalate(bot, "E-0001", clock)
    assert case_messages(messages) == {"nina", "des"}
    assert [m for m in messages if m.kind is MessageKind.QUESTION] == []
    (to_des,) = [m for m in messages if m.to == "des"]
    assert to_des.text.startswith(
        "You've been brought into E-0001 as the designated safeguarding professional for Whittington Health."
    )


# -- answers that must be refused, and questions that must end ------------------------------------


def stage_3_question(bot, clock, to: str = "jo"):
    """A Camden difference at stage 3 with no named leads known: the question put to `to`."""
    raise_under(bot, "camden", clock)
    escalate(bot, "E-0001", clock)
    messages = escalate(bot, "E-0001", clock)
    (question,) = [m for m in messages if m.to == to and m.kind is MessageKind.QUESTION]
    return int(question.actions[0].ref)


def test_nobody_can_be_named_for_a_side_they_are_already_against(walk, clock) -> None:
    from bot.commands import NameManager, Withdraw
    from bot.errors import InvalidInput

    bot, store = walk(roles=False)
    question_id = stage_3_question(bot, clock)
    store.upsert_people([replace(store.person("sam"), agency=CSC)])  # even if the directory says so
    with pytest.raises(InvalidInput, match="Sam Patel is on the other side of E-0001"):
        bot.handle(NameRoleHolder(actor="jo", question_id=question_id, person="sam"))
    assert store.role_holders(Role.NAMED_LEAD, CSC) == []
    assert bot.load("E-0001").side_of("sam") == "other"
    with pytest.raises(Exception, match="Only the side that raised"):
        bot.handle(Withdraw(actor="sam", escalation_id="E-0001", reason="x"))
    # The same for a line manager: Priya cannot be named as Jo's manager.
    store.upsert_people([replace(store.person("jo"), manager_id=None)])
    raise_under(bot, "enfield", clock, case="CIN-9")
    escalate(bot, "E-0002", clock)  # stage 2 needs heads of service: nobody; asks jo and priya
    bot.handle(
        EscalateStage(reason="No agreement", actor="alex", escalation_id="E-0002")
    )  # stage 3: jo's manager
    with pytest.raises(InvalidInput, match="Priya Nair is on the other side of E-0002"):
        bot.handle(NameManager(actor="jo", person="jo", manager="priya"))


def test_a_role_holder_must_be_in_the_agency_asked_about(walk, clock) -> None:
    from bot.errors import InvalidInput

    bot, store = walk(roles=False)
    question_id = stage_3_question(bot, clock, to="priya")
    with pytest.raises(InvalidInput) as refused:
        bot.handle(NameRoleHolder(actor="priya", question_id=question_id, person="ravi"))
    assert str(refused.value) == (
        "Ravi Shah is recorded with Camden Children's Services. "
        "Name the named safeguarding lead for Whittington Health."
    )
    assert store.role_holders(Role.NAMED_LEAD, HEALTH) == []


def test_only_the_person_asked_or_an_admin_of_that_partnership_may_answer(walk, clock) -> None:
    from bot.errors import Refused

    bot, store = walk(roles=False)
    question_id = stage_3_question(bot, clock, to="priya")
    store.upsert_people([replace(store.person("dee"), admin_policies=("enfield",))])
    with pytest.raises(Refused):
        bot.handle(NameRoleHolder(actor="dee", question_id=question_id, person="nora"))
    store.upsert_people([replace(store.person("dee"), admin_policies=("camden",))])
    bot.handle(NameRoleHolder(actor="dee", question_id=question_id, person="nora"))
    assert "nora" in bot.load("E-0001").participants()


def test_a_question_ends_when_its_stage_moves_on_or_the_difference_ends(walk, clock) -> None:
    from bot.commands import Withdraw
    from bot.errors import InvalidInput

    bot, store = walk(roles=False)
    question_id = stage_3_question(bot, clock, to="priya")
    esc = bot.load("E-0001")
    assert esc.awaiting == {"raising": "jo", "other": "priya"}
    escalate(bot, "E-0001", clock)  # stage 4: the stage-3 questions no longer hold anything up
    assert bot.load("E-0001").awaiting == {"raising": "jo", "other": "priya"}  # asked again, for stage 4
    with pytest.raises(InvalidInput, match="answered already, or the difference has moved on"):
        bot.handle(NameRoleHolder(actor="priya", question_id=question_id, person="nora"))
    assert store.role_holders(Role.NAMED_LEAD, HEALTH) == []
    bot.handle(Withdraw(actor="alex", escalation_id="E-0001", reason="Agreed in the end."))
    assert store.open_questions(escalation_id="E-0001") == []


def test_after_a_stage_reaches_several_people_the_next_reaches_each_of_their_managers(walk, clock) -> None:
    # Enfield: stage 2 reaches both of CSC's heads of service; stage 3 ("the next senior person in the
    # agency's line management") reaches Dina, the manager of the one who has a manager on record.
    bot, store = walk(roles=True)
    store.upsert_people([Person("zoe", "Zoe Quinn", CSC, "Head of Service", roles=(Role.HEAD_OF_SERVICE,))])
    raise_under(bot, "enfield", clock)
    messages = escalate(bot, "E-0001", clock)
    assert {"hana", "zoe", "hugo"} <= case_messages(messages)
    messages = escalate(bot, "E-0001", clock)
    assert case_messages(messages) == {"dina", "stella"}
    assert [m for m in messages if m.kind is MessageKind.QUESTION] == []


def test_a_stage_that_asks_nobody_no_longer_says_it_is_waiting(walk, clock) -> None:
    # Kingston & Richmond: stage 4 asks each side for its head of service; stage 5 (the partnership)
    # asks nobody, so its message must not say it is still waiting on an answer.
    bot, _ = walk(roles=False)
    raise_under(bot, "kingston-richmond", clock)
    for _ in range(3):
        messages = escalate(bot, "E-0001", clock)
    assert bot.load("E-0001").awaiting
    messages = escalate(bot, "E-0001", clock)
    assert bot.load("E-0001").awaiting == {}
    assert not any("we've asked" in m.text for m in messages)
