"""Fuzzing the edges: the real payloads of a Slack and a Teams journey, mutated by Hypothesis and
sent signed (Slack) or as the development switch allows (Teams), must never get a 5xx, never raise
an unhandled exception in a listener, and never change what is already recorded.

`make test` runs FUZZ_EXAMPLES per platform (150); `make fuzz` runs 5,000 each.
"""

from __future__ import annotations

import copy
import json
import logging
import os
from typing import Any
from urllib.parse import parse_qs, urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fakes.slack_bot import running_slack_bot
from fakes.slack_requests import block_action, event, fill, reply, slash, view_submission
from fakes.teams_activities import RAISE, activity, install
from fakes.teams_bot import running_teams_bot
from fakes.threaded import Threaded

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "150"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=EXAMPLES <= 150,  # fixed examples in `make test`; fresh ones in a long run
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

LEAF = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40),
    st.sampled_from(["", "E-0001", "UALEX", "aad-sam", "\ud800", "<!channel>", "9" * 5000, "x" * 45000]),
)
VALUE = st.recursive(
    LEAF,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)


def paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    found = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            found += paths(item, (*prefix, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found += paths(item, (*prefix, i))
    return found


@st.composite
def mutated(draw, bases: list[Any]) -> Any:
    """One of `bases`, with one to three of its parts replaced, removed or given a stranger."""
    payload = copy.deepcopy(draw(st.sampled_from(bases)))
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(paths(payload)))
        operation = draw(st.sampled_from(["replace", "delete", "add"]))
        if not path:
            if operation == "replace":
                payload = draw(VALUE)
            continue
        *parent_path, last = path
        parent = payload
        for step in parent_path:
            parent = parent[step]
        if operation == "replace":
            parent[last] = draw(VALUE)
        elif operation == "delete":
            del parent[last]
        elif isinstance(parent[last], dict):
            parent[last][draw(st.text(max_size=8))] = draw(VALUE)
        else:
            parent[last] = [parent[last], draw(VALUE)]
    return payload


class Errors(logging.Handler):
    """Every ERROR record any logger writes: an exception a listener did not handle."""

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def errors():
    handler = Errors()
    logging.getLogger().addHandler(handler)
    yield handler.records
    logging.getLogger().removeHandler(handler)


def failure(record: logging.LogRecord) -> str:
    """An error record with the last frames of its traceback, to show where it failed."""
    import traceback

    where = traceback.format_exception(*record.exc_info)[-4:] if record.exc_info else []
    return f"{record.name}: {record.getMessage()[:200]} {''.join(where)}"


async def recorded(services) -> list[tuple]:
    """The whole event history (on the bot's own thread, where its database connection lives)."""
    query = "SELECT id, escalation_id, at, kind, actor, data FROM events ORDER BY id"
    return list(services.bot.store.db.execute(query))


# -- Slack -----------------------------------------------------------------------------------------


def decoded(request: tuple[str, str]) -> tuple[str, Any]:
    body, content_type = request
    if content_type == "application/json":
        return "json", json.loads(body)
    form = {k: v[0] for k, v in parse_qs(body).items()}
    return ("interaction", json.loads(form["payload"])) if "payload" in form else ("form", form)


def encoded(kind: str, payload: Any) -> tuple[str, str]:
    if kind == "json":
        return json.dumps(payload), "application/json"
    if kind == "interaction":
        return urlencode({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded"
    if isinstance(payload, dict):
        fields = {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in payload.items()}
        try:
            return urlencode(fields), "application/x-www-form-urlencoded"
        except UnicodeEncodeError:
            return urlencode({k: v.encode("utf-8", "surrogatepass") for k, v in fields.items()}), (
                "application/x-www-form-urlencoded"
            )
    return json.dumps(payload), "application/x-www-form-urlencoded"


async def slack_journey(bot) -> dict[str, list[Any]]:
    """A raise, a note and the buttons and commands around them; the payloads, by kind."""
    requests_sent = []
    opened_for = {}
    for trigger in ("t-raise", "t-note"):
        request = slash("UALEX", trigger_id=trigger, response_url=bot.fake.response_url)
        requests_sent.append(request)
        await bot.send(request)
        (opened,) = await bot.fake.wait_for("views.open", trigger_id=trigger)
        opened_for[trigger] = opened.args["view"]
    form = {
        "risk_now": "no",
        "case_reference": "CIN-1",
        "counterpart": "dir:sam",
        "category": "threshold",
        "issue": "An issue",
        "risk": "A risk",
        "outcome_wanted": "An outcome",
    }
    raise_request = view_submission("UALEX", fill(opened_for["t-raise"], **form))
    await bot.send(raise_request)
    await bot.tick()
    case = bot.fake.posts_to("UALEX")[0]
    channel, thread = case.response["channel"], case.response["ts"]
    requests_sent += [
        raise_request,
        event(reply("UALEX", channel, thread, "A note", "1700000000.500001"), "Ev-note"),
        event({"type": "app_home_opened", "user": "UALEX", "tab": "home"}, "Ev-home"),
        event(
            {
                "type": "message",
                "subtype": "message_changed",
                "channel": channel,
                "message": {
                    "user": "UALEX",
                    "text": "Edited",
                    "ts": "1700000000.500001",
                    "thread_ts": thread,
                },
            },
            "Ev-edit",
        ),
        block_action("UALEX", "esc:add_note", value="E-0001"),
        block_action("USAM", "esc:resolve", value="E-0001"),
        block_action("UALEX", "esc:name_role_holder", selected_user="UNEW", block_id="question:1"),
        slash("UALEX", "show E-0001", response_url=bot.fake.response_url),
        slash("UALEX", "list 2", response_url=bot.fake.response_url),
        slash("USAM", "policy enfield", response_url=bot.fake.response_url),
    ]
    bases: dict[str, list[Any]] = {"form": [], "interaction": [], "json": []}
    for request in requests_sent:
        kind, payload = decoded(request)
        bases[kind].append(payload)
    return bases


async def settle(handle) -> None:
    """Let listeners that run after the acknowledgement finish, and deliver what they queued."""
    import asyncio

    await asyncio.sleep(0.3)
    await handle.tick()


def test_mutated_slack_payloads_never_break_the_bot(tmp_path, errors):
    threaded = Threaded(running_slack_bot(tmp_path))
    with threaded as bot:
        bases = threaded.call(slack_journey(bot))
        before = threaded.call(recorded(bot.services))
        kinds = sorted(k for k in bases if bases[k])

        @FUZZ
        @given(st.data())
        def never_breaks(data):
            kind = data.draw(st.sampled_from(kinds))
            payload = data.draw(mutated(bases[kind]))
            status, _ = threaded.call(bot.send(encoded(kind, payload)))
            assert status < 500, (kind, payload)

        never_breaks()
        threaded.call(settle(bot))
        after = threaded.call(recorded(bot.services))
    assert after[: len(before)] == before  # append-only: nothing recorded was changed or lost
    assert [failure(r) for r in errors] == []


# -- Teams -----------------------------------------------------------------------------------------


async def teams_journey(teams) -> list[dict[str, Any]]:
    url = teams.connector.service_url
    bases = [
        install(url, "alex"),
        install(url, "sam"),
        activity(url, "alex", text="escalate"),
        activity(url, "alex", value={"action": "risk_answer", "risk_now": "no", "policy": "camden"}),
        activity(url, "alex", value={**RAISE, "form": "fuzz-form"}),
        activity(url, "alex", text="escalate list"),
        activity(url, "alex", text="escalate show E-0001"),
        activity(
            url,
            "alex",
            value={
                "action": "note_submit",
                "id": "E-0001",
                "form": "Phone call",
                "involved": "Sam",
                "discussed": "x",
            },
        ),
        activity(url, "sam", value={"action": "resolve", "id": "E-0001"}),
        activity(
            url, "alex", text="A reply", conversation="19:c@thread;messageid=1", conversation_type="channel"
        ),
        {
            **activity(url, "alex"),
            "type": "invoke",
            "name": "application/search",
            "value": {"queryText": "x"},
        },
    ]
    for body in bases:
        await teams.post(body)
    await teams.tick()
    return bases


async def post_raw(teams, payload: Any) -> int:
    body = json.dumps(payload, allow_nan=True)
    async with teams.session.post(teams.url, data=body, headers={"Content-Type": "application/json"}) as r:
        return r.status


def test_mutated_teams_activities_never_break_the_bot(tmp_path, errors):
    threaded = Threaded(running_teams_bot(tmp_path))
    with threaded as teams:
        bases = threaded.call(teams_journey(teams))
        before = threaded.call(recorded(teams.services))
        assert any(row[3] == "raised" for row in before)

        @FUZZ
        @given(st.data())
        def never_breaks(data):
            payload = data.draw(mutated(bases))
            status = threaded.call(post_raw(teams, payload))
            assert status < 500, payload

        never_breaks()
        threaded.call(settle(teams))
        after = threaded.call(recorded(teams.services))
    assert after[: len(before)] == before
    assert [failure(r) for r in errors] == []
