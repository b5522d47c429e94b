"""Slack users to directory people: by the Slack id column within its workspace, else by the
email from users.info, linking someone only if they are not linked to another account already."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import replace

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.storage_thread import StorageThread
from bot.people import Person
from bot.storage import Storage

PROFILE_TIMEOUT = 1.5  # seconds: a form submission must be answered within Slack's 3
# The workspace the request being handled comes from (set for each request by the app's middleware).
current_team: ContextVar[str | None] = ContextVar("current_team", default=None)
_profiles: dict[str, dict] = {}


async def _profile(client: AsyncWebClient, user_id: str) -> dict:
    """Name and email from users.info, remembered, and never allowed to hold up a form for long."""
    if user_id in _profiles:
        return _profiles[user_id]
    try:
        response = await asyncio.wait_for(client.users_info(user=user_id), PROFILE_TIMEOUT)
    except (SlackApiError, TimeoutError, OSError):
        return {}
    user = response.get("user") or {}
    profile = user.get("profile") or {}
    found = {
        "name": profile.get("real_name") or user.get("real_name") or user.get("name") or user_id,
        "email": profile.get("email"),
        "is_bot": bool(user.get("is_bot")),
    }
    if len(_profiles) > 1000:
        _profiles.clear()
    _profiles[user_id] = found
    return found


async def find_person(
    store: Storage,
    storage_thread: StorageThread,
    client: AsyncWebClient,
    user_id: str,
    *,
    refused: Callable[[str], Awaitable[object]],
) -> Person | None:
    """The directory person behind a Slack user of the current workspace, linking them by email on
    first sight; `refused(person_id)` hears of an email claim on someone linked to another account."""
    team = current_team.get()
    known, person = await storage_thread.run(_by_slack_id, store, user_id, team)
    if known:
        return person
    profile = await _profile(client, user_id)
    if not profile.get("email"):
        return None
    person, claimed = await storage_thread.run(_link_by_email, store, user_id, team, profile["email"])
    if claimed is not None:
        await refused(claimed)
    return person


def _by_slack_id(store: Storage, user_id: str, team: str | None) -> tuple[bool, Person | None]:
    """(whether the Slack id is in the directory, the person it is in this workspace)."""
    person = store.person_by(slack_id=user_id)
    if person is None:
        return False, None
    if person.slack_team and team and person.slack_team != team:
        return True, None  # the same user id from another workspace is someone else
    if team and not person.slack_team:
        person = replace(person, slack_team=team)
        store.upsert_people([person], with_roles=False)
    return True, person


def _link_by_email(
    store: Storage, user_id: str, team: str | None, email: str
) -> tuple[Person | None, str | None]:
    """(the person with this email, now linked to the Slack id; the id of one linked to another
    account already, whose claim is refused)."""
    person = store.person_by(email=email)
    if person and person.slack_id and person.slack_id != user_id:
        return None, person.id
    if person is None:
        return None, None
    linked = replace(person, slack_id=user_id, slack_team=team)
    store.upsert_people([linked], with_roles=False)
    return linked, None


async def add_person(
    store: Storage,
    storage_thread: StorageThread,
    client: AsyncWebClient,
    user_id: str,
    *,
    agency: str,
    role: str,
) -> Person:
    """Someone not yet in the directory, remembered with the agency and role they gave. A leaver's
    account is never made into a new person: they stay who they were, and stay deactivated."""
    left = await storage_thread.run(store.person_by, slack_id=user_id, active_only=False)
    if left is not None:
        return left
    profile = await _profile(client, user_id)
    person = Person(
        id=f"slack-{user_id}",
        name=profile.get("name") or user_id,
        agency=agency.strip()[:100],
        role=role.strip()[:100],
        email=profile.get("email"),
        slack_id=user_id,
        slack_team=current_team.get(),
    )
    await storage_thread.run(store.upsert_people, [person])
    return person
