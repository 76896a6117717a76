"""Event subscriptions: durable queues, bounded retries with backoff, dead letters.

``@subscribe("petitions", "petition.referred_to_meeting")`` binds a durable queue named
``<source>.events--<service>.<method>`` to the source's exchange. The handler receives the
CloudEvents envelope. Its first ``self.db.transaction()`` records the event id in the inbox,
so a redelivered event is applied once. A handler that raises is retried with exponential
backoff (``EVENT_RETRY: {attempts, backoff}``); after the last attempt the envelope goes to
the service's dead-letter queue with the error, then the message is acked. The message is
acked only after that, so a crash mid-way loses nothing: the broker redelivers it.
"""

import logging
import os
from datetime import UTC, datetime
from functools import partial

import eventlet
from kombu import Connection, Exchange, Queue
from kombu.pools import producers
from nameko.exceptions import ContainerBeingKilled
from nameko.messaging import Consumer

from services.chassis.errors import DomainError
from services.chassis.events import exchange_name
from services.chassis.metrics import ContainerRegistry
from services.chassis.store import AlreadyProcessed

log = logging.getLogger(__name__)

DEAD_LETTER_EXCHANGE = "yuelihui.dead-letters"


def subscription_queue(source: str, service: str, method: str) -> str:
    return f"{exchange_name(source)}--{service}.{method}"


def event_queue_type(config: dict) -> str | None:
    """``EVENT_QUEUE_TYPE`` (or ``YLH_EVENT_QUEUE_TYPE``): ``quorum`` in production, where the
    broker replicates the queue; unset means the broker's default (classic)."""
    value = config.get("EVENT_QUEUE_TYPE") or os.environ.get("YLH_EVENT_QUEUE_TYPE") or ""
    return None if value in ("", "classic", "default") else value


def event_subscription_queue(source: str, service: str, method: str, event_type: str,
                             queue_type: str | None = None) -> Queue:
    """The durable queue of one subscription, as the consumer and ``yuelihui declare`` make it
    (both must declare it with the same arguments, or the broker refuses the second)."""
    exchange = Exchange(exchange_name(source), type="topic", durable=True)
    arguments = {"x-queue-type": queue_type} if queue_type else None
    return Queue(subscription_queue(source, service, method), exchange=exchange,
                 routing_key=event_type, durable=True, queue_arguments=arguments)


def dead_letter_queue(service: str) -> Queue:
    exchange = Exchange(DEAD_LETTER_EXCHANGE, type="topic", durable=True)
    return Queue(f"{service}.dead-letters", exchange=exchange, routing_key=f"{service}.#",
                 durable=True)


class EventSubscription(Consumer):
    is_event_subscription = True
    metrics_registry = ContainerRegistry()

    def __init__(self, source: str, event_type: str, **kwargs):
        self.source = source
        self.event_type = event_type
        super().__init__(queue=None, requeue_on_error=False, **kwargs)

    def setup(self):
        self.queue = event_subscription_queue(self.source, self.container.service_name,
                                              self.method_name, self.event_type,
                                              event_queue_type(self.container.config))
        retry = self.container.config.get("EVENT_RETRY") or {}
        self.attempts = int(retry.get("attempts", 5))
        self.backoff = float(retry.get("backoff", 1.0))
        self.metrics = self.metrics_registry.metrics
        super().setup()

    def handle_message(self, body, message):
        self._spawn(body, message, attempt=1)

    def _spawn(self, body, message, attempt):
        self.container.spawn_worker(
            self, (body,), {}, context_data=self.unpack_message_headers(message),
            handle_result=partial(self._handle_outcome, message, attempt))

    def _handle_outcome(self, message, attempt, worker_ctx, result=None, exc_info=None):
        consumer = f"{self.container.service_name}.{self.method_name}"
        count = partial(self._count, consumer)
        if exc_info is not None and isinstance(exc_info[1], AlreadyProcessed):
            count("duplicate")
            self.queue_consumer.ack_message(message)
            return None, None
        if exc_info is None:
            count("applied")
            self.queue_consumer.ack_message(message)
            return result, None
        if attempt < self.attempts:
            count("retried")
            delay = self.backoff * 2 ** (attempt - 1)
            self.container.spawn_managed_thread(
                partial(self._retry_later, worker_ctx.args[0], message, attempt + 1, delay))
            return result, exc_info
        count("dead_lettered")
        self.dead_letter(message, worker_ctx.args[0], exc_info[1], attempt)
        self.queue_consumer.ack_message(message)
        return result, exc_info

    def _retry_later(self, body, message, attempt, delay):
        eventlet.sleep(delay)
        try:
            self._spawn(body, message, attempt)
        except ContainerBeingKilled:
            self.queue_consumer.requeue_message(message)  # another instance will take it

    def _count(self, consumer, outcome):
        self.metrics.consumed.labels(self.metrics.service, consumer, outcome).inc()

    def dead_letter(self, message, body, error: BaseException, attempts: int) -> None:
        service = self.container.service_name
        headers = {
            "x-yl-queue": self.queue.name,
            "x-yl-error": describe(error),
            "x-yl-attempts": attempts,
            "x-yl-failed-at": datetime.now(UTC).isoformat(),
        }
        connection = Connection(self.container.config["AMQP_URI"],
                                transport_options={"confirm_publish": True})
        with producers[connection].acquire(block=True) as producer:
            queue = dead_letter_queue(service)
            producer.publish(body, exchange=queue.exchange,
                             routing_key=f"{service}.{self.method_name}",
                             headers=headers, declare=[queue], serializer="json",
                             delivery_mode=2, retry=True)
        event_id = body.get("id") if isinstance(body, dict) else "?"
        log.error("event %s dead-lettered after %d attempts: %s", event_id, attempts,
                  headers["x-yl-error"])


subscribe = EventSubscription.decorator


def describe(error: BaseException) -> str:
    """What an operator may read of a failure: a domain error's message, else only the type
    and the first line (a database error's parameters may hold the data being written)."""
    if isinstance(error, DomainError):
        return f"{type(error).__name__}: {error.message}"[:500]
    first_line = str(error).split("\n", 1)[0].split("[SQL:", 1)[0]
    return f"{type(error).__name__}: {first_line}"[:200]
