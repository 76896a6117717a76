"""Operator tasks on the broker and the outboxes, used by ``yuelihui`` (``services/cli.py``).

- ``find_subscriptions`` / ``declare_subscriptions``: every subscription queue of the given
  service classes, declared before any publisher starts, so no event goes into the void.
- ``read_dead_letters`` / ``replay_dead_letters``: the ``<service>.dead-letters`` queue, and
  re-delivery of a dead letter to the queue it failed in (only that subscriber sees it again).
- ``replay_events``: a service's retained (sent) outbox rows, re-published straight into one
  queue, for a subscriber that was offline or an agency that subscribed late.
- ``process_health``, ``broker_queues``, ``outbox_backlog``: what ``yuelihui status`` shows.

The chassis imports no service: service classes are passed in by the caller.
"""

import inspect
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import quote, unquote, urlparse

import amqp
import requests
from kombu import Connection, Queue
from sqlalchemy import MetaData, select
from sqlalchemy.engine import Engine

from services.chassis.relay import ConfirmedPublisher
from services.chassis.store import OUTBOX, add_chassis_tables, outbox_status
from services.chassis.subscriptions import (
    dead_letter_queue,
    event_subscription_queue,
    subscription_queue,
)

DEAD_LETTER_HEADERS = ("x-yl-queue", "x-yl-error", "x-yl-attempts", "x-yl-failed-at", "x-death",
                       "x-first-death-exchange", "x-first-death-queue", "x-first-death-reason",
                       "x-delivery-count")


class OperationFailed(Exception):
    """An operator command cannot do what was asked; the message says why, in Chinese."""


# --- subscriptions --------------------------------------------------------------------------

@dataclass(frozen=True)
class Subscription:
    service: str
    method: str
    source: str
    event_type: str

    @property
    def queue(self) -> str:
        return subscription_queue(self.source, self.service, self.method)


def find_subscriptions(service_classes) -> list[Subscription]:
    """Every ``@subscribe`` entrypoint of the given nameko service classes."""
    found = []
    for cls in service_classes:
        for method, member in inspect.getmembers(cls, inspect.isfunction):
            for entrypoint in getattr(member, "nameko_entrypoints", ()):
                if getattr(entrypoint, "is_event_subscription", False):
                    found.append(Subscription(cls.name, method, entrypoint.source,
                                              entrypoint.event_type))
    return sorted(found, key=lambda s: (s.service, s.method))


def declare_subscriptions(amqp_uri: str, subscriptions, queue_type: str | None) -> list[str]:
    """Declare each subscription's queue (bound to its source exchange) and each subscribing
    service's dead-letter queue, exactly as the running consumers will. Idempotent."""
    declared = []
    with Connection(amqp_uri) as connection:
        channel = connection.channel()
        for sub in subscriptions:
            queue = event_subscription_queue(sub.source, sub.service, sub.method,
                                             sub.event_type, queue_type)
            queue(channel).declare()
            declared.append(queue.name)
        for service in sorted({sub.service for sub in subscriptions}):
            queue = dead_letter_queue(service)
            queue(channel).declare()
            declared.append(queue.name)
    return declared


# --- dead letters ---------------------------------------------------------------------------

@dataclass
class DeadLetter:
    service: str
    original_queue: str | None
    event_id: str
    event_type: str
    error: str
    attempts: int | None
    failed_at: str
    body: bytes = field(repr=False)
    content_type: str = "application/json"


def _as_dead_letter(service: str, message) -> DeadLetter:
    headers = message.headers or {}
    body = message.body if isinstance(message.body, bytes) else str(message.body).encode()
    try:
        envelope = json.loads(body)
    except ValueError:
        envelope = {}
    if not isinstance(envelope, dict):
        envelope = {}
    original, error = headers.get("x-yl-queue"), headers.get("x-yl-error")
    deaths = headers.get("x-death") or []
    if not original and deaths:  # dead-lettered by the broker (delivery limit), not the chassis
        original = deaths[0].get("queue")
        error = error or f"broker: {deaths[0].get('reason')}"
    attempts = headers.get("x-yl-attempts")
    return DeadLetter(service, original, str(envelope.get("id", "?")),
                      str(envelope.get("type", "?")), str(error or "?"),
                      int(attempts) if attempts is not None else None,
                      str(headers.get("x-yl-failed-at", "")), body,
                      message.content_type or "application/json")


