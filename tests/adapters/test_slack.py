"""The Slack adapter's promises, each over real HTTP against the fake Web API."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import timedelta

import aiohttp
import pytest

from fakes.slack_api import Failure
from fakes.slack_requests import block_action, event, fill, reply, slash, view_submission
from support import escalations, eventually, london

FORM = {
    "risk_now": "no",
    "case_reference": "CIN-20931",
    "counterpart": "dir:sam",
    "category": "threshold",
    "issue": "Health visiting plans to close the case.",
    "risk": "Baby of 8 months; missed appointments.",
    "outcome_wanted": "Keep health visiting open until the review.",
}


async def open_form(slack, user="UALEX", trigger="trigger-1"):
    assert (await slack.send(slash(user, trigger_id=trigger)))[0] == 200
    (opened,) = await slack.fake.wait_for("views.open", trigger_id=trigger)
    return opened.args["view"]


async def raise_(slack, user="UALEX", **answers):
    view = await open_form(slack, user)
    return await slack.send(view_submission(user, fill(view, **{**FORM, **answers})))


def all_text(call) -> str:
    return json.dumps(call.args)


def said(answer: dict) -> str:
    """What a reply shows: its blocks' text (a long reply keeps only its first line in `text`)."""
    shown = [b["text"]["text"] for b in answer.get("blocks") or [] if b.get("text")]
    return "\n".join(shown) or answer.get("text", "")


# -- verification ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "how",
    [
        {"secret": None},
        {"secret": "not-the-secret"},
        {"timestamp": int(time.time()) - 10 * 60},
    ],
    ids=["unsigned", "wrong secret", "stale timestamp"],
)
async def test_requests_that_are_not_signed_by_slack_are_refused(slack, how):
    status, _ = await slack.send(slash("UALEX"), **how)
    assert status == 401
    assert slack.fake.called("views.open") == []


# -- the form --------------------------------------------------------------------------------


async def test_yes_to_immediate_risk_shows_the_emergency_guidance_in_the_form(slack):
    view = await open_form(slack)
    submitted = fill(view, risk_now="yes")
    submitted["_selected"] = "yes"
    await slack.send(block_action("UALEX", "risk_now", view=submitted))
    (update,) = await slack.fake.wait_for("views.update")
    shown = all_text(update)
    # Numbers are links a phone dials, shown as the policy prints them.
    assert "call <tel:999|999> now" in shown and "Tell your designated safeguarding lead now" in shown
    assert "<tel:+442079743369|020 7974 3369>" in shown


async def test_invalid_input_is_reported_on_the_field_it_concerns(slack):
    status, body = await raise_(slack, case_reference="", issue="   ", category="threshold")
    assert status == 200
    answer = json.loads(body)
    assert answer["response_action"] == "errors"
    assert set(answer["errors"]) == {"case_reference", "issue"}
    assert escalations(slack.services.bot.store) == []


async def test_someone_new_is_asked_for_their_agency_and_role_and_remembered(slack):
    view = await open_form(slack, user="UNEW")
    assert {"my_agency", "my_role"} <= {b.get("block_id") for b in view["blocks"]}
    _, body = await slack.send(view_submission("UNEW", fill(view, **FORM)))
    assert json.loads(body)["errors"].keys() == {"my_agency", "my_role"}
    answers = {**FORM, "my_agency": "Hillside Academy", "my_role": "Teacher"}
    assert await slack.send(view_submission("UNEW", fill(view, **answers))) == (200, "")
    person = slack.services.bot.store.person_by(slack_id="UNEW")
    assert (person.name, person.agency, person.role) == ("Nia Newcomer", "Hillside Academy", "Teacher")
    second = await open_form(slack, user="UNEW", trigger="trigger-9")
    assert "my_agency" not in {b.get("block_id") for b in second["blocks"]}


async def test_user_text_is_escaped_so_it_cannot_ping_or_link(slack):
    await raise_(slack, issue="<!channel> & <https://evil.example|click here>")
    (to_sam,) = await slack.fake.wait_for("chat.postMessage", channel="USAM")
    shown = all_text(to_sam)
    assert "<!channel>" not in shown and "<https://evil" not in shown
    assert "&lt;!channel&gt; &amp; &lt;https://evil.example|click here&gt;" in shown


