"""Many Slack workspaces: the bot is installed into a second agency's workspace through Slack's
OAuth flow, over real HTTP against the local fake, and from then on everyone there is reached with
that workspace's token, and their requests are answered with it."""

from __future__ import annotations

import io
import json
import logging
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from adapters.logs import configure_logging
from adapters.server import build_services
from bot.settings import Settings, SettingsError
from fakes.slack_api import slack_user
from fakes.slack_bot import running_slack_bot
from fakes.slack_requests import event, reply, slash
from support import raise_difference

OAUTH = {"slack_client_id": "app-client-id", "slack_client_secret": "app-client-secret"}
COOKIE = "slack-app-oauth-state"


@asynccontextmanager
async def workspaces_bot(tmp_path, **settings):
    """The bot installable into workspaces; Sam (USAM) works in Whittington Health's workspace, T2."""
    async with running_slack_bot(tmp_path, **OAUTH, **settings) as slack:
        slack.fake.users["USAM"] = slack_user("USAM", "Sam Patel", "sam.patel@example.org", team="T2")
        yield slack


async def start_install(slack) -> tuple[str, str]:
    """GET /slack/install: the authorize address Slack is sent to, and the state cookie's value."""
    async with slack.session.get(f"{slack.root}/slack/install", allow_redirects=False) as response:
        assert response.status == 302
        location = response.headers["Location"]
        cookie = response.cookies[COOKIE]
    state = parse_qs(urlsplit(location).query)["state"][0]
    assert cookie.value == state and cookie["httponly"] and cookie["secure"]
    return location, state


async def finish_install(slack, *, code: str, state: str, cookie: str | None = None) -> tuple[int, str]:
    """The installer's browser comes back from Slack to /slack/oauth_redirect."""
    headers = {"Cookie": f"{COOKIE}={cookie or state}"} if cookie != "" else {}
    async with slack.session.get(
        f"{slack.root}/slack/oauth_redirect",
        params={"code": code, "state": state},
        headers=headers,
        allow_redirects=False,
    ) as response:
        return response.status, await response.text()


async def install(slack, team: str, name: str) -> str:
    _, state = await start_install(slack)
    status, page = await finish_install(slack, code=slack.fake.grant(team, name), state=state)
    assert status == 200, page
    return page


def in_team(request: tuple[str, str], team: str) -> tuple[str, str]:
    """A signed request as it comes from another workspace."""
    body, content_type = request
    if content_type == "application/json":
        return json.dumps({**json.loads(body), "team_id": team}), content_type
    return body.replace("team_id=T1", f"team_id={team}"), content_type


def tokens_used(calls) -> set[str | None]:
    return {c.team for c in calls}


