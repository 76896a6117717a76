"""Helpers shared by the service and end-to-end tiers."""

import json
import time
from contextlib import contextmanager

from kombu import Connection, Exchange, Queue
from nameko.standalone.rpc import ClusterRpcProxy

from services.chassis.actor import CONTEXT_KEY, Actor, sign
from tests.conftest import ACTOR_SECRET

ADMIN = Actor(roles=("district_admin",), username="admin")


@contextmanager
def rpc_as(config: dict, actor: Actor | None = ADMIN, token: str | None = None):
    """A cluster RPC proxy whose calls carry ``actor`` (or a raw ``token``, or nothing)."""
    context = {}
    if token is not None:
        context[CONTEXT_KEY] = token
    elif actor is not None:
        context[CONTEXT_KEY] = sign(actor, ACTOR_SECRET)
    with ClusterRpcProxy(config, context_data=context, timeout=20) as proxy:
        yield proxy


def wait_for(predicate, timeout: float = 10.0, interval: float = 0.05):
    """Poll until ``predicate()`` is truthy; return its value or fail with the last one."""
    deadline = time.monotonic() + timeout
    value = predicate()
    while not value and time.monotonic() < deadline:
        time.sleep(interval)
        value = predicate()
    assert value, f"condition not met within {timeout}s"
    return value


class EventTap:
    """A queue bound to every event of some services: what an agency subscribing would see."""

    def __init__(self, amqp_uri: str, sources: tuple[str, ...]):
        self.connection = Connection(amqp_uri)
        self.channel = self.connection.channel()
        self.queues = []
        for source in sources:
            exchange = Exchange(f"{source}.events", type="topic", durable=True)
            queue = Queue(f"test-tap-{source}", exchange=exchange, routing_key="#",
                          auto_delete=False, durable=False)
            queue(self.channel).declare()
            self.queues.append(queue(self.channel))
        self.events: list[dict] = []
        self.raw: list[str] = []

    def drain(self) -> list[dict]:
        for queue in self.queues:
            while (message := queue.get(no_ack=True)) is not None:
                body = message.body.decode() if isinstance(message.body, bytes) else message.body
                self.raw.append(body)
                self.events.append(json.loads(body))
        return self.events

    def types(self) -> list[str]:
        return [event["type"] for event in self.drain()]

    def close(self):
        self.connection.release()


def container_metrics(container):
    """The ``ContainerMetrics`` of a running container (its own Prometheus registry)."""
    from services.chassis.metrics import ContainerRegistry

    shared = next(ext for ext in container.extensions if isinstance(ext, ContainerRegistry))
    return shared.metrics


def sample(container, name: str, **labels) -> float:
    value = container_metrics(container).registry.get_sample_value(name, labels)
    return value or 0.0


def publish_raw(amqp_uri: str, source: str, routing_key: str, envelope: dict) -> None:
    """Put an envelope on a service's exchange, as its relay (or a redelivery) would."""
    with Connection(amqp_uri) as connection:
        producer = connection.Producer(serializer="json")
        exchange = Exchange(f"{source}.events", type="topic", durable=True)
        producer.publish(envelope, exchange=exchange, routing_key=routing_key,
                         declare=[exchange], delivery_mode=2)


def table_counts(url: str, metadata) -> dict[str, int]:
    """Rows per table: a request that failed must leave every count as it was."""
    from sqlalchemy import func, select

    from services.chassis.store import make_engine

    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return {name: connection.execute(select(func.count()).select_from(table)).scalar()
                    for name, table in metadata.tables.items()}
    finally:
        engine.dispose()
