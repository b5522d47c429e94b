"""The secure page over real HTTP: a note, agree and not agreed, the export, and refusals that
change nothing (forged, altered, expired, no CSRF token, a leaver); security headers on every
response."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from fakes.email_bot import EMAILS, LINK, running_email_bot, sam_raises_alex_proposes
from support import raise_difference

CSRF = re.compile(r'name="csrf" value="([^"]+)"')
HEADERS = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


@pytest.fixture
async def mailbot(tmp_path):
    async with running_email_bot(tmp_path) as handle:
        yield handle


async def sam_raises_and_alex_proposes(mailbot) -> str:
    """Sam (email only) raises a difference with Alex (Slack); Alex proposes it is resolved.
    Returns the link in the email that asks Sam to agree."""
    await sam_raises_alex_proposes(mailbot)
    ask = mailbot.mail.to(EMAILS["sam"])[-1]
    assert ask.subject == "Resolved? Alex Morgan proposes E-0001 is resolved: please agree, or say why not"
    return LINK.findall(ask.text)[0]


async def get(mailbot, url: str) -> tuple[int, str, dict]:
    async with mailbot.session.get(url, allow_redirects=False) as response:
        return response.status, await response.text(), dict(response.headers)


async def post(mailbot, url: str, fields: dict, *, follow: bool = True) -> tuple[int, str, dict]:
    async with mailbot.session.post(url, data=fields, allow_redirects=False) as response:
        status, text, headers = response.status, await response.text(), dict(response.headers)
    if follow and status == 303:
        assert headers["Location"].startswith("/p/")
        return await get(mailbot, mailbot.base + headers["Location"])
    return status, text, headers


def events(mailbot) -> int:
    return len(mailbot.services.bot.load("E-0001").events)


def assert_secured(headers: dict) -> None:
    for name, value in HEADERS.items():
        assert headers[name] == value
    csp = headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp and "script" not in csp
    assert headers["Strict-Transport-Security"].startswith("max-age=")


async def test_the_link_opens_the_case_and_a_note_is_recorded_as_theirs(mailbot):
    link = await sam_raises_and_alex_proposes(mailbot)
    status, page, headers = await get(mailbot, link)
    assert status == 200
    assert_secured(headers)
    assert "E-0001 · case CIN-20931 · Camden policy" in page
    assert "For Sam Patel (Health Visitor, Whittington Health)." in page
    assert "<script" not in page
    csrf = CSRF.search(page).group(1)
    status, page, headers = await post(
        mailbot,
        f"{link}/note",
        {
            "csrf": csrf,
            "form": "Phone call",
            "involved": "Alex Morgan, Jo Bennett",
            "discussed": "Agreed a joint visit <b>this week</b>.",
            "outcome": "Visit booked for Thursday.",
        },
    )
    assert status == 200
    assert "Your note is recorded." in page
    assert "Agreed a joint visit &lt;b&gt;this week&lt;/b&gt;." in page  # escaped, never markup
    record = await mailbot.run(mailbot.services.bot.export, "alex", "E-0001")
    assert "- **Form of communication:** Phone call" in record
    assert "Alex Morgan, Jo Bennett" in record and "Visit booked for Thursday." in record
    note = mailbot.services.bot.load("E-0001").notes[-1]
    assert note.author == "sam"
    # Alex is told in Slack; Sam is not emailed an echo of what he just did.
    mailbot.clock.advance(timedelta(seconds=1))
    await mailbot.tick()
    assert any("Note from Sam Patel" in str(m) for m in mailbot.slack.messages)
    assert not any(m.subject.startswith("Noted") for m in mailbot.mail.to(EMAILS["sam"]))


async def test_agree_closes_it_with_both_names(mailbot):
    link = await sam_raises_and_alex_proposes(mailbot)
    _, page, _ = await get(mailbot, link)
    assert "Alex Morgan proposes that this difference is resolved." in page
    status, page, headers = await post(mailbot, f"{link}/agree", {"csrf": CSRF.search(page).group(1)})
    assert status == 200
    assert_secured(headers)
    assert "Recorded: you agreed it is resolved." in page
    esc = mailbot.services.bot.load("E-0001")
    assert esc.status == "resolved"
    assert esc.events[-1].actor == "sam"
    # Agreeing again is refused by the core, shown plainly, and changes nothing.
    before = events(mailbot)
    status, page, _ = await post(mailbot, f"{link}/agree", {"csrf": CSRF.search(page).group(1)})
    assert status == 400
    assert "already resolved" in page
    assert events(mailbot) == before


async def test_not_agreed_needs_a_reason_and_the_other_side_hears_it(mailbot):
    link = await sam_raises_and_alex_proposes(mailbot)
    _, page, _ = await get(mailbot, link)
    csrf = CSRF.search(page).group(1)
    before = events(mailbot)
    status, page, _ = await post(mailbot, f"{link}/not-agreed", {"csrf": csrf, "reason": "  "})
    assert status == 400
    assert "Please say why you do not agree" in page
    assert events(mailbot) == before
    status, page, _ = await post(
        mailbot, f"{link}/not-agreed", {"csrf": csrf, "reason": "Visits still missed."}
    )
    assert status == 200 and "The other side is told why." in page
    assert mailbot.services.bot.load("E-0001").is_open
    mailbot.clock.advance(timedelta(seconds=1))
    await mailbot.tick()
    told = [m for m in mailbot.slack.messages if m["channel"] == "DUALEX"]
    assert told[-1]["text"] == "Not agreed: Sam Patel does not agree E-0001 is resolved"


async def test_the_record_downloads_as_a_file(mailbot):
    link = await sam_raises_and_alex_proposes(mailbot)
    async with mailbot.session.get(f"{link}/export") as response:
        assert response.status == 200
        assert response.headers["Content-Disposition"] == 'attachment; filename="E-0001-case-record.md"'
        assert_secured(dict(response.headers))
        record = await response.text()
    assert record.startswith("# Case record: escalation E-0001")
    assert "by Sam Patel (Health Visitor, Whittington Health)" in record


async def test_forged_and_altered_links_are_refused_and_change_nothing(mailbot):
    link = await sam_raises_and_alex_proposes(mailbot)
    _, page, _ = await get(mailbot, link)
    csrf = CSRF.search(page).group(1)
    before = events(mailbot)
    body, mac = link.rsplit("/", 1)[1].split(".")
    altered = f"{mailbot.base}/p/{body[:-2]}{'AA' if body[-2:] != 'AA' else 'BB'}.{mac}"
    for bad in (altered, f"{mailbot.base}/p/forged.token", f"{mailbot.base}/p/{body}.{mac[:-1]}x"):
        status, page, headers = await get(mailbot, bad)
        assert status == 403
        assert "This link is not valid" in page
        assert_secured(headers)
        status, _, _ = await post(mailbot, f"{bad}/note", {"csrf": csrf, "discussed": "forged"}, follow=False)
        assert status == 403
        status, _, _ = await post(mailbot, f"{bad}/agree", {"csrf": csrf}, follow=False)
        assert status == 403
    assert events(mailbot) == before
    assert mailbot.services.bot.load("E-0001").is_open


async def test_a_form_without_its_csrf_token_is_refused(mailbot):
    link = await sam_raises_and_alex_proposes(mailbot)
    _, page, _ = await get(mailbot, link)
    csrf = CSRF.search(page).group(1)
    before = events(mailbot)
    status, page, _ = await post(mailbot, f"{link}/agree", {}, follow=False)
    assert status == 403 and "did not come from your page" in page
    status, _, _ = await post(mailbot, f"{link}/agree", {"csrf": csrf[:-1] + "A"}, follow=False)
    assert status == 403
    mailbot.session.cookie_jar.clear()  # the field without the cookie: another site's form
    status, _, _ = await post(mailbot, f"{link}/agree", {"csrf": csrf}, follow=False)
    assert status == 403
    assert events(mailbot) == before


async def test_an_expired_link_is_refused_and_can_send_a_new_one_to_the_directory_address(mailbot):
    link = await sam_raises_and_alex_proposes(mailbot)
    _, page, _ = await get(mailbot, link)
    csrf = CSRF.search(page).group(1)
    mailbot.clock.advance(timedelta(days=15))
    before = events(mailbot)
    status, page, headers = await get(mailbot, link)
    assert status == 410
    assert "This link has expired." in page
    assert_secured(headers)
    status, _, _ = await post(mailbot, f"{link}/agree", {"csrf": csrf}, follow=False)
    assert status == 410
    assert events(mailbot) == before
    await mailbot.tick()  # the reminders fifteen days bring

    def renewals():
        return [m for m in mailbot.mail.to(EMAILS["sam"]) if m.subject == "Your new link to E-0001"]

    status, page, _ = await post(mailbot, f"{link}/renew", {"csrf": CSRF.search(page).group(1)})
    assert status == 200 and "A new link is on its way" in page
    await mailbot.tick()
    (fresh,) = renewals()
    new_link = LINK.findall(fresh.text)[0]
    assert new_link != link
    assert (await get(mailbot, new_link))[0] == 200
    # Asking again with the old link sends nothing more.
    await post(mailbot, f"{link}/renew", {"csrf": csrf})
    await mailbot.tick()
    assert len(renewals()) == 1


async def test_a_leaver_and_overlong_fields_are_refused(mailbot):
    link = await sam_raises_and_alex_proposes(mailbot)
    _, page, _ = await get(mailbot, link)
    csrf = CSRF.search(page).group(1)
    before = events(mailbot)
    status, page, _ = await post(mailbot, f"{link}/note", {"csrf": csrf, "discussed": "x" * 3001})
    assert status == 400 and "What was discussed: please keep this under 3000 characters." in page
    status, _, _ = await post(mailbot, f"{link}/note", {"csrf": csrf, "discussed": "x" * 20000})
    assert status == 413
    assert events(mailbot) == before
    await mailbot.run(mailbot.services.bot.deactivate, "sam")
    status, page, _ = await get(mailbot, link)
    assert status == 403 and "no longer" in page


async def alex_raises_with_sam(mailbot) -> str:
    """Alex (Slack) raises a difference with Sam (email only); returns the link in Sam's email."""
    await mailbot.run(raise_difference, mailbot.services.bot)
    mailbot.clock.advance(timedelta(seconds=1))
    await mailbot.tick()
    return LINK.findall(mailbot.mail.to(EMAILS["sam"])[-1].text)[0]


