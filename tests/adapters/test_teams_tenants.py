"""Many Teams tenants: each person is reached in their own tenant, and where a tenant's admin has
granted it the bot installs its app for someone through Microsoft Graph before messaging them.
Over real HTTP: one fake Bot Connector per tenant, and a fake Microsoft sign-in and Graph."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import timedelta

import aiohttp
import pytest

from adapters.server import Services, build_services, serve_for_tests
from adapters.teams.setup import build_installer
from bot.clock import ManualClock
from bot.messages import Message
from bot.outbox import DeliveryFailed
from bot.settings import Settings, SettingsError
from fakes.bot_connector import FakeConnector, card_text
from fakes.graph_api import APP_ID, APP_PASSWORD, FakeGraph, GraphFailure
from fakes.teams_activities import RAISE, TENANT, activity, install
from support import PEOPLE, london

TENANT_B = "tenant-b"  # granted: the bot may install its app there
TENANT_C = "tenant-c"  # trusted, not granted
# Where each person's Teams account lives.
TENANTS = {"alex": TENANT, "jo": TENANT, "sam": TENANT_B, "priya": TENANT_B, "chris": TENANT_B,
           "kim": TENANT_B, "eve": TENANT_C, "dee": TENANT_C}  # fmt: skip


@dataclass
class Tenants:
    services: Services
    a: FakeConnector  # tenant-1's service URL
    b: FakeConnector  # tenant-b's
    c: FakeConnector  # tenant-c's
    graph: FakeGraph
    clock: ManualClock
    url: str
    session: aiohttp.ClientSession

    async def post(self, body: dict) -> int:
        """POST an activity, and wait until its turn (run from the inbox after the answer) is over."""
        async with self.session.post(self.url, json=body) as response:
            status = response.status
        for inbox in self.services.loop.inboxes:
            await inbox.drain()
        return status

    async def run(self, fn, /, *args, **kwargs):
        """`fn` in the server's storage thread: how the test changes the database while it runs."""
        return await self.services.storage_thread.run(fn, *args, **kwargs)

    async def install(self, connector: FakeConnector, user: str) -> None:
        """The person adds the app in Teams: the bot hears of it from their tenant."""
        assert await self.post(install(connector.service_url, user, tenant=TENANTS[user])) in {200, 201}
        await connector.wait_until(lambda: bool(connector.cards_to(f"a:{user}")))

    async def raise_about(self, counterpart: str, case: str = "CIN-20931") -> None:
        value = {**RAISE, "counterpart": f"aad-{counterpart}", "case_reference": case}
        await self.post(activity(self.a.service_url, "alex", value=value, reply_to_id=f"form-{case}"))

    async def retry(self) -> None:
        self.clock.advance(timedelta(minutes=5))
        await self.services.loop.step()

    def outbox_to(self, person: str) -> list[tuple[str, str | None]]:
        rows = self.services.bot.store.db.execute("SELECT status, last_error, message FROM outbox").fetchall()
        return [(status, error) for status, error, message in rows if json.loads(message)["to"] == person]


@asynccontextmanager
async def running_tenants(tmp_path, **graph_settings) -> AsyncIterator[Tenants]:
    connectors = [FakeConnector(), FakeConnector(), FakeConnector()]
    for connector in connectors:
        await connector.start()
    users = {f"aad-{p}": t for p, t in TENANTS.items()}
    graph = FakeGraph(users, catalog={TENANT_B: "catalog-app-b"})
    await graph.start()
    clock = ManualClock(london(2026, 12, 1, 10, 0))
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'bot.db'}",
        teams_allow_unauthenticated=True,
        teams_trusted_tenants=(TENANT, TENANT_B, TENANT_C),
        # Teams' public endpoint stands in for a tenant the bot has not heard from.
        teams_service_url=connectors[1].service_url,
    )
    services = build_services(settings, clock=clock)
    services.bot.store.upsert_people(
        [replace(p, teams_id=f"aad-{p.id}", teams_tenant=TENANTS.get(p.id)) for p in PEOPLE]
    )
    # The Graph side is wired from its own settings, as `serve` wires it: the bot's app id and
    # password there would also make botbuilder fetch connector tokens from the internet.
    granted = Settings(
        teams_app_id=APP_ID,
        teams_app_password=APP_PASSWORD,
        teams_trusted_tenants=(TENANT, TENANT_B, TENANT_C),
        teams_graph_install_tenants=(TENANT_B,),
        teams_catalog_app_id=f"{TENANT_B}=catalog-app-b",
        teams_login_url=graph.url,
        teams_graph_url=graph.url,
        **graph_settings,
    )
    granted.check_teams_graph()
    installer = build_installer(granted, clock.now)
    services.teams_sender.installer = installer
    runner, port = await serve_for_tests(services)
    async with aiohttp.ClientSession() as session:
        yield Tenants(services, *connectors, graph, clock, f"http://127.0.0.1:{port}/api/messages", session)
    await runner.cleanup()
    if installer is not None:
        await installer.close_async()
    await graph.stop()
    for connector in connectors:
        await connector.stop()


