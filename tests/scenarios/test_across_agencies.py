"""One escalation across four organisations, over real HTTP, each person on their own system:

- Alex, the social worker who raises it, in Camden's Slack workspace (A, SLACK_BOT_TOKEN's own);
- Sam, the health visitor challenged, in Whittington Health's Microsoft 365 tenant (B), in Teams;
- Jo, Alex's manager, in a second Slack workspace (C) that installs the app through OAuth;
- Priya, Sam's manager, on neither platform: email (a local SMTP server) and the secure page.

It goes through stage 2 to resolution: Priya adds a note and says it is resolved on the page, and
Alex's side agrees (Camden's stage 5: resolution is agreed by the side that raised it, since "the
side being challenged cannot close a challenge to itself", bot/resolution.py). Each test asserts
what each person received, where, and with which workspace's or tenant's credentials.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, replace
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import aiohttp

from adapters.server import Services, build_services, serve_for_tests
from bot.clock import ManualClock
from bot.settings import Settings
from fakes.bot_connector import FakeConnector, card_text
from fakes.slack_api import Call, FakeSlack, slack_user
from fakes.slack_requests import SECRET, fill, interaction, post, slash, view_submission
from fakes.smtp_server import FakeMailServer
from fakes.teams_activities import activity, install
from support import PEOPLE, london

TENANT_B = "tenant-whittington"
WORKSPACE_A, WORKSPACE_C = "T1", "TC"
PRIYA = "priya.nair@whittington.nhs.example"
LINK = re.compile(r"http://127\.0\.0\.1:\d+/p/[A-Za-z0-9_.-]+")
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@dataclass
class Partnership:
    services: Services
    slack: FakeSlack
    teams: FakeConnector
    mail: FakeMailServer
    clock: ManualClock
    root: str
    session: aiohttp.ClientSession

    async def slack_request(self, request: tuple[str, str], team: str = WORKSPACE_A) -> tuple[int, str]:
        body, content_type = request
        if team != WORKSPACE_A:
            # The same signed request, as it comes from another workspace.
            body = body.replace("team_id=T1", f"team_id={team}").replace("%22T1%22", f"%22{team}%22")
        return await post(self.session, f"{self.root}/slack/events", body, content_type)

    async def teams_activity(self, body: dict) -> int:
        async with self.session.post(f"{self.root}/api/messages", json=body) as response:
            return response.status

    async def deliver(self) -> None:
        """A second on, what the background loop does: reminders due, then the outbox."""
        self.clock.advance(timedelta(seconds=1))
        await self.services.loop.step()

    def slack_to(self, user: str) -> list[Call]:
        return [c for c in self.slack.called("chat.postMessage") if c.args.get("channel") == user]

    def teams_to(self, user: str) -> list:
        return self.teams.cards_to(f"a:{user}")


@asynccontextmanager
async def partnership(tmp_path) -> AsyncIterator[Partnership]:
    async with AsyncExitStack() as stack:
        slack = FakeSlack(
            {
                "UALEX": slack_user("UALEX", "Alex Morgan", "alex.morgan@camden.example"),
                "UDEE": slack_user("UDEE", "Dee Okafor", "dee.okafor@camden.example"),
                "UJO": slack_user("UJO", "Jo Bennett", "jo.bennett@camden.example", team=WORKSPACE_C),
            }
        )
        slack_url = await slack.start()
        stack.push_async_callback(slack.stop)
        teams = FakeConnector()
        await teams.start()
        stack.push_async_callback(teams.stop)
        mail = FakeMailServer()
        mail.start()
        stack.callback(mail.stop)
        clock = ManualClock(london(2026, 12, 1, 10, 0))
        settings = Settings(
            database_url=f"sqlite:///{tmp_path / 'bot.db'}",
            slack_bot_token="xoxb-test",
            slack_signing_secret=SECRET,
            slack_api_url=slack_url,
            slack_client_id="app-client-id",
            slack_client_secret="app-client-secret",
            teams_allow_unauthenticated=True,
            teams_trusted_tenants=(TENANT_B,),
            smtp_url=mail.url,
            mail_from="Escalations <escalations@partnership.example.org>",
            public_url="http://127.0.0.1:1",
            page_secret="test-page-secret-0123456789-abcdefghijklmnop",
        )
        services = build_services(settings, clock=clock)
        slack.clock = lambda: clock.now().timestamp()
        where = {
            "alex": {"slack_id": "UALEX", "slack_team": WORKSPACE_A},
            "dee": {"slack_id": "UDEE", "slack_team": WORKSPACE_A},
            "jo": {"slack_id": "UJO", "slack_team": WORKSPACE_C},
            "sam": {"teams_id": "aad-sam", "teams_tenant": TENANT_B},
            "priya": {"email": PRIYA},
        }
        services.bot.store.upsert_people([replace(p, **where[p.id]) for p in PEOPLE if p.id in where])
        runner, port = await serve_for_tests(services)
        stack.push_async_callback(runner.cleanup)
        root = f"http://127.0.0.1:{port}"
        services.links.public_url = root
        session = await stack.enter_async_context(
            aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        )
        yield Partnership(services, slack, teams, mail, clock, root, session)


async def install_into_workspace_c(world: Partnership) -> None:
    """Jo's workspace's admin adds the app: Slack's OAuth flow, as a browser goes through it."""
    async with world.session.get(f"{world.root}/slack/install", allow_redirects=False) as response:
        assert response.status == 302
        state = parse_qs(urlsplit(response.headers["Location"]).query)["state"][0]
    code = world.slack.grant(WORKSPACE_C, "Camden Council (managers)")
    async with world.session.get(
        f"{world.root}/slack/oauth_redirect",
        params={"code": code, "state": state},
        headers={"Cookie": f"slack-app-oauth-state={state}"},
        allow_redirects=False,
    ) as response:
        assert response.status == 200, await response.text()


