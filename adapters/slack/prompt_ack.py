"""Slack's answer the moment a listener acknowledges.

Bolt (process_before_response off) starts each listener in a task and then looks every 10 ms for
its acknowledgement, so each answer waits for the next look: up to 10 ms, and under a burst of
fifty the looks themselves queue behind one another. Here the acknowledgement wakes the request
at once. Everything else is bolt's: its error, start and completion handlers, the 3-second limit.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.listener.async_listener import AsyncListener
from slack_bolt.listener.asyncio_runner import AsyncioListenerRunner
from slack_bolt.logger.messages import warning_did_not_call_ack
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse


class SignalledAck(AsyncAck):
    """bolt's `ack()`, which also wakes whoever waits for it."""

    def __init__(self, answered: asyncio.Future[None]) -> None:
        super().__init__()
        self.answered = answered
        # The answer as first given: a failure later in the listener resets bolt's `response`
        # before the waiting request may have read it.
        self.answer: BoltResponse | None = None

    async def __call__(self, *args: Any, **kwargs: Any) -> BoltResponse:
        response = await super().__call__(*args, **kwargs)
        if self.answer is None:
            self.answer = response
        _settle(self.answered)
        return response


def _settle(answered: asyncio.Future[None], *_: Any) -> None:
    if not answered.done():
        answered.set_result(None)


class PromptAckRunner(AsyncioListenerRunner):
    """bolt's listener runner, answering Slack as soon as the listener calls `ack()`."""

    def __init__(self, runner: AsyncioListenerRunner) -> None:
        super().__init__(
            logger=runner.logger,
            process_before_response=runner.process_before_response,
            listener_error_handler=runner.listener_error_handler,
            listener_start_handler=runner.listener_start_handler,
            listener_completion_handler=runner.listener_completion_handler,
            lazy_listener_runner=runner.lazy_listener_runner,
        )
        # The listeners still running after their acknowledgement: held, so none is collected.
        self.running: set[asyncio.Task[None]] = set()

    async def run(
        self,
        request: AsyncBoltRequest,
        response: BoltResponse,
        listener_name: str,
        listener: AsyncListener,
        starting_time: float | None = None,
    ) -> BoltResponse | None:
        if (
            self.process_before_response
            or listener.auto_acknowledgement
            or listener.lazy_functions
            or request.lazy_only
            or request.context.ack.response is not None
        ):
            return await super().run(request, response, listener_name, listener, starting_time)
        # Any `ack` bolt made before (for a function middleware's arguments) nobody has called.
        answered: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        ack = SignalledAck(answered)
        request.context["ack"] = ack
        task = asyncio.ensure_future(self._listen(ack, request, response, listener))
        self.running.add(task)
        task.add_done_callback(self.running.discard)
        task.add_done_callback(functools.partial(_settle, answered))  # it ended without a word
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(listener.ack_timeout):
                await answered
        answer = ack.answer or ack.response  # the latter: a failure before the acknowledgement
        if answer is None:
            self.logger.warning(warning_did_not_call_ack(listener_name))
        return answer

    async def _listen(
        self, ack: AsyncAck, request: AsyncBoltRequest, response: BoltResponse | None, listener: AsyncListener
    ) -> None:
        # As bolt's own runner does it: a failure before the acknowledgement answers 500 (after
        # it, the answer has gone), and the error handler hears of it either way.
        try:
            await self.listener_start_handler.handle(request=request, response=response)
            await listener.run_ack_function(request=request, response=response)
        except Exception as e:
            if response is None:
                response = BoltResponse(status=500)
            response.status = 500
            if ack.response is not None:
                response = None
            await self.listener_error_handler.handle(error=e, request=request, response=response)
            ack.response = response
        finally:
            await self.listener_completion_handler.handle(request=request, response=response)


def answer_promptly(app: Any) -> None:
    """Put the prompt runner in `app`'s (an AsyncApp's) place for bolt's own. bolt offers no public
    way to: this sets the attribute its dispatcher reads, and tests/adapters/test_prompt_ack.py
    checks that the runner in use is this one."""
    app._async_listener_runner = PromptAckRunner(app.listener_runner)