@pytest.fixture
async def tenants(tmp_path):
    async with running_tenants(tmp_path) as handle:
        yield handle


def received(connector: FakeConnector, conversation: str, text: str) -> bool:
    return any(text in card_text(s) for s in connector.cards_to(conversation))


# -- per-tenant references ---------------------------------------------------------------------


async def test_people_in_two_tenants_each_get_messages_in_their_own_tenants_conversation(tenants):
    await tenants.install(tenants.a, "alex")
    await tenants.install(tenants.b, "sam")
    await tenants.raise_about("sam")
    await tenants.b.wait_until(lambda: received(tenants.b, "a:sam", "Alex Morgan"))
    await tenants.a.wait_until(lambda: received(tenants.a, "a:alex", "You raised"))

    # Sam's message went through tenant B's service URL, addressed to tenant B; Alex's through A's.
    assert tenants.b.tenants_of("a:sam", "Alex Morgan") == {TENANT_B}
    assert tenants.a.tenants_of("a:alex", "You raised") == {TENANT}
    assert not [s for s in tenants.a.sent if s.conversation == "a:sam"]
    assert not [s for s in tenants.b.sent if s.conversation == "a:alex"]
    # Both could be reached: Graph was never needed.
    assert tenants.graph.calls == []


async def test_a_new_chat_is_opened_only_through_the_persons_own_tenant(tenants):
    await tenants.install(tenants.a, "alex")
    await tenants.install(tenants.c, "dee")  # tenant C is known through Dee
    await tenants.raise_about("eve")  # Eve is in tenant C and has never talked to the bot
    await tenants.c.wait_until(lambda: received(tenants.c, "a:new-aad-eve", "Alex Morgan"))
    (created,) = [s for s in tenants.c.sent if s.verb == "create"]
    assert created.tenant == TENANT_C and created.body["members"][0]["id"] == "aad-eve"
    assert not [s for s in tenants.a.sent + tenants.b.sent if s.verb == "create"]
    assert tenants.c.tenants_of("a:new-aad-eve", "Alex Morgan") == {TENANT_C}


async def test_references_stored_before_tenants_were_kept_teach_the_bot_their_tenants(tenants):
    from adapters.teams.sender import backfill_tenants

    store = tenants.services.bot.store
    old = {"channelId": "msteams", "serviceUrl": tenants.c.service_url, "conversation": {"id": "a:dee"},
           "bot": {"id": "28:escalation-bot"}, "user": {"id": "29:dee"}}  # fmt: skip
    await tenants.run(store.set_address, "dee", "teams", json.dumps(old))  # as stored before: no tenant in it
    await tenants.run(backfill_tenants, tenants.services.bot)  # as a start after the upgrade does
    await tenants.services.teams_sender.send(Message(to="eve", text="Hello from the partnership"))
    assert received(tenants.c, "a:new-aad-eve", "Hello from the partnership")


# -- installing the app through Graph ----------------------------------------------------------