# -- threads ---------------------------------------------------------------------------------


async def _case_threads(slack):
    await raise_(slack)
    await slack.fake.wait_for("chat.postMessage", count=2)
    (case,) = slack.fake.called("chat.postMessage", channel="UALEX")
    return case.response["channel"], case.response["ts"]


async def test_a_retried_event_is_recorded_once(slack):
    channel, thread = await _case_threads(slack)
    note = event(reply("UALEX", channel, thread, "Phoned Sam.", "1700000200.000001"), "EvSame")
    assert (await slack.send(note))[0] == 200
    assert (await slack.send(note, retry=1))[0] == 200
    await slack.fake.wait_for("reactions.add")
    esc = slack.services.bot.load("E-0001")
    assert [n.discussed for n in esc.notes] == ["Phoned Sam."]
    assert len(slack.fake.called("reactions.add")) == 1


async def test_edits_and_deletions_are_corrections_never_silent_changes(slack):
    channel, thread = await _case_threads(slack)
    await slack.send(event(reply("UALEX", channel, thread, "Spoke Monday.", "1700000300.000001"), "Ev1"))
    changed = {
        "type": "message",
        "subtype": "message_changed",
        "channel": channel,
        "message": {
            "user": "UALEX",
            "text": "Spoke Tuesday.",
            "ts": "1700000300.000001",
            "thread_ts": thread,
        },
    }
    deleted = {
        "type": "message",
        "subtype": "message_deleted",
        "channel": channel,
        "deleted_ts": "1700000300.000001",
        "previous_message": {"user": "UALEX", "text": "Spoke Tuesday.", "thread_ts": thread},
    }
    await slack.send(event(changed, "Ev2"))
    await slack.send(event(deleted, "Ev3"))
    record = await slack.run(slack.services.bot.export, "alex", "E-0001")
    assert "Spoke Monday." in record and "Spoke Tuesday." in record
    assert "The original message was deleted." in record


async def test_bot_messages_are_ignored(slack):
    channel, thread = await _case_threads(slack)
    bot_reply = {**reply("UALEX", channel, thread, "Automated", "1700000400.000001"), "bot_id": "BOTHER"}
    await slack.send(event(bot_reply, "Ev4"))
    assert slack.services.bot.load("E-0001").notes == []


async def test_someone_not_on_the_escalation_is_told_privately_and_not_recorded(slack):
    channel, thread = await _case_threads(slack)
    await slack.send(event(reply("UEVE", channel, thread, "I have views.", "1700000500.000001"), "Ev5"))
    (told,) = await slack.fake.wait_for("chat.postEphemeral", user="UEVE")
    assert "not on this escalation" in told.args["text"]
    assert slack.services.bot.load("E-0001").notes == []
    await slack.send(block_action("UEVE", "esc:show", value="E-0001"))
    await slack.fake.wait_for("chat.postEphemeral", count=2)
    refusal = slack.fake.called("chat.postEphemeral")[-1].args["text"]
    assert "no escalation E-0001 that you are on" in refusal and "Health visiting" not in refusal


# -- delivery --------------------------------------------------------------------------------


async def test_retry_after_is_honoured_to_the_second(slack):
    slack.fake.fail("chat.postMessage", Failure(429, {"Retry-After": "3"}))
    await raise_(slack)
    await eventually(lambda: slack.services.bot.store.outbox_counts() == {"delivered": 1, "pending": 1})
    slack.clock.advance(timedelta(seconds=2))
    await slack.tick()
    assert slack.services.bot.store.outbox_counts() == {"delivered": 1, "pending": 1}
    slack.clock.advance(timedelta(seconds=1))
    await slack.tick()
    assert slack.services.bot.store.outbox_counts() == {"delivered": 2}


async def test_a_retried_event_is_acted_on_once(slack):
    home = event({"type": "app_home_opened", "user": "UALEX", "tab": "home"}, "EvRetry")
    await slack.send(home)
    await slack.send(home, retry=1)
    await slack.send(home, retry=2)
    await slack.fake.wait_for("views.publish")
    await asyncio.sleep(0.2)
    assert len(slack.fake.called("views.publish")) == 1


