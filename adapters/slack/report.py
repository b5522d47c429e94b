"""`/escalate report [policy] [from] [to]`: the learning report, sent to a partnership admin as a file."""

from __future__ import annotations

from typing import TYPE_CHECKING

from adapters.report.chat import ReportFile, report_file, request_for
from adapters.slack import blocks
from bot.errors import InvalidInput, Refused
from bot.messages import Message, MessageKind
from bot.report import REFUSAL

if TYPE_CHECKING:
    from adapters.slack.app import SlackContext


async def report_subcommand(ctx: SlackContext, user_id: str, rest: str) -> str:
    """Queue the HTML report as a file to the admin's DM (through the outbox, as the record export
    goes); the reply says it is on its way, or why not."""
    person = await ctx.person(user_id)
    try:
        if person is None:
            raise Refused(REFUSAL)
        file = await ctx.run(_report, ctx, person.id, rest)
    except (Refused, InvalidInput) as exc:
        return blocks.escape(str(exc))
    message = Message(
        to=person.id,
        text=file.html,
        kind=MessageKind.NOTICE,
        data={"file": file.name, "comment": file.description, "caused_by": person.id},
    )
    await ctx.run(ctx.store.enqueue, [message], now=ctx.bot.clock.now())
    ctx.on_queued()
    return blocks.escape(f"{file.description} It is on its way to you as a file.")


def _report(ctx: SlackContext, actor: str, rest: str) -> ReportFile:
    """The report `actor` asked for (reads the database: in the storage thread)."""
    return report_file(ctx.bot, actor, request_for(ctx.bot, actor, rest.split(), ctx.default_policy))