async def test_someone_in_a_granted_tenant_without_a_conversation_gets_the_app_then_the_message(tenants):
    await tenants.install(tenants.a, "alex")
    await tenants.install(tenants.b, "priya")  # tenant B's service URL is known through Priya
    await tenants.raise_about("sam")
    chat = tenants.graph.chat_id("aad-sam")
    await tenants.b.wait_until(lambda: received(tenants.b, chat, "Alex Morgan"))

    (installed,) = tenants.graph.installs()
    assert installed.path == "/v1.0/users/aad-sam/teamwork/installedApps"
    assert installed.tenant == TENANT_B
    catalog_app = f"{tenants.graph.url}/v1.0/appCatalogs/teamsApps/catalog-app-b"
    assert installed.body == {"teamsApp@odata.bind": catalog_app}
    token_request = tenants.graph.calls[0]
    assert token_request.path == f"/{TENANT_B}/oauth2/v2.0/token"
    assert token_request.body == {
        "grant_type": "client_credentials",
        "client_id": APP_ID,
        "scope": "https://graph.microsoft.com/.default",
    }
    assert tenants.b.tenants_of(chat, "Alex Morgan") == {TENANT_B}
    assert not [s for s in tenants.b.sent if s.verb == "create"]
    # The chat is remembered: the next message goes straight there, with no Graph call.
    calls = len(tenants.graph.calls)
    await tenants.run(
        tenants.services.bot.store.enqueue,
        [Message(to="sam", text="A note was added.")],
        now=tenants.clock.now(),
    )
    await tenants.services.loop.step()
    assert received(tenants.b, chat, "A note was added.")
    assert len(tenants.graph.calls) == calls


async def test_a_tenant_the_bot_has_not_heard_from_is_reached_through_teams_public_endpoint(tenants):
    await tenants.install(tenants.a, "alex")
    await tenants.raise_about("sam")  # nobody in tenant B has talked to the bot
    chat = tenants.graph.chat_id("aad-sam")
    await tenants.b.wait_until(lambda: received(tenants.b, chat, "Alex Morgan"))
    sent = tenants.b.cards_to(chat)[0]
    assert sent.body["from"]["id"].startswith("28:")  # as Teams names every bot
    assert tenants.b.tenants_of(chat, "Alex Morgan") == {TENANT_B}


async def test_the_install_teams_reports_is_stored_and_used(tenants):
    await tenants.install(tenants.a, "alex")

    async def teams_tells_the_bot(tenant: str, user: str) -> None:
        # As Teams does: the new chat's installationUpdate reaches the bot from the person's tenant.
        body = activity(tenants.b.service_url, user.removeprefix("aad-"), kind="installationUpdate",
                        conversation=tenants.graph.chat_id(user), tenant=tenant)  # fmt: skip
        body["action"] = "add"
        assert await tenants.post(body) in {200, 201}

    tenants.graph.on_install = teams_tells_the_bot
    await tenants.raise_about("sam")
    chat = tenants.graph.chat_id("aad-sam")
    await tenants.b.wait_until(lambda: received(tenants.b, chat, "Alex Morgan"))
    assert received(tenants.b, chat, "Type 'escalate'")  # the greeting, then the message
    stored = json.loads(tenants.services.bot.store.address("sam", "teams"))
    assert stored["conversation"]["id"] == chat and stored["serviceUrl"] == tenants.b.service_url


async def test_an_app_already_installed_is_fine(tenants):
    await tenants.install(tenants.a, "alex")
    tenants.graph.installed["aad-sam"] = "inst-earlier"  # installed by hand, before the bot knew
    await tenants.raise_about("sam")
    chat = tenants.graph.chat_id("aad-sam")
    await tenants.b.wait_until(lambda: received(tenants.b, chat, "Alex Morgan"))
    assert [c.path for c in tenants.graph.calls if c.method == "GET"][-1] == (
        "/v1.0/users/aad-sam/teamwork/installedApps/inst-earlier/chat"
    )