async def test_every_form_reports_bad_input_beside_its_field(slack):
    await raise_(slack)
    await slack.fake.wait_for("chat.postMessage", count=2)
    cases = [
        ("esc:add_note", {"form": "Phone call", "involved": "Alex", "discussed": "  "}, "discussed"),
        ("esc:withdraw", {"reason": " "}, "reason"),
        ("esc:resolve", {"outcome": ""}, "outcome"),
        ("esc:set_earlier_due", {"due": int(london(2026, 12, 20, 12).timestamp())}, "due"),
        ("esc:mark_urgent", {"reason": " "}, "reason"),
    ]
    for n, (action, answers, field) in enumerate(cases):
        trigger = f"t-form-{n}"
        await slack.send(block_action("UALEX", action, value="E-0001", trigger_id=trigger))
        (opened,) = await slack.fake.wait_for("views.open", trigger_id=trigger)
        _, body = await slack.send(view_submission("UALEX", fill(opened.args["view"], **answers)))
        answer = json.loads(body)
        assert answer["response_action"] == "errors" and field in answer["errors"], (action, answer)
    assert slack.services.bot.load("E-0001").is_open and slack.services.bot.load("E-0001").notes == []


async def test_marking_urgent_from_its_button_tells_both_sides_the_urgent_route(slack):
    await raise_(slack)
    await slack.fake.wait_for("chat.postMessage", count=2)
    await slack.send(block_action("USAM", "esc:mark_urgent", value="E-0001", trigger_id="t-urgent"))
    (opened,) = await slack.fake.wait_for("views.open", trigger_id="t-urgent")
    assert "increased risk" in all_text(opened)
    _, body = await slack.send(
        view_submission("USAM", fill(opened.args["view"], reason="New bruise seen today"))
    )
    assert body in ("", "null") or json.loads(body).get("response_action") != "errors"
    await slack.tick()
    for user in ("UALEX", "USAM"):
        told = [c for c in slack.fake.posts_to(user) if "marked this urgent" in all_text(c)]
        assert told, user
        assert "<tel:+442079743369|020 7974 3369>" in all_text(told[0])
    assert slack.services.bot.load("E-0001").urgent


async def test_show_escapes_user_text_too(slack):
    await raise_(slack, issue="<!channel> look")
    (answer,) = await slack.ask("UALEX", "show E-0001")
    text = said(answer)
    assert "&lt;!channel&gt; look" in text and "<!channel>" not in text
    await slack.send(block_action("UALEX", "esc:show", value="E-0001", trigger_id="t-show"))
    (modal,) = await slack.fake.wait_for("views.open", trigger_id="t-show")
    shown = all_text(modal)
    assert "&lt;!channel&gt; look" in shown and "<!channel>" not in shown


async def test_rate_limits_and_outages_delay_a_message_but_never_lose_it(slack):
    slack.fake.fail(
        "chat.postMessage",
        Failure(429, {"Retry-After": "3"}),
        Failure(503),
        Failure(500),
    )
    await raise_(slack)
    await slack.fake.wait_for("chat.postMessage", count=2)
    await eventually(lambda: slack.services.bot.store.outbox_counts() == {"pending": 2})
    for _ in range(4):
        slack.clock.advance(timedelta(seconds=30))
        await slack.tick()
    delivered = [c for c in slack.fake.called("chat.postMessage") if c.response.get("ok")]
    assert sorted(c.args["channel"] for c in delivered) == ["UALEX", "USAM"]
    assert slack.services.bot.store.outbox_counts() == {"delivered": 2}


async def test_a_timeout_is_retried_and_a_reply_under_either_copy_is_recorded(slack):
    client = slack.services.slack_client
    await client.session.close()  # the server's pool of connections, swapped for one that waits 0.3 s
    client.session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=0.3))
    slack.fake.fail("chat.postMessage", Failure(delay=1.0))
    await raise_(slack)
    await slack.fake.wait_for("chat.postMessage", count=2)
    slack.clock.advance(timedelta(minutes=1))
    await slack.tick()
    await asyncio.sleep(1.2)  # let the slow first post land too
    to_alex = [c for c in slack.fake.called("chat.postMessage", channel="UALEX") if c.response.get("ok")]
    # Slack took the slow post after the bot had given up on it, and after the retry had looked for
    # it: delivery is at least once, so Alex has two copies.
    assert len(to_alex) == 2
    known = slack.services.bot.store.address("alex", "slack", "thread:E-0001")
    orphan = next(c for c in to_alex if f"{c.response['channel']}:{c.response['ts']}" != known)
    await slack.send(
        event(
            reply("UALEX", orphan.response["channel"], orphan.response["ts"], "Note.", "1700000700.1"), "EvO"
        )
    )
    await slack.fake.wait_for("reactions.add")
    # The copy's metadata names the escalation, so the reply is recorded; the thread in use stays.
    assert [n.discussed for n in slack.services.bot.load("E-0001").notes] == ["Note."]
    assert slack.services.bot.store.address("alex", "slack", "thread:E-0001") == known


