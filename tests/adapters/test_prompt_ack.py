"""The listener runner that answers Slack the moment a listener acknowledges: what bolt's own
runner promises still holds (a failure before the acknowledgement is a 500, one after it reaches
the error handler, a listener's work goes on after its answer)."""

from __future__ import annotations

import asyncio
from urllib.parse import urlencode

from slack_bolt.async_app import AsyncApp
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.request.async_request import AsyncBoltRequest

from adapters.slack.prompt_ack import PromptAckRunner, answer_promptly


def command(text: str) -> AsyncBoltRequest:
    body = {"command": "/try", "text": text, "user_id": "U1", "team_id": "T1", "trigger_id": "t"}
    return AsyncBoltRequest(
        body=urlencode(body), headers={"content-type": "application/x-www-form-urlencoded"}
    )


def app_with(listener, errors: list[Exception]) -> AsyncApp:
    async def authorize(**_) -> AuthorizeResult:  # no auth.test: these tests reach no Slack
        return AuthorizeResult(enterprise_id=None, team_id="T1", bot_token="xoxb-test", bot_user_id="UBOT")

    app = AsyncApp(authorize=authorize, signing_secret="", request_verification_enabled=False)
    app.command("/try")(listener)

    @app.error
    async def heard(error: Exception) -> None:
        errors.append(error)

    answer_promptly(app)
    assert isinstance(app.listener_runner, PromptAckRunner)
    return app


async def test_the_answer_goes_while_the_work_after_it_is_still_held():
    held, finished, errors = asyncio.Event(), asyncio.Event(), []

    async def listener(ack) -> None:
        await ack("on it")
        await held.wait()
        finished.set()

    app = app_with(listener, errors)
    response = await asyncio.wait_for(app.async_dispatch(command("go")), 2)
    assert (response.status, response.body) == (200, "on it")
    assert not finished.is_set()  # answered before the work that follows
    held.set()
    await asyncio.wait_for(finished.wait(), 2)
    assert errors == []


async def test_a_failure_before_the_acknowledgement_is_a_500_and_is_heard():
    errors: list[Exception] = []

    async def listener(ack) -> None:
        raise RuntimeError("before")

    response = await app_with(listener, errors).async_dispatch(command("go"))
    assert response.status == 500
    assert [str(e) for e in errors] == ["before"]


async def test_a_failure_after_the_acknowledgement_leaves_the_answer_and_is_heard():
    errors: list[Exception] = []
    failed = asyncio.Event()

    async def listener(ack) -> None:
        await ack()
        await asyncio.sleep(0)
        failed.set()
        raise RuntimeError("after")

    response = await app_with(listener, errors).async_dispatch(command("go"))
    assert response.status == 200
    await asyncio.wait_for(failed.wait(), 2)
    for _ in range(10):
        await asyncio.sleep(0)
    assert [str(e) for e in errors] == ["after"]