async def test_a_token_is_reused_while_it_is_valid(tenants):
    await tenants.install(tenants.a, "alex")
    await tenants.raise_about("sam", "CIN-1")
    await tenants.raise_about("chris", "CIN-2")
    graph = tenants.graph
    await tenants.b.wait_until(lambda: received(tenants.b, graph.chat_id("aad-chris"), "Alex Morgan"))
    assert received(tenants.b, graph.chat_id("aad-sam"), "Alex Morgan")
    assert graph.tokens_issued == [TENANT_B]  # two installs, one token

    tenants.clock.advance(timedelta(hours=1))  # within five minutes of its expiry: renewed
    await tenants.raise_about("kim", "CIN-3")
    await tenants.b.wait_until(lambda: received(tenants.b, graph.chat_id("aad-kim"), "Alex Morgan"))
    assert graph.tokens_issued == [TENANT_B, TENANT_B]


# -- when Teams cannot reach someone: unreachable, so email can ---------------------------------


async def test_someone_in_a_tenant_that_granted_nothing_is_unreachable_not_lost(tenants):
    await tenants.install(tenants.a, "alex")
    await tenants.raise_about("eve")  # tenant C: not granted, and nobody there has the app
    await tenants.a.wait_until(lambda: received(tenants.a, "a:alex", "You raised"))
    await tenants.services.loop.step()
    ((status, error),) = tenants.outbox_to("eve")
    assert status == "failed" and "may not install" in (error or "")
    assert tenants.graph.calls == []
    assert not [s for s in tenants.b.sent + tenants.c.sent if "eve" in s.conversation]
    with pytest.raises(DeliveryFailed) as failed:
        await tenants.services.teams_sender.send(Message(to="eve", text="Hello"))
    assert failed.value.unreachable


async def test_someone_without_the_app_in_a_known_ungranted_tenant_is_unreachable(tenants):
    await tenants.install(tenants.a, "alex")
    await tenants.install(tenants.c, "dee")
    tenants.c.without_app.add("aad-eve")
    with pytest.raises(DeliveryFailed) as failed:
        await tenants.services.teams_sender.send(Message(to="eve", text="Hello"))
    assert failed.value.unreachable
    assert tenants.graph.calls == []


@pytest.mark.parametrize(
    "refusal",
    [GraphFailure(403, code="Forbidden"), GraphFailure(404, code="NotFound")],
    ids=["403 permission not granted", "404 app not in the tenant's catalog"],
)
async def test_graph_refusing_the_install_makes_the_person_unreachable(tenants, refusal):
    await tenants.install(tenants.a, "alex")
    tenants.graph.fail(refusal)
    await tenants.raise_about("sam")
    await tenants.a.wait_until(lambda: received(tenants.a, "a:alex", "You raised"))
    await tenants.services.loop.step()
    ((status, error),) = tenants.outbox_to("sam")
    assert status == "failed" and f"({refusal.status})" in (error or "")
    assert not [s for s in tenants.b.sent if s.verb in {"send", "create"}]
    with pytest.raises(DeliveryFailed) as failed:
        tenants.graph.fail(refusal)
        await tenants.services.teams_sender.send(Message(to="sam", text="Hello"))
    assert failed.value.unreachable


async def test_a_tenant_that_gives_no_token_makes_the_person_unreachable(tenants):
    tenants.graph.token_failures.append(GraphFailure(400, code="unauthorized_client"))
    with pytest.raises(DeliveryFailed) as failed:
        await tenants.services.teams_sender.send(Message(to="sam", text="Hello"))
    assert failed.value.unreachable
    assert tenants.graph.installs() == []


@pytest.mark.parametrize(
    "outage", [GraphFailure(429, {"Retry-After": "7"}), GraphFailure(503)], ids=["429", "503"]
)
async def test_graph_outages_delay_the_message_but_never_lose_it(tenants, outage):
    await tenants.install(tenants.a, "alex")
    tenants.graph.fail(outage)
    await tenants.raise_about("sam")
    await tenants.a.wait_until(lambda: received(tenants.a, "a:alex", "You raised"))
    await tenants.services.loop.step()
    assert tenants.outbox_to("sam")[0][0] == "pending"
    await tenants.retry()
    chat = tenants.graph.chat_id("aad-sam")
    await tenants.b.wait_until(lambda: received(tenants.b, chat, "Alex Morgan"))
    assert tenants.outbox_to("sam") == [("delivered", f"Microsoft Graph failed for now ({outage.status})")]