async def test_a_reply_in_a_thread_the_bot_did_not_start_is_not_recorded_and_says_so(slack):
    await raise_(slack)
    await slack.fake.wait_for("chat.postMessage", count=2)
    # Alex replies under a message of their own in the DM: no case message heads this thread.
    await slack.send(event(reply("UALEX", "DUALEX", "1700000001.000001", "Note?", "1700000002.1"), "EvX"))
    (told,) = await slack.fake.wait_for("chat.postEphemeral", user="UALEX")
    assert "couldn't tell which escalation" in told.args["text"]
    assert slack.services.bot.load("E-0001").notes == []


async def test_a_message_that_cannot_be_delivered_is_reported_to_whoever_caused_it(slack):
    # The first post (Alex's case message) goes through; the second (to Sam) is refused for good.
    slack.fake.fail("chat.postMessage", Failure(), Failure(error="user_disabled"))
    await raise_(slack)
    report = None
    for _ in range(20):
        calls = [c for c in slack.fake.called("chat.postMessage") if "couldn't deliver" in all_text(c)]
        if calls:
            report = calls[0]
            break
        await slack.tick()
    assert report is not None and report.args["channel"] == "UALEX"
    assert "Sam Patel" in all_text(report)


# -- buttons, commands and home ----------------------------------------------------------------


async def picker_question(slack, user: str):
    """The first message to `user` with a people picker, delivering the outbox until it comes."""
    for _ in range(20):
        found = [
            c for c in slack.fake.called("chat.postMessage", channel=user) if "users_select" in all_text(c)
        ]
        if found:
            return found[0]
        await slack.tick()
    return None


async def test_unknown_manager_is_asked_for_with_a_people_picker(slack):
    await raise_(slack, counterpart="dir:chris", category="roles")
    await slack.send(block_action("UALEX", "esc:escalate", value="E-0001", trigger_id="t-esc"))
    (form,) = await slack.fake.wait_for("views.open", trigger_id="t-esc")
    await slack.send(view_submission("UALEX", fill(form.args["view"], reason="Still no agreement")))
    question = await picker_question(slack, "UCHRIS")
    assert question is not None and "line manager" in all_text(question)
    await slack.send(block_action("UCHRIS", "esc:name_manager", selected_user="UKIM", block_id="case:E-0001"))
    (welcome,) = await slack.fake.wait_for("chat.postMessage", channel="UKIM")
    assert "What each side has said" in all_text(welcome)
    assert slack.services.bot.store.person("chris").manager_id == "kim"


async def test_an_unknown_named_lead_is_asked_for_and_the_answer_brings_them_in(slack):
    # Camden stage 3 goes to "the relevant named safeguarding lead officer for the agencies
    # involved"; the directory knows none for Whittington Health, so Priya (handling Sam's side) is
    # asked, picks someone the bot has never met, and they join as that agency's named lead.
    from bot.commands import EscalateStage
    from bot.people import Role

    await raise_(slack)
    bot = slack.services.bot
    await slack.run(bot.handle, EscalateStage(reason="No agreement", actor="alex", escalation_id="E-0001"))
    await slack.run(bot.handle, EscalateStage(reason="No agreement", actor="alex", escalation_id="E-0001"))
    question = await picker_question(slack, "UPRIYA")
    assert question is not None
    assert "goes to the named safeguarding lead for Whittington Health" in all_text(question)
    (picker_block,) = [b for b in question.args["blocks"] if b["type"] == "actions"]
    assert picker_block["block_id"].startswith("question:")
    assert picker_block["elements"][0]["action_id"] == "esc:name_role_holder"
    await slack.send(
        block_action(
            "UPRIYA", "esc:name_role_holder", selected_user="UNEW", block_id=picker_block["block_id"]
        )
    )
    await eventually(lambda: bool(slack.fake.called("chat.postMessage", channel="UNEW")))
    (welcome,) = slack.fake.called("chat.postMessage", channel="UNEW")
    assert "as the named safeguarding lead for Whittington Health" in all_text(welcome)
    (nia,) = bot.store.role_holders(Role.NAMED_LEAD, "Whittington Health")
    assert (nia.name, nia.agency) == ("Nia Newcomer", "Whittington Health")


