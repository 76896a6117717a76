"""The outbox relay: publishes committed events with publisher confirms, in batches.

One round takes up to ``batch`` unsent rows in commit order, publishes them all, waits for
the broker to confirm the whole batch (one wait per round, not per message) and marks them
sent. On PostgreSQL the rows are locked ``FOR UPDATE SKIP LOCKED`` for the round, so several
instances of a service never publish one row twice. On SQLite (one process, the embedded
default) no lock is held across network I/O: a blocked SQLite call would stall the hub.
A process that dies between publish and mark publishes the row again later; consumers
are idempotent, so at-least-once is safe.
"""

import logging
import time
from datetime import timedelta

import amqp
import eventlet
from kombu import Connection
from sqlalchemy import delete, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from services.chassis import clock
from services.chassis.events import EventCatalog
from services.chassis.metrics import ContainerMetrics
from services.chassis.store import mark_sent

log = logging.getLogger(__name__)

PURGE_EVERY = 3600.0  # seconds between deletions of sent rows past retention


class PublishFailed(Exception):
    pass


class ConfirmedPublisher:
    """Publishes a batch of envelopes to one topic exchange and waits for all confirms."""

    def __init__(self, amqp_uri: str, exchange: str, confirm_timeout: float = 10.0):
        self.amqp_uri = amqp_uri
        self.exchange = exchange
        self.confirm_timeout = confirm_timeout
        self._connection = None
        self._channel = None

    def _connect(self):
        connection = Connection(self.amqp_uri)
        connection.connect()
        channel = connection.channel()
        channel.exchange_declare(self.exchange, "topic", durable=True, auto_delete=False)
        channel.confirm_select()
        channel.events["basic_ack"].add(self._on_ack)
        channel.events["basic_nack"].add(self._on_nack)
        self._connection, self._channel = connection, channel
        self._next_tag, self._unconfirmed, self._nacked = 1, set(), set()

    def _on_ack(self, delivery_tag, multiple):
        self._settle(delivery_tag, multiple)

    def _on_nack(self, delivery_tag, multiple):
        self._nacked |= self._settle(delivery_tag, multiple)

    def _settle(self, delivery_tag, multiple) -> set:
        settled = {t for t in self._unconfirmed if t <= delivery_tag} if multiple else (
            {delivery_tag} & self._unconfirmed)
        self._unconfirmed -= settled
        return settled

    def publish(self, messages: list[tuple[str, str]]) -> None:
        """``messages``: (routing key, JSON body). Returns once the broker holds them all."""
        if self._channel is None:
            self._connect()
        try:
            for routing_key, body in messages:
                message = amqp.Message(body, content_type="application/json",
                                       content_encoding="utf-8", delivery_mode=2)
                self._channel.basic_publish(message, exchange=self.exchange,
                                            routing_key=routing_key)
                self._unconfirmed.add(self._next_tag)
                self._next_tag += 1
            with eventlet.Timeout(self.confirm_timeout, PublishFailed("no confirm in time")):
                while self._unconfirmed:
                    self._connection.drain_events(timeout=self.confirm_timeout)
            if self._nacked:
                raise PublishFailed(f"broker refused {len(self._nacked)} messages")
        except BaseException:
            self.close()
            raise

    def close(self):
        connection, self._connection, self._channel = self._connection, None, None
        if connection is not None:
            try:
                connection.close()
            except Exception:  # noqa: BLE001 - closing a broken connection
                log.debug("closing a broken broker connection failed", exc_info=True)


class OutboxRelay:
    def __init__(self, engine: Engine, outbox, catalog: EventCatalog, config: dict,
                 metrics: ContainerMetrics):
        settings = config.get("OUTBOX") or {}
        self.engine = engine
        self.outbox = outbox
        self.metrics = metrics
        self.batch = int(settings.get("batch", 200))
        self.interval = float(settings.get("interval", 0.2))
        self.retention = timedelta(days=float(settings.get("retention_days", 30)))
        self.locks_rows = engine.dialect.name == "postgresql"
        self.publisher = ConfirmedPublisher(config["AMQP_URI"], catalog.exchange())
        self._running = False

    def run(self):
        self._running = True
        next_purge = 0.0
        while self._running:
            try:
                if time.monotonic() >= next_purge:
                    self.purge_sent()
                    next_purge = time.monotonic() + PURGE_EVERY
                sent = self.relay_once()
            except Exception:  # noqa: BLE001 - the relay must outlive a broker or database outage
                log.warning("outbox relay round failed; retrying", exc_info=True)
                self.metrics.relay_failures.labels(self.metrics.service).inc()
                sent = 0
                eventlet.sleep(min(5.0, self.interval * 10))
            if sent < self.batch:
                eventlet.sleep(self.interval)

    def stop(self):
        self._running = False
        self.publisher.close()

    def relay_once(self) -> int:
        """Publish one batch; returns how many rows were sent."""
        o = self.outbox.c
        query = (select(o.position, o.event_type, o.envelope).where(o.sent_at.is_(None))
                 .order_by(o.position).limit(self.batch))
        if self.locks_rows:
            query = query.with_for_update(skip_locked=True)
        with Session(self.engine) as session:
            rows = session.execute(query).all()
            if not rows:
                return 0
            if not self.locks_rows:
                session.rollback()
            self.publisher.publish([(row.event_type, row.envelope) for row in rows])
            mark_sent(session, self.outbox, [row.position for row in rows])
            session.commit()
        for row in rows:
            self.metrics.published.labels(self.metrics.service, row.event_type).inc()
        return len(rows)

    def purge_sent(self) -> int:
        """Delete sent rows older than the retention period (kept until then for replays)."""
        cutoff = clock.now() - self.retention
        with Session(self.engine) as session:
            result = session.execute(delete(self.outbox).where(
                self.outbox.c.sent_at.is_not(None), self.outbox.c.sent_at < cutoff))
            session.commit()
        return result.rowcount