def read_dead_letters(amqp_uri: str, service: str, limit: int = 10_000) -> list[DeadLetter]:
    """The dead letters of one service, oldest first; the queue is left as it was."""
    with Connection(amqp_uri) as connection:
        channel = connection.channel()
        queue = Queue(dead_letter_queue(service).name, no_declare=True)(channel)
        limit = min(limit, _require_queue(connection, queue.name))
        letters = []
        while len(letters) < limit and (message := queue.get(no_ack=False)) is not None:
            letters.append(_as_dead_letter(service, message))
        channel.close()  # unacked: the broker puts them all back
    return letters


def replay_dead_letters(amqp_uri: str, service: str,
                        event_ids: set[str] | None = None) -> list[DeadLetter]:
    """Re-deliver dead letters (all, or those whose event id is given) to the queue each
    failed in; each is removed from the dead-letter queue only once the broker confirmed it."""
    replayed = []
    with Connection(amqp_uri, transport_options={"confirm_publish": True}) as connection:
        channel = connection.channel()
        publisher = connection.Producer(connection.channel())
        queue = Queue(dead_letter_queue(service).name, no_declare=True)(channel)
        waiting = _require_queue(connection, queue.name)  # a letter that fails again comes back
        checked = set()
        for _ in range(waiting):  # behind these: look at each waiting letter once
            if (message := queue.get(no_ack=False)) is None:
                break
            letter = _as_dead_letter(service, message)
            if event_ids is not None and letter.event_id not in event_ids:
                continue
            if not letter.original_queue:
                raise OperationFailed(f"死信 {letter.event_id} 没有记录原队列,无法重放")
            if letter.original_queue not in checked:
                _require_queue(connection, letter.original_queue)
                checked.add(letter.original_queue)
            headers = {k: v for k, v in (message.headers or {}).items()
                       if k not in DEAD_LETTER_HEADERS}
            headers["x-yl-replayed-from"] = queue.name
            publisher.publish(letter.body, exchange="", routing_key=letter.original_queue,
                              content_type=letter.content_type, content_encoding="utf-8",
                              headers=headers, delivery_mode=2, retry=True)
            message.ack()
            replayed.append(letter)
        channel.close()
    return replayed


def _require_queue(connection: Connection, name: str) -> int:
    """How many messages the queue holds; ``OperationFailed`` if it does not exist."""
    channel = connection.channel()
    try:
        return channel.queue_declare(name, passive=True).message_count
    except amqp.exceptions.NotFound:
        raise OperationFailed(f"队列 {name} 不存在") from None
    finally:
        if channel.is_open:
            channel.close()


# --- retained events ------------------------------------------------------------------------

def topic_matches(pattern: str, routing_key: str) -> bool:
    """AMQP topic semantics: ``*`` is exactly one word, ``#`` zero or more words."""
    words, keys = pattern.split("."), routing_key.split(".")

    def match(i: int, j: int) -> bool:
        if i == len(words):
            return j == len(keys)
        if words[i] == "#":
            return any(match(i + 1, k) for k in range(j, len(keys) + 1))
        return j < len(keys) and words[i] in ("*", keys[j]) and match(i + 1, j + 1)

    return match(0, 0)


class _QueuePublisher(ConfirmedPublisher):
    """Publishes to the default exchange (routing key = queue name), confirms per batch."""

    def __init__(self, amqp_uri: str):
        super().__init__(amqp_uri, exchange="")

    def _connect(self):
        connection = Connection(self.amqp_uri)
        connection.connect()
        channel = connection.channel()
        channel.confirm_select()
        channel.events["basic_ack"].add(self._on_ack)
        channel.events["basic_nack"].add(self._on_nack)
        self._connection, self._channel = connection, channel
        self._next_tag, self._unconfirmed, self._nacked = 1, set(), set()