async def raise_in_slack(world: Partnership) -> None:
    """Alex opens /escalate, finds Sam (another organisation) by typing, and submits."""
    assert (await world.slack_request(slash("UALEX", trigger_id="t-raise")))[0] == 200
    (opened,) = await world.slack.wait_for("views.open", trigger_id="t-raise")
    typed = {
        "type": "block_suggestion",
        "team": {"id": WORKSPACE_A},
        "user": {"id": "UALEX"},
        "api_app_id": "A1",
        "action_id": "counterpart",
        "block_id": "counterpart",
        "value": "sam whitt",
    }
    status, body = await world.slack_request(interaction(typed))
    assert status == 200
    (option,) = json.loads(body)["options"]
    assert option["text"]["text"] == "Sam Patel, Health Visitor, Whittington Health"
    answers = {
        "risk_now": "no",
        "case_reference": "CIN-20931",
        "counterpart": option["value"],
        "category": "threshold",
        "issue": "Health visiting plans to close the case.",
        "risk": "Baby of 8 months; missed appointments.",
        "outcome_wanted": "Keep health visiting open until the review.",
    }
    status, body = await world.slack_request(view_submission("UALEX", fill(opened.args["view"], **answers)))
    assert status == 200 and "errors" not in body


async def slack_button(world: Partnership, user: str, team: str, action_id: str, value: str, trigger: str):
    payload = {
        "type": "block_actions",
        "team": {"id": team},
        "user": {"id": user, "team_id": team},
        "api_app_id": "A1",
        "trigger_id": trigger,
        "channel": {"id": f"D{user}"},
        "actions": [{"type": "button", "action_id": action_id, "block_id": "b", "value": value}],
    }
    status, _ = await world.slack_request(interaction(payload), team=team)
    assert status == 200


def text_of(call: Call) -> str:
    return json.dumps(call.args)


