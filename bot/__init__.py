"""The conversation core: policies, escalations, the working-day calendar, reminders and the record.

Nothing in this package imports Slack, Teams or aiohttp code; adapters translate to and from it.
"""