async def test_an_answer_from_someone_not_asked_adds_nobody_to_the_directory(slack):
    from bot.commands import EscalateStage

    await raise_(slack)
    bot = slack.services.bot
    await slack.run(bot.handle, EscalateStage(reason="No agreement", actor="alex", escalation_id="E-0001"))
    await slack.run(bot.handle, EscalateStage(reason="No agreement", actor="alex", escalation_id="E-0001"))
    (question,) = bot.store.open_questions(person_id="priya", kind="role")
    await slack.send(
        block_action(
            "UALEX", "esc:name_role_holder", selected_user="UNEW", block_id=f"question:{question.id}"
        )
    )
    # Alex's case message is there already: wait for the refusal itself, which follows the ack.
    await eventually(lambda: any("Only the person we asked" in all_text(c) for c in slack.fake.calls))
    refusals = [c for c in slack.fake.calls if "Only the person we asked" in all_text(c)]
    assert refusals and refusals[0].args.get("channel") in ("UALEX", "DUALEX")
    assert bot.store.person_by(slack_id="UNEW") is None


async def test_a_message_in_several_parts_is_never_sent_twice_when_a_part_fails(slack):
    from bot.messages import Message, MessageKind

    text = "E-0001 · case CIN-1 · Camden policy\n" + "\n".join(
        f"Line {i}: " + "word " * 500 for i in range(40)
    )
    bot = slack.services.bot
    await slack.run(
        bot.store.enqueue, [Message(to="alex", text=text, kind=MessageKind.NOTICE)], now=slack.clock.now()
    )
    slack.fake.fail("chat.postMessage", Failure(200), Failure(429, {"Retry-After": "1"}))
    await slack.tick()
    first_try = slack.fake.called("chat.postMessage")
    assert len(first_try) == 2 and first_try[0].response.get("ok") and not first_try[1].response.get("ok")
    for _ in range(5):
        slack.clock.advance(timedelta(seconds=2))
        await slack.tick()
    posted = [c for c in slack.fake.called("chat.postMessage") if c.response.get("ok")]
    texts = [c.args["blocks"][0]["text"]["text"][:40] for c in posted]
    assert len(texts) == len(set(texts)) >= 2  # every part once, the first not again
    assert bot.store.outbox_counts() == {"delivered": 1}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("help", "/escalate list"),
        ("frobnicate", "I don't know `frobnicate`"),
        # bolt's own reading of a form takes any body containing "payload" for an interaction
        ("payload", "I don't know `payload`"),
        ("show payload", "no escalation PAYLOAD that you are on"),
        ("policy redbridge", "LSCB Business Manager"),
        ("policy", "020 7974 3369"),
        ("list", "You are not on any escalations."),
        ("show E-0042", "no escalation E-0042 that you are on"),
        ("show", "Which escalation?"),
    ],
)
async def test_subcommands_answer_privately(slack, text, expected):
    answer = (await slack.ask("UALEX", text))[0]
    assert answer.get("response_type") == "ephemeral"
    assert expected in said(answer)


async def test_export_is_only_for_people_on_the_escalation(slack):
    await raise_(slack)
    (answer,) = await slack.ask("UEVE", "export E-0001")
    assert "no escalation E-0001 that you are on" in answer["text"]
    assert slack.fake.called("files.completeUploadExternal") == []


async def test_app_home_lists_overdue_and_due_soon_with_buttons(slack):
    await raise_(slack)
    slack.clock.set(london(2026, 12, 8, 12))
    await slack.send(event({"type": "app_home_opened", "user": "UALEX", "tab": "home"}, "EvHome"))
    (published,) = await slack.fake.wait_for("views.publish", user_id="UALEX")
    shown = all_text(published)
    assert "*Due soon* (1)" in shown and "E-0001" in shown and "esc:show" in shown
    slack.clock.set(london(2026, 12, 9, 12))
    await slack.send(event({"type": "app_home_opened", "user": "UALEX", "tab": "home"}, "EvHome2"))
    await slack.fake.wait_for("views.publish", count=2)
    assert "*Overdue* (1)" in all_text(slack.fake.called("views.publish")[-1])


