"""``/metrics`` in Prometheus text format: the bus, the websocket layer, workflows, and the demo cloud.

Values are read when scraped (a custom collector in a registry of this server's own), so several
servers in one process never share or clash on metrics.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from reactivex import abc

from resoto_rx.messages import KINDS, Message

if TYPE_CHECKING:
    from resoto_rx.server.context import ServerContext


class MessageCounter:
    """Counts the messages the bus publishes, by kind (bounded labels: the seven kinds)."""

    def __init__(self) -> None:
        self.by_kind: Counter[str] = Counter()
        self._subscription: abc.DisposableBase | None = None

    def attach(self, ctx: ServerContext) -> None:
        self._subscription = ctx.bus.listen().subscribe(self._count)

    def _count(self, message: Message) -> None:
        self.by_kind[message.kind] += 1

    def detach(self) -> None:
        if self._subscription is not None:
            self._subscription.dispose()
            self._subscription = None


class ServerCollector(Collector):
    """Reads the figures of one server context at scrape time."""

    def __init__(self, ctx: ServerContext, counter: MessageCounter) -> None:
        self.ctx = ctx
        self.counter = counter

    def collect(self) -> Iterator[Metric]:
        ctx = self.ctx
        messages = CounterMetricFamily("resoto_rx_bus_messages", "Messages published on the bus", labels=["kind"])
        for kind in KINDS:
            messages.add_metric([kind], self.counter.by_kind.get(kind, 0))
        yield messages
        yield _gauge("resoto_rx_bus_last_id", "Id of the last published message", ctx.bus.last_id)
        yield _gauge(
            "resoto_rx_bus_listeners", "Registered listeners (websocket clients among them)", len(ctx.bus.listeners)
        )
        yield _counter("resoto_rx_bus_subscriber_failures", "Subscriber callbacks that raised", ctx.bus.failures)
        yield _gauge("resoto_rx_history_messages", "Messages retained in memory", len(ctx.bus.history))
        yield _counter("resoto_rx_history_dropped", "Messages dropped from the in-memory ring", ctx.bus.history.dropped)
        yield _gauge("resoto_rx_websocket_clients", "Open websocket connections", len(ctx.sockets))
        yield _counter("resoto_rx_websocket_connections", "Websocket connections accepted", ctx.stats.connections)
        yield _counter(
            "resoto_rx_websocket_frames_sent", "Frames written to websocket clients", ctx.channel_stats.frames
        )
        yield _counter("resoto_rx_websocket_bytes_sent", "Bytes written to websocket clients", ctx.channel_stats.bytes)
        yield _counter(
            "resoto_rx_websocket_frames_encoded",
            "Frames built (once per message, shared by clients)",
            ctx.frames.encoded,
        )
        yield _counter(
            "resoto_rx_websocket_slow_clients_disconnected",
            "Clients disconnected because their outbound buffer was full",
            ctx.channel_stats.overflows,
        )
        yield _counter("resoto_rx_websocket_frames_received", "Frames received from clients", ctx.stats.frames_received)
        yield _counter("resoto_rx_websocket_bad_frames", "Frames refused with an error", ctx.stats.bad_frames)
        yield _counter(
            "resoto_rx_auth_failures", "Requests refused for missing or wrong tokens", ctx.stats.auth_failures
        )
        yield _gauge("resoto_rx_subscribers", "Registered subscribers", len(ctx.runner.registry.all()))
        yield _gauge("resoto_rx_tasks_running", "Workflow tasks running", len(ctx.runner.tasks))
        runs = GaugeMetricFamily(
            "resoto_rx_workflow_runs_kept", "Finished runs kept in the run history", labels=["workflow", "status"]
        )
        for (workflow, status), count in sorted(
            Counter((t.workflow.id, t.status.value) for t in ctx.runner.finished).items()
        ):
            runs.add_metric([workflow, status], count)
        yield runs
        yield from _demo_metrics(ctx)


def _demo_metrics(ctx: ServerContext) -> Iterator[Metric]:
    metrics = getattr(ctx.optional("demo"), "metrics", None)
    if metrics is None:
        return
    families: dict[str, GaugeMetricFamily] = {}
    for row in metrics.as_rows():
        labels = sorted(row.labels)
        family = families.get(row.name)
        if family is None:
            family = families[row.name] = GaugeMetricFamily(row.name, f"Demo cloud: {row.name}", labels=labels)
        family.add_metric([row.labels[k] for k in labels], row.value)
    yield from families.values()


def _gauge(name: str, doc: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, doc, value=value)


def _counter(name: str, doc: str, value: float) -> CounterMetricFamily:
    return CounterMetricFamily(name, doc, value=value)


def make_registry(ctx: ServerContext, counter: MessageCounter) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ServerCollector(ctx, counter))
    return registry


def render_metrics(ctx: ServerContext) -> tuple[str, bytes]:
    """``(content type, body)`` of a scrape."""
    return CONTENT_TYPE_LATEST, generate_latest(ctx.metrics_registry)