async def test_the_challenged_side_says_it_is_resolved_and_the_raiser_is_asked_to_agree(mailbot):
    link = await alex_raises_with_sam(mailbot)
    _, page, _ = await get(mailbot, link)
    assert "Alex Morgan&#x27;s side raised this difference, so they are asked to agree" in page
    fields = {
        "csrf": CSRF.search(page).group(1),
        "outcome": "Health visiting stays open until the review.",
        "agreed": "Joint visit on Thursday\n\n  Review on 14 December  ",
    }
    status, page, _ = await post(mailbot, f"{link}/resolve", fields)
    assert status == 200 and "Recorded. Everyone on the difference is told." in page
    esc = mailbot.services.bot.load("E-0001")
    assert esc.is_open and esc.proposal.by == "sam"
    assert esc.proposal.agreed_actions == ("Joint visit on Thursday", "Review on 14 December")
    assert "Is it resolved?" not in page  # one proposal at a time: the raiser answers it
    mailbot.clock.advance(timedelta(seconds=1))
    await mailbot.tick()
    asked = [m for m in mailbot.slack.messages if "Sam Patel proposes" in str(m)]
    assert asked and "esc:agree_resolved" in str(asked[0])


async def test_the_resolve_form_needs_what_was_agreed(mailbot):
    link = await alex_raises_with_sam(mailbot)
    _, page, _ = await get(mailbot, link)
    before = events(mailbot)
    status, page, _ = await post(
        mailbot, f"{link}/resolve", {"csrf": CSRF.search(page).group(1), "outcome": " "}
    )
    assert status == 400 and "Please say what was agreed." in page
    assert events(mailbot) == before