async def test_an_install_into_a_second_workspace_reaches_its_people_with_its_token(tmp_path):
    # SLACK_BOT_TOKEN serves its own workspace (Camden's, T1); Whittington's (T2) installs the app.
    async with workspaces_bot(tmp_path) as slack:
        store = slack.services.bot.store
        location, _ = await start_install(slack)
        query = parse_qs(urlsplit(location).query)
        assert location.startswith(slack.fake.base_url.replace("/api/", "/oauth/v2/authorize?"))
        assert query["client_id"] == ["app-client-id"]
        assert "chat:write" in query["scope"][0].split(",")

        page = await install(slack, "T2", "Whittington Health")
        assert "installed in Whittington Health" in page and "/escalate" in page
        (installed,) = store.slack_installations()
        assert (installed.team_id, installed.team_name) == ("T2", "Whittington Health")

        # Alex (Camden, T1) raises a difference with Sam, whose directory entry predates the
        # second workspace: the bot finds Sam there, remembers it, and posts with T2's token.
        await slack.run(raise_difference, slack.services.bot)
        await slack.tick()
        to_sam = [c for c in slack.fake.posts_to("USAM") if c.response.get("ok")]
        assert len(to_sam) == 1 and "Alex Morgan" in to_sam[0].args["text"]
        assert tokens_used(to_sam) == {"T2"}
        assert tokens_used(slack.fake.posts_to("UALEX")) == {"T1"}
        assert store.person("sam").slack_team == "T2"
        asked = [(c.team, c.response.get("ok")) for c in slack.fake.called("users.info", user="USAM")]
        assert asked[:2] == [("T1", False), ("T2", True)]  # the token's own workspace first

        # Sam replies in the case thread, in T2: recorded, ticked with T2's token, Alex told in T1.
        thread = to_sam[0].response
        posted = len(slack.fake.posts_to("UALEX"))
        sam_says = reply("USAM", thread["channel"], thread["ts"], "Spoke to the GP.", "1700000900.1")
        status, _ = await slack.send(in_team(event(sam_says, "EvT2"), "T2"))
        assert status == 200
        (tick,) = await slack.fake.wait_for("reactions.add")
        assert tick.team == "T2"
        assert [n.discussed for n in slack.services.bot.load("E-0001").notes] == ["Spoke to the GP."]
        await slack.tick()
        assert len(slack.fake.posts_to("UALEX")) > posted
        assert tokens_used(slack.fake.posts_to("UALEX")) == {"T1"}

        # Sam's own request from T2 is answered with T2's token.
        status, _ = await slack.send(in_team(slash("USAM"), "T2"))
        assert status == 200
        (opened,) = await slack.fake.wait_for("views.open")
        assert opened.team == "T2"

        # After a restart the installation is still there: Alex's next note reaches Sam in T2.
        await slack.restart()
        store = slack.services.bot.store
        assert [i.team_id for i in store.slack_installations()] == ["T2"]
        from bot.commands import AddNote

        await slack.run(
            slack.services.bot.handle, AddNote(actor="alex", escalation_id="E-0001", discussed="Called back.")
        )
        await slack.tick()
        latest = [c for c in slack.fake.posts_to("USAM") if c.response.get("ok")][-1]
        assert "Called back." in json.dumps(latest.args) and latest.team == "T2"


async def test_a_forged_expired_or_used_state_installs_nothing(tmp_path):
    async with workspaces_bot(tmp_path) as slack:
        store = slack.services.bot.store

        # A state the bot never issued, with a cookie to match.
        status, page = await finish_install(slack, code=slack.fake.grant("T2", "W"), state="forged")
        assert status == 401 and "was not installed" in page and "/slack/install" in page

        # A real state, but not from the browser that started (no cookie, or another's).
        _, state = await start_install(slack)
        status, page = await finish_install(slack, code=slack.fake.grant("T2", "W"), state=state, cookie="")
        assert status == 400 and "browser that started it" in page
        status, _ = await finish_install(slack, code=slack.fake.grant("T2", "W"), state=state, cookie="x")
        assert status == 400

        # A state older than ten minutes.
        _, state = await start_install(slack)
        slack.clock.advance(timedelta(minutes=11))
        status, page = await finish_install(slack, code=slack.fake.grant("T2", "W"), state=state)
        assert status == 401 and "expired" in page

        # Cancelled at Slack.
        async with slack.session.get(f"{slack.root}/slack/oauth_redirect?error=access_denied") as response:
            assert response.status == 200 and "cancelled" in await response.text()

        assert store.slack_installations() == [] and slack.fake.called("oauth.v2.access") == []

        # A state works once: the same return a second time is refused.
        _, state = await start_install(slack)
        code = slack.fake.grant("T2", "W")
        assert (await finish_install(slack, code=code, state=state))[0] == 200
        assert (await finish_install(slack, code=code, state=state))[0] == 401
        assert len(slack.fake.called("oauth.v2.access")) == 1
        assert [i.team_id for i in store.slack_installations()] == ["T2"]


async def test_without_a_bot_token_each_workspace_is_served_once_installed(tmp_path):
    async with workspaces_bot(tmp_path, slack_bot_token=None) as slack:
        # Camden's workspace has not installed the app: its people are told so, and nothing runs.
        status, _ = await slack.send(slash("UALEX", response_url=slack.fake.response_url))
        assert status == 200
        await slack.fake.wait_for("response_url")
        assert "not installed in this Slack workspace" in slack.fake.responses()[0]["text"]
        assert slack.fake.called("views.open") == []

        await install(slack, "T1", "Camden Council")
        await slack.send(slash("UALEX"))
        (opened,) = await slack.fake.wait_for("views.open")
        assert opened.team == "T1"

        # Sam's workspace (T2) has not installed the app: Slack cannot reach Sam, and Alex is told.
        store = slack.services.bot.store
        await slack.run(
            store.upsert_people, [replace(store.person("sam"), slack_team="T2")], with_roles=False
        )
        await slack.run(raise_difference, slack.services.bot)
        await slack.tick()
        assert slack.fake.posts_to("USAM") == []
        told = [c.args["text"] for c in slack.fake.posts_to("UALEX")]
        assert any("We couldn't deliver a message to Sam Patel" in t for t in told)
        assert store.outbox_counts().get("failed") == 1