async def test_replies_also_sent_to_the_channel_or_with_a_file_are_recorded_too(slack):
    channel, thread = await _case_threads(slack)
    broadcast = {
        **reply("UALEX", channel, thread, "Also sent to the DM.", "1700000600.000001"),
        "subtype": "thread_broadcast",
    }
    with_file = {
        **reply("UALEX", channel, thread, "Minutes attached.", "1700000600.000002"),
        "subtype": "file_share",
        "files": [{"name": "minutes.pdf"}],
    }
    await slack.send(event(broadcast, "EvB"))
    await slack.send(event(with_file, "EvF"))
    notes = [n.discussed for n in slack.services.bot.load("E-0001").notes]
    assert notes == ["Also sent to the DM.", "Minutes attached.\n[Attached in Slack: minutes.pdf]"]


FORM_TYPE = "application/x-www-form-urlencoded"


@pytest.mark.parametrize(
    "body",
    [
        "payload=%7B",
        "payload=null",
        "payload=" + "%5B" * 100_000,
        "\udcff".encode("utf-8", "surrogatepass").hex(),
    ],
)
async def test_an_unsigned_body_is_refused_before_anything_reads_it(slack, body):
    status, _ = await slack.send((body, FORM_TYPE), secret=None)
    assert status == 401


async def test_a_timestamp_that_is_not_a_number_is_401(slack):
    body = "command=%2Fescalate&user_id=UALEX&trigger_id=t"
    async with slack.session.post(
        slack.url,
        data=body,
        headers={"Content-Type": FORM_TYPE, "X-Slack-Request-Timestamp": "abc", "X-Slack-Signature": "v0=1"},
    ) as response:
        assert response.status == 401


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ("payload=%7B", FORM_TYPE),
        ("payload=null", FORM_TYPE),
        ("payload=" + "%5B" * 100_000, FORM_TYPE),
        ("[1, 2]", "application/json"),
        ('{"type": "view_submission", "user": {"id": "UALEX"}, "view": "not a view"}', "application/json"),
        (
            "payload=" + json.dumps({"type": "block_actions", "user": {"id": "UALEX"}, "actions": "x"}),
            FORM_TYPE,
        ),
        ("payload=" + json.dumps({"type": "block_actions", "user": ["UALEX"], "actions": []}), FORM_TYPE),
        (
            json.dumps({"type": "event_callback", "event": {"type": "message", "text": ["a list"]}}),
            "application/json",
        ),
        (
            json.dumps({"type": "event_callback", "event": {"type": "message", "user": "\ud800"}}),
            "application/json",
        ),
        ("command=%2Fescalate&user_id=" + "%F0" * 10, FORM_TYPE),
    ],
)
async def test_a_signed_but_malformed_payload_is_400_and_changes_nothing(slack, body, content_type):
    status, _ = await slack.send((body, content_type))
    assert status == 400
    assert escalations(slack.services.bot.store) == []


async def test_replies_echo_at_most_a_short_excerpt_of_what_was_typed(slack):
    (answer,) = await slack.ask("UALEX", "x" * 30_000)
    assert len(json.dumps(answer)) < 5000
    (answer,) = await slack.ask("UALEX", "show E-" + "9" * 30_000)
    assert len(json.dumps(answer)) < 2000


async def test_the_same_form_submitted_again_raises_one_difference(slack):
    # Slack retries, or the person taps Raise again after an answer that never reached them.
    view = await open_form(slack)
    submission = view_submission("UALEX", fill(view, **{**FORM, "issue": " "}))
    _, body = await slack.send(submission)
    assert json.loads(body)["response_action"] == "errors"  # refused: nothing recorded, not even the key
    submission = view_submission("UALEX", fill(view, **FORM))
    for _ in range(3):
        assert (await slack.send(submission))[0] == 200
    assert [r.id for r in escalations(slack.services.bot.store)] == ["E-0001"]