def retained_events(engine: Engine, since: datetime, until: datetime | None = None,
                    pattern: str = "#"):
    """Sent outbox rows created in [since, until), in commit order, whose type matches."""
    outbox = _outbox_table()
    o = outbox.c
    query = select(o.position, o.event_type, o.envelope).where(
        o.sent_at.is_not(None), o.created_at >= _utc(since)).order_by(o.position)
    if until is not None:
        query = query.where(o.created_at < _utc(until))
    with engine.connect() as connection:
        for row in connection.execute(query):
            if topic_matches(pattern, row.event_type):
                yield row


def replay_events(engine: Engine, amqp_uri: str, queue: str, since: datetime,
                  until: datetime | None = None, pattern: str = "#", batch: int = 500) -> int:
    """Publish a service's retained events into one existing queue; returns how many."""
    with Connection(amqp_uri) as connection:
        _require_queue(connection, queue)
    publisher = _QueuePublisher(amqp_uri)
    pending, count = [], 0
    try:
        for row in retained_events(engine, since, until, pattern):
            pending.append((queue, row.envelope))
            if len(pending) >= batch:
                publisher.publish(pending)
                count, pending = count + len(pending), []
        if pending:
            publisher.publish(pending)
            count += len(pending)
    finally:
        publisher.close()
    return count


def _outbox_table():
    metadata = MetaData()
    add_chassis_tables(metadata)
    return metadata.tables[OUTBOX]


def _utc(moment: datetime) -> datetime:
    return (moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment).astimezone(UTC)


# --- status ---------------------------------------------------------------------------------

def process_health(url: str, timeout: float = 3.0) -> tuple[bool, str]:
    """(healthy, detail) from a process's ``/health``."""
    try:
        response = requests.get(f"{url.rstrip('/')}/health", timeout=timeout)
    except requests.RequestException as error:
        return False, f"无法连接 ({type(error).__name__})"
    try:
        payload = response.json()
    except ValueError:
        payload = {}
    if response.status_code == 200:
        return True, payload.get("status", "ok")
    failing = [k for k, v in (payload.get("checks") or {}).items() if v != "ok"]
    return False, f"HTTP {response.status_code}" + (f" ({', '.join(failing)})" if failing else "")


def management_url_for(amqp_uri: str) -> str:
    """``http://user:password@host:15672`` for a broker URI (same credentials)."""
    parsed = urlparse(amqp_uri.replace("pyamqp://", "amqp://"))
    credentials = ""
    if parsed.username:
        credentials = f"{parsed.username}:{parsed.password or ''}@"
    return f"http://{credentials}{parsed.hostname or 'localhost'}:15672"


def vhost_of(amqp_uri: str) -> str:
    path = urlparse(amqp_uri.replace("pyamqp://", "amqp://")).path
    return unquote(path[1:]) if len(path) > 1 else "/"


def broker_queues(management_url: str, vhost: str, timeout: float = 5.0) -> list[dict]:
    """Every queue of the vhost: name, messages, ready, unacked, consumers, type."""
    parsed = urlparse(management_url)
    base = f"{parsed.scheme}://{parsed.hostname}:{parsed.port or 15672}{parsed.path.rstrip('/')}"
    auth = (unquote(parsed.username), unquote(parsed.password or "")) if parsed.username else None
    response = requests.get(f"{base}/api/queues/{quote(vhost, safe='')}", auth=auth,
                            timeout=timeout, params={"columns": "name,messages,messages_ready,"
                                                     "messages_unacknowledged,consumers,type"})
    response.raise_for_status()
    return sorted(({"name": q["name"], "messages": q.get("messages", 0),
                    "ready": q.get("messages_ready", 0),
                    "unacked": q.get("messages_unacknowledged", 0),
                    "consumers": q.get("consumers", 0), "type": q.get("type", "classic")}
                   for q in response.json()), key=lambda q: q["name"])


def outbox_backlog(engine: Engine) -> tuple[int, float]:
    """(unsent events, age in seconds of the oldest) of one service's database."""
    return outbox_status(engine, _outbox_table())