async def test_someone_known_only_by_email_is_found_in_the_workspace_that_knows_them(tmp_path):
    async with workspaces_bot(tmp_path, slack_bot_token=None) as slack:
        store = slack.services.bot.store
        await install(slack, "T1", "Camden Council")
        await install(slack, "T2", "Whittington Health")
        await slack.run(
            store.upsert_people,
            [replace(store.person("sam"), slack_id=None, email="sam.patel@example.org")],
            with_roles=False,
        )
        await slack.run(raise_difference, slack.services.bot)
        await slack.tick()
        (to_sam,) = slack.fake.posts_to("USAM")
        assert to_sam.team == "T2" and to_sam.response.get("ok")
        sam = store.person("sam")
        assert (sam.slack_id, sam.slack_team) == ("USAM", "T2")
        # Looked for in Camden's workspace first, which does not know the address.
        lookups = slack.fake.called("users.lookupByEmail")
        assert [(c.team, c.response.get("ok")) for c in lookups] == [("T1", False), ("T2", True)]

        # A Slack id no installed workspace knows: Slack cannot reach them, and Alex is told.
        await slack.run(
            store.upsert_people, [replace(store.person("chris"), slack_id="UGONE")], with_roles=False
        )
        await slack.run(raise_difference, slack.services.bot, counterpart="chris", case_reference="CIN-3")
        await slack.tick()
        assert [c.team for c in slack.fake.called("users.info", user="UGONE")] == ["T1", "T2"]
        assert store.person("chris").slack_team is None
        told = [json.dumps(c.args) for c in slack.fake.posts_to("UALEX")]
        assert any("We couldn't deliver a message to Chris Doyle" in t for t in told)


async def test_tokens_and_the_client_secret_never_reach_the_log(tmp_path):
    stream = io.StringIO()
    handler = configure_logging(stream)
    try:
        async with workspaces_bot(tmp_path) as slack:
            _, state = await start_install(slack)
            await finish_install(slack, code="not-a-code", state=state)  # Slack refuses it
            await install(slack, "T2", "Whittington Health")
            await slack.run(raise_difference, slack.services.bot)
            await slack.tick()
            (installation,) = slack.services.bot.store.slack_installations()
            token = installation.bot_token
            assert token not in repr(installation)
    finally:
        logging.getLogger().removeHandler(handler)
    logged = stream.getvalue()
    assert "installed in workspace T2" in logged
    for secret in (token, "xoxb-test", "app-client-secret", state):
        assert secret not in logged


@pytest.mark.parametrize(
    ("given", "refusal"),
    [
        ({"slack_client_id": "id"}, "SLACK_CLIENT_ID and SLACK_CLIENT_SECRET go together"),
        ({"slack_client_secret": "secret"}, "SLACK_CLIENT_ID and SLACK_CLIENT_SECRET go together"),
        ({**OAUTH, "slack_app_token": "xapp-1"}, "SLACK_SIGNING_SECRET is needed with SLACK_CLIENT_ID"),
    ],
)
def test_oauth_settings_that_cannot_work_are_refused_at_start(tmp_path, given, refusal):
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'bot.db'}", **given)
    with pytest.raises(SettingsError, match=refusal) as refused:
        build_services(settings)
    assert "\n" not in str(refused.value) and "secret" not in str(refused.value).replace("SECRET", "")
    assert "secret" not in repr(settings)


def test_the_oauth_credentials_come_from_the_environment():
    settings = Settings.from_env({"SLACK_CLIENT_ID": "1.2", "SLACK_CLIENT_SECRET": "s3"})
    assert settings.slack_oauth and settings.slack_enabled and settings.slack_client_id == "1.2"
    assert "s3" not in repr(settings)
