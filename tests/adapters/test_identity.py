"""Nobody takes over a directory identity: a Teams account is linked only from a tenant the
partnership trusts and never over an existing link; a Slack user id is bound to its workspace.
A conflicting claim is refused and the partnership admins are told."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace

from fakes.bot_connector import card_text
from fakes.slack_api import slack_user
from fakes.teams_activities import RAISE, activity
from support import escalations


def from_tenant(body: dict, tenant: str) -> dict:
    body["conversation"]["tenantId"] = tenant
    body["channelData"] = {"tenant": {"id": tenant}}
    return body


async def told(teams, user: str, before: int = 0) -> str:
    await teams.connector.wait_until(lambda: len(teams.connector.cards_to(f"a:{user}")) > before)
    return card_text(teams.connector.cards_to(f"a:{user}")[-1])


def admin_notices(store) -> list[str]:
    rows = store.db.execute("SELECT message FROM outbox").fetchall()
    return [json.loads(r[0])["text"] for r in rows if json.loads(r[0])["to"] == "dee"]


async def test_a_teams_user_from_an_untrusted_tenant_is_never_matched_by_email(teams):
    store = teams.services.bot.store
    await teams.run(store.upsert_people, [replace(store.person("alex"), email="alex.morgan@example.org")])
    teams.connector.members["29:mallory"] = {"id": "29:mallory", "email": "alex.morgan@example.org"}
    url = teams.connector.service_url
    await teams.post(from_tenant(activity(url, "mallory", text="escalate list"), "another-tenant"))
    assert "not in the bot's directory" in await told(teams, "mallory")
    assert store.person("alex").teams_id == "aad-alex"  # untouched
    await teams.post(from_tenant(activity(url, "mallory", value={**RAISE, "form": "f-m"}), "another-tenant"))
    assert "not one this partnership's escalation bot is set up for" in await told(teams, "mallory", 1)
    assert escalations(store) == [] and store.person_by(teams_id="aad-mallory") is None


async def test_the_same_account_id_from_another_tenant_is_not_the_person(teams):
    url = teams.connector.service_url
    await teams.post(activity(url, "alex", text="escalate list"))  # binds alex to tenant-1
    assert teams.services.bot.store.person("alex").teams_tenant == "tenant-1"
    await teams.post(from_tenant(activity(url, "alex", text="escalate list"), "another-tenant"))
    texts = [card_text(c) for c in teams.connector.cards_to("a:alex")]
    assert "not in the bot's directory" in texts[-1]


async def test_an_email_claim_on_someone_already_linked_is_refused_and_admins_told(teams):
    store = teams.services.bot.store
    await teams.run(store.upsert_people, [replace(store.person("alex"), email="alex.morgan@example.org")])
    teams.connector.members["29:mallory"] = {"id": "29:mallory", "email": "alex.morgan@example.org"}
    url = teams.connector.service_url
    await teams.post(activity(url, "mallory", text="escalate list"))  # a trusted tenant, a new account
    assert "not in the bot's directory" in await told(teams, "mallory")
    assert store.person("alex").teams_id == "aad-alex"
    (notice,) = admin_notices(store)
    assert "Someone in Teams claimed to be Alex Morgan" in notice and "The claim was refused" in notice


async def test_a_trusted_user_is_linked_by_email_once(teams):
    store = teams.services.bot.store
    await teams.run(
        store.upsert_people, [replace(store.person("ravi"), email="ravi.shah@example.org", teams_id=None)]
    )
    teams.connector.members["29:ravi"] = {"id": "29:ravi", "email": "ravi.shah@example.org"}
    await teams.post(activity(teams.connector.service_url, "ravi", text="escalate list"))
    ravi = store.person("ravi")
    assert (ravi.teams_id, ravi.teams_tenant) == ("aad-ravi", "tenant-1")


async def test_a_slack_user_id_is_bound_to_its_workspace(slack):
    (answer,) = await slack.ask("UALEX", "list")
    assert "not on any escalations" in answer["text"]  # alex is known, in workspace T1
    assert slack.services.bot.store.person("alex").slack_team == "T1"
    (answer,) = await slack.ask("UALEX", "list", team="T2")
    assert "not in the bot's directory" in answer["text"]


async def test_a_slack_email_claim_on_someone_already_linked_is_refused(slack):
    store = slack.services.bot.store
    await slack.run(store.upsert_people, [replace(store.person("alex"), email="alex.morgan@example.org")])
    slack.fake.users["UMAL"] = slack_user("UMAL", "Mallory", "alex.morgan@example.org")
    (answer,) = await slack.ask("UMAL", "list")
    assert "not in the bot's directory" in answer["text"]
    assert store.person("alex").slack_id == "UALEX"
    await asyncio.sleep(0)
    assert any("Someone in Slack claimed to be Alex Morgan" in t for t in admin_notices(store))


def test_the_trusted_tenants_come_from_the_environment():
    from bot.settings import Settings

    assert Settings.from_env({"TEAMS_TRUSTED_TENANTS": "Tenant-A, tenant-b;tenant-c"}).trusted_tenants == {
        "tenant-a",
        "tenant-b",
        "tenant-c",
    }
    assert Settings.from_env({"MicrosoftAppTenantId": "Only-One"}).trusted_tenants == {"only-one"}
    assert Settings.from_env({}).trusted_tenants == frozenset()  # none: nobody is linked by email
