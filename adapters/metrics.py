"""`GET /metrics` in Prometheus's text format: what an admin's monitoring needs to see that
messages are getting through. Counts and ages only: never a person, a case or a message.

prometheus_client (the Prometheus project's own, no dependencies) writes the format, its
escaping and its histograms; a registry of our own per server keeps tests and servers apart.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterator

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from bot.core import EscalationBot
from bot.outbox import DeliveryFailed

# Slack wants an answer within 3 seconds; the buckets resolve around that.
LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 3.0, 5.0, 10.0)


class Metrics:
    """The server's counters, and what the database says at each scrape."""

    def __init__(self, bot: EscalationBot) -> None:
        self.registry = CollectorRegistry()
        self.sent = Counter(
            "escalation_bot_messages_sent",
            "Messages (or parts) delivered, by platform",
            ["platform"],
            registry=self.registry,
        )
        self.failed = Counter(
            "escalation_bot_send_failures",
            "Attempts to deliver a message that failed, by platform; retry=true will be tried again",
            ["platform", "retry"],
            registry=self.registry,
        )
        self.requests = Counter(
            "escalation_bot_http_requests",
            "HTTP requests answered, by route, method and status",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "escalation_bot_http_request_duration_seconds",
            "Time to answer an HTTP request, by route",
            ["route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.registry.register(_StoreCollector(bot))

    def observe_send(self, platform: str, error: Exception | None) -> None:
        """A Delivery watcher: one attempt through `platform`, and its error if it failed."""
        if error is None:
            self.sent.labels(platform).inc()
            return
        permanent = isinstance(error, DeliveryFailed) and error.permanent
        self.failed.labels(platform, "false" if permanent else "true").inc()

    def middleware(self) -> Callable:
        """Counts and times every request, by its route's pattern (never the path: a page link
        carries a signed token)."""

        @web.middleware
        async def measured(
            request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
        ) -> web.StreamResponse:
            started = time.perf_counter()
            status = 500
            try:
                response = await handler(request)
                status = response.status
                return response
            except web.HTTPException as exc:
                status = exc.status
                raise
            finally:
                resource = request.match_info.route.resource
                route = resource.canonical if resource is not None else "unmatched"
                self.requests.labels(route, request.method, str(status)).inc()
                self.latency.labels(route).observe(time.perf_counter() - started)

        return measured

    def render(self) -> tuple[bytes, str]:
        """The exposition, and its content type."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


class _StoreCollector(Collector):
    """Read from the database at each scrape, by the bot's clock."""

    def __init__(self, bot: EscalationBot) -> None:
        self.bot = bot

    def collect(self) -> Iterator[GaugeMetricFamily]:
        store, now = self.bot.store, self.bot.clock.now()
        replica = GaugeMetricFamily(
            "escalation_bot_replica",
            "This server's id, as the outbox records it (claimed_by) on the messages it is sending",
            labels=["replica"],
        )
        replica.add_metric([store.owner], 1)
        yield replica
        counts = store.outbox_counts()
        yield GaugeMetricFamily(
            "escalation_bot_outbox_waiting",
            "Messages queued and not yet delivered",
            value=counts.get("pending", 0) + counts.get("sending", 0),
        )
        yield GaugeMetricFamily(
            "escalation_bot_outbox_failed",
            "Messages that finally failed (their sender or the admins were told)",
            value=counts.get("failed", 0),
        )
        oldest = store.outbox_waiting_since()
        yield GaugeMetricFamily(
            "escalation_bot_outbox_oldest_waiting_seconds",
            "Age of the oldest message not yet delivered (0 when none waits)",
            value=max((now - oldest).total_seconds(), 0.0) if oldest else 0.0,
        )
        yield GaugeMetricFamily(
            "escalation_bot_reminders_due",
            "Reminders due by now and not yet sent",
            value=store.reminders_due(now),
        )
        inbox = store.inbox_counts()
        yield GaugeMetricFamily(
            "escalation_bot_inbox_waiting",
            "Requests from people kept and not yet handled",
            value=inbox.get("pending", 0),
        )
        failing = GaugeMetricFamily(
            "escalation_bot_platform_failing_seconds",
            "How long messages to each platform have been failing (present only while they are)",
            labels=["platform"],
        )
        for platform, trouble in store.platform_troubles().items():
            failing.add_metric([platform], max((now - trouble.failing_since).total_seconds(), 0.0))
        yield failing
