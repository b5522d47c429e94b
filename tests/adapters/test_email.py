"""Email through the outbox, against a local SMTP server: what the recipient received, an outage
that delays but never loses a mail, a refused address reported, and the settings it needs."""

from __future__ import annotations

from datetime import timedelta

import pytest

from adapters.email.compose import compose
from adapters.email.sender import parse_smtp_url
from adapters.server import build_services
from bot.commands import AddNote
from bot.messages import Message
from bot.settings import Settings, SettingsError
from fakes.email_bot import EMAILS, LINK, running_email_bot
from support import london, raise_difference


@pytest.fixture
async def mailbot(tmp_path):
    async with running_email_bot(tmp_path) as handle:
        yield handle


async def test_a_person_with_no_chat_account_gets_the_message_by_email(mailbot):
    # Alex (in Slack) raises it with Sam (email only).
    await mailbot.run(raise_difference, mailbot.services.bot)
    await mailbot.tick()
    (mail,) = mailbot.mail.to(EMAILS["sam"])
    assert mail.subject == "Alex Morgan raised a professional difference with you: E-0001"
    assert mail.message["From"] == "Escalations <escalations@partnership.example.org>"
    assert mail.message["To"] == "Sam Patel <sam@nhs.example.org>"
    assert mail.message["Message-ID"].startswith("<escalation-bot.outbox-")
    body = mail.text
    # What a GP or school lead who has never seen the bot needs, in the order they need it.
    for line in (
        "E-0001 · case CIN-20931 · Camden policy",
        "The concern: Health visiting plans to close the case.",
        "Stage 1: Discussion between front line workers.",
        "Due by 5pm Tue 8 Dec 2026.",
        "Please talk to Alex Morgan before then, and use your secure page (the link below) to record",
        "The link is for you alone: please don't forward it. It works until 10am Tue 15 Dec 2026",
        "Replies to this email are not recorded",
    ):
        assert line in body
    (link,) = LINK.findall(body)
    assert link.startswith(f"{mailbot.base}/p/")
    assert f'href="{link}"' in mail.html
    assert "<script" not in mail.html
    # Alex has Slack: the case message goes there, not by email.
    assert mailbot.mail.to(EMAILS["alex"]) == []
    assert any(m["channel"] == "DUALEX" for m in mailbot.slack.messages)


async def test_someone_named_in_a_raise_is_reached_by_email_until_linked(mailbot):
    from bot.people import Newcomer

    gp = Newcomer(name="Dr Ann Lowe", agency="Brecknock Surgery", role="GP", email="ann.lowe@nhs.example")
    await mailbot.run(raise_difference, mailbot.services.bot, counterpart="", newcomer=gp)
    await mailbot.tick()
    # Slack was asked first (her address may be in a workspace), then email took over.
    assert mailbot.slack.called("users.lookupByEmail")
    (mail,) = mailbot.mail.to("ann.lowe@nhs.example")
    assert mail.subject == "Alex Morgan raised a professional difference with you: E-0001"
    assert LINK.search(mail.text)
    ann = mailbot.services.bot.store.person_by(email="ann.lowe@nhs.example")
    assert ann.confirmed is False and ann.slack_id is None


async def test_an_smtp_outage_delays_the_mail_and_then_delivers_it_once(mailbot):
    mailbot.mail.stop()
    await mailbot.run(raise_difference, mailbot.services.bot)
    await mailbot.tick()
    assert mailbot.mail.mails == []
    counts = mailbot.services.bot.store.outbox_counts()
    assert counts.get("failed", 0) == 0 and counts.get("pending", 0) >= 1
    mailbot.mail.start()
    mailbot.clock.advance(timedelta(minutes=1))
    await mailbot.tick()
    (mail,) = mailbot.mail.to(EMAILS["sam"])
    assert mail.subject == "Alex Morgan raised a professional difference with you: E-0001"
    mailbot.clock.advance(timedelta(hours=2))
    await mailbot.tick()
    assert len(mailbot.mail.to(EMAILS["sam"])) == 1  # sent once