async def test_neither_the_token_nor_the_password_reaches_the_log(tenants, caplog):
    caplog.set_level(logging.DEBUG)
    await tenants.install(tenants.a, "alex")
    tenants.graph.fail(GraphFailure(403))
    await tenants.raise_about("chris", "CIN-1")
    await tenants.raise_about("sam", "CIN-2")
    await tenants.b.wait_until(lambda: received(tenants.b, tenants.graph.chat_id("aad-sam"), "Alex Morgan"))
    assert "Graph refused to install the app in tenant tenant-b (403 Forbidden)" in caplog.text
    assert APP_PASSWORD not in caplog.text and "graph-token-" not in caplog.text


# -- settings ----------------------------------------------------------------------------------


def test_the_graph_install_settings_come_from_the_environment():
    settings = Settings.from_env(
        {
            "MicrosoftAppId": APP_ID,
            "MicrosoftAppPassword": APP_PASSWORD,
            "TEAMS_TRUSTED_TENANTS": "Tenant-A,tenant-b",
            "TEAMS_GRAPH_INSTALL_TENANTS": "Tenant-A, tenant-b",
            "TEAMS_CATALOG_APP_ID": "app-everywhere, tenant-b=app-in-b",
            "TEAMS_GRAPH_URL": "http://127.0.0.1:9/",
        }
    )
    settings.check_teams_graph()
    assert settings.graph_install_tenants == {"tenant-a", "tenant-b"}
    assert settings.catalog_app_ids() == {"tenant-a": "app-everywhere", "tenant-b": "app-in-b"}
    assert APP_PASSWORD not in repr(settings)


@pytest.mark.parametrize(
    ("env", "message"),
    [  # each refusal names the variable to fix
        ({"TEAMS_GRAPH_URL": "graph.microsoft.com"}, "TEAMS_GRAPH_URL must be an http(s) URL"),
        ({"TEAMS_LOGIN_URL": "ftp://x"}, "TEAMS_LOGIN_URL must be an http(s) URL"),
        ({"TEAMS_SERVICE_URL": "smba"}, "TEAMS_SERVICE_URL must be an http(s) URL"),
        (
            {"MicrosoftAppPassword": ""},
            "TEAMS_GRAPH_INSTALL_TENANTS needs MicrosoftAppId and MicrosoftAppPassword",
        ),
        (
            {"TEAMS_TRUSTED_TENANTS": "tenant-a"},
            "TEAMS_GRAPH_INSTALL_TENANTS names a tenant that is not in TEAMS_TRUSTED_TENANTS",
        ),
        (
            {"MicrosoftAppType": "SingleTenant", "MicrosoftAppTenantId": "tenant-a"},
            "use MicrosoftAppType=MultiTenant",
        ),
        ({"TEAMS_CATALOG_APP_ID": ""}, "TEAMS_GRAPH_INSTALL_TENANTS needs TEAMS_CATALOG_APP_ID"),
        ({"TEAMS_CATALOG_APP_ID": "tenant-a=app"}, "TEAMS_GRAPH_INSTALL_TENANTS needs TEAMS_CATALOG_APP_ID"),
        (
            {"TEAMS_CATALOG_APP_ID": "tenant-z=app"},
            "TEAMS_CATALOG_APP_ID must be one app id, or tenant=id pairs",
        ),
        (
            {"TEAMS_GRAPH_INSTALL_TENANTS": ""},
            "TEAMS_CATALOG_APP_ID is set but TEAMS_GRAPH_INSTALL_TENANTS is empty",
        ),
    ],
)
def test_graph_install_settings_that_cannot_work_are_refused_in_one_line(env, message):
    base = {
        "MicrosoftAppId": APP_ID,
        "MicrosoftAppPassword": APP_PASSWORD,
        "TEAMS_TRUSTED_TENANTS": "tenant-a,tenant-b",
        "TEAMS_GRAPH_INSTALL_TENANTS": "tenant-a,tenant-b",
        "TEAMS_CATALOG_APP_ID": "app",
    }
    with pytest.raises(SettingsError) as refused:
        Settings.from_env({**base, **env}).check_teams_graph()
    assert message in str(refused.value) and "\n" not in str(refused.value)
    assert APP_PASSWORD not in str(refused.value)