async def test_one_difference_between_four_organisations_on_three_systems(tmp_path):
    async with partnership(tmp_path) as world:
        await install_into_workspace_c(world)
        # Sam has added the app in Whittington's tenant; the bot hears of it from there.
        assert await world.teams_activity(install(world.teams.service_url, "sam", tenant=TENANT_B)) in {
            200,
            201,
        }
        await world.teams.wait_until(lambda: bool(world.teams_to("sam")))
        greetings = len(world.teams_to("sam"))

        # -- stage 1: Alex raises it in Slack A; Sam is told in Teams, in his own tenant -------------
        await raise_in_slack(world)
        await world.deliver()
        to_sam = world.teams_to("sam")[greetings:]
        assert to_sam and {s.tenant for s in to_sam} == {TENANT_B}
        first = card_text(to_sam[0])
        assert first.lstrip().startswith("Alex Morgan raised a professional difference with you: E-0001")
        assert "Alex Morgan (Social Worker, Camden Children's Services)" in first
        assert "missed appointments" in first and "Add note" in first
        (to_alex, *_) = world.slack_to("UALEX")
        assert to_alex.team == WORKSPACE_A and "You raised E-0001" in text_of(to_alex)
        assert not world.mail.to(PRIYA)  # Priya is not on stage 1

        # Sam answers in Teams with a note.
        note = {
            "action": "note_submit",
            "id": "E-0001",
            "form": "Phone call",
            "involved": "Sam, Alex",
            "discussed": "Sam: the family is engaging with the clinic.",
            "outcome": "Still disagree",
        }
        await world.teams_activity(
            activity(world.teams.service_url, "sam", value=note, reply_to_id="n1", tenant=TENANT_B)
        )

        # -- stage 2: Alex escalates; Jo (Slack C) and Priya (email) come in ----------------------
        await slack_button(world, "UALEX", WORKSPACE_A, "esc:escalate", "E-0001", "t-esc")
        (form,) = await world.slack.wait_for("views.open", trigger_id="t-esc")
        await world.slack_request(
            view_submission("UALEX", fill(form.args["view"], reason="Still no agreement"))
        )
        await world.deliver()
        await world.deliver()
        to_jo = world.slack_to("UJO")
        assert to_jo and {c.team for c in to_jo} == {WORKSPACE_C}  # workspace C's own token
        assert "What each side has said" in text_of(to_jo[0])
        assert "Sam: the family is engaging with the clinic." in text_of(to_jo[0])
        (invited,) = world.mail.to(PRIYA)
        assert "E-0001" in invited.subject
        assert "Sam: the family is engaging with the clinic." in invited.text  # the history, in one message
        link = LINK.findall(invited.text)[0]

        # -- Priya, on no platform, adds a note and says it is resolved, on the page --------------
        async with world.session.get(link) as response:
            assert response.status == 200
            page = await response.text()
        assert "For Priya Nair (Health Visiting Team Lead, Whittington Health)." in page
        csrf = CSRF.search(page).group(1)
        fields = {
            "csrf": csrf,
            "form": "Meeting",
            "involved": "Priya Nair, Jo Bennett",
            "discussed": "Priya: agreed health visiting stays open until the review.",
            "outcome": "Joint visit booked",
        }
        async with world.session.post(f"{link}/note", data=fields) as response:
            assert response.status == 200 and "Your note is recorded." in await response.text()
        resolve = {"csrf": csrf, "outcome": "Health visiting stays open until the review.", "agreed": ""}
        async with world.session.post(f"{link}/resolve", data=resolve) as response:
            assert response.status == 200
        await world.deliver()

        # Alex's side is asked to agree, in Slack: Jo, in workspace C, agrees.
        asked = [c for c in world.slack_to("UJO") if "Priya Nair proposes" in text_of(c)]
        assert asked and "esc:agree_resolved" in text_of(asked[0]) and asked[0].team == WORKSPACE_C
        await slack_button(world, "UJO", WORKSPACE_C, "esc:agree_resolved", "E-0001", "t-agree")
        await world.deliver()

        # -- everyone is told, each on their own system -------------------------------------------
        esc = world.services.bot.load("E-0001")
        assert esc.status == "resolved"
        closed = world.mail.to(PRIYA)[-1]
        assert closed.subject == "Resolved: E-0001, agreed by Priya Nair and Jo Bennett"
        assert "Outcome: Health visiting stays open until the review." in closed.text
        assert "download it from your secure page" in closed.text and "export E-0001" not in closed.text
        assert any("resolved" in card_text(s).lower() for s in world.teams_to("sam")[greetings:])
        assert any("resolved" in text_of(c).lower() for c in world.slack_to("UALEX"))
        # The record holds what each person said, as theirs, whatever system they used.
        record = world.services.bot.export("alex", "E-0001")
        for said in (
            "Sam: the family is engaging with the clinic.",
            "Priya: agreed health visiting stays open until the review.",
            "Health visiting stays open until the review.",
        ):
            assert said in record
        authors = {n.discussed: n.author for n in esc.notes}
        assert authors["Priya: agreed health visiting stays open until the review."] == "priya"
        assert authors["Sam: the family is engaging with the clinic."] == "sam"