async def test_a_temporary_refusal_is_retried_and_a_permanent_one_reported(mailbot):
    mailbot.mail.recorder.refuse[EMAILS["sam"]] = "451 4.3.0 Mailbox busy, try again later"
    await mailbot.run(raise_difference, mailbot.services.bot)
    await mailbot.tick()
    assert mailbot.mail.mails == []
    del mailbot.mail.recorder.refuse[EMAILS["sam"]]
    mailbot.clock.advance(timedelta(minutes=1))
    await mailbot.tick()
    assert len(mailbot.mail.to(EMAILS["sam"])) == 1

    mailbot.mail.recorder.refuse[EMAILS["sam"]] = "550 5.1.1 No such user"
    note = AddNote(actor="alex", escalation_id="E-0001", discussed="Left a voicemail.")
    await mailbot.run(mailbot.services.bot.handle, note)
    mailbot.clock.advance(timedelta(seconds=1))
    await mailbot.tick()
    assert len(mailbot.mail.to(EMAILS["sam"])) == 1
    # Alex, who caused the message, is told in Slack; nothing in the record is lost.
    told = [m["text"] for m in mailbot.slack.messages if m["channel"] == "DUALEX"]
    assert any(t.startswith("We couldn't deliver a message to Sam Patel") for t in told)
    assert "Left a voicemail." in mailbot.services.bot.export("alex", "E-0001")


async def test_email_only_without_any_chat_platform(tmp_path):
    async with running_email_bot(tmp_path, with_slack=False) as mailbot:
        await mailbot.run(raise_difference, mailbot.services.bot)
        await mailbot.tick()
        assert [m.subject for m in mailbot.mail.to(EMAILS["alex"])] == ["You raised E-0001 with Sam Patel"]
        assert len(mailbot.mail.to(EMAILS["sam"])) == 1


def test_a_retry_is_recognisably_the_same_mail():
    message = Message(
        to="sam", text="Reminder: E-0001 is due\nE-0001 · case CIN-20931", escalation_id="E-0001"
    )
    first, again = (
        compose(
            Message(
                **{**message.__dict__, "data": {"outbox_id": 7, "queued_at": 1764583200.5, "attempt": n}}
            ),
            to="sam@nhs.example.org",
            to_name="Sam Patel",
            mail_from="escalations@partnership.example.org",
            now=london(2026, 12, 1, 10),
        )
        for n in (1, 2)
    )
    assert (
        first["Message-ID"]
        == again["Message-ID"]
        == ("<escalation-bot.outbox-7.1764583200@partnership.example.org>")
    )


def email_env(**changes):
    env = {
        "SMTP_URL": "smtp://bot:s3cret-pass@mail.example.org:587",
        "MAIL_FROM": "escalations@partnership.example.org",
        "PUBLIC_URL": "https://bot.example.org",
        "PAGE_SECRET": "x" * 32,
    }
    env.update(changes)
    return {k: v for k, v in env.items() if v is not None}


@pytest.mark.parametrize(
    ("changes", "says"),
    [
        ({"MAIL_FROM": None}, "MAIL_FROM is needed with SMTP_URL"),
        ({"PUBLIC_URL": None}, "PUBLIC_URL is needed with SMTP_URL"),
        ({"PAGE_SECRET": None}, "PAGE_SECRET is needed with SMTP_URL"),
        ({"PAGE_SECRET": "too-short"}, "PAGE_SECRET must be at least 32 bytes"),
        ({"SMTP_URL": "mail.example.org:587"}, "SMTP_URL must be smtp://"),
        ({"SMTP_URL": "smtp://bot:s3cret-pass@mail.example.org:99999"}, "SMTP_URL is not a URL"),
        ({"MAIL_FROM": "escalations"}, "MAIL_FROM must be an email address"),
    ],
)
def test_serve_refuses_email_settings_that_cannot_work(tmp_path, changes, says):
    settings = Settings.from_env(email_env(**changes), database_url=f"sqlite:///{tmp_path / 'b.db'}")
    with pytest.raises(SettingsError) as refused:
        build_services(settings)
    assert str(refused.value).startswith(says)
    assert "s3cret-pass" not in str(refused.value)
    assert "\n" not in str(refused.value)


def test_the_smtp_password_never_shows():
    settings = Settings.from_env(email_env())
    assert "s3cret-pass" not in repr(settings)
    assert "x" * 32 not in repr(settings)
    server = parse_smtp_url(settings.smtp_url or "")
    assert (server.host, server.port, server.start_tls, server.use_tls) == (
        "mail.example.org",
        587,
        True,
        False,
    )
    assert "s3cret-pass" not in repr(server)
    assert parse_smtp_url("smtps://mail.example.org").port == 465
    assert parse_smtp_url("smtp://127.0.0.1:2525").start_tls is False  # plain only on loopback
