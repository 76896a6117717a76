"""One database per service: engine, unit of work, transactional outbox and idempotent inbox.

A service writes its state and the events that describe the change in one transaction
(``Transaction.publish`` adds an outbox row). The relay publishes committed rows with
publisher confirms and marks them sent; rows of a rolled-back change never exist. Inside an
event subscription, the first transaction also records the event id in the inbox, so a
redelivered event changes nothing twice.
"""

import json
import logging
from contextlib import contextmanager
from pathlib import Path

from nameko.extensions import DependencyProvider
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    event,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.chassis import clock
from services.chassis.config import ROOT
from services.chassis.events import EventCatalog
from services.chassis.metrics import ContainerRegistry

log = logging.getLogger(__name__)

READ_ONLY = "ylh_read_only"
OUTBOX = "outbox_event"
INBOX = "inbox_event"
ONCE = "once_marker"


def add_chassis_tables(metadata: MetaData) -> None:
    """Give a service's metadata the outbox, inbox and once-marker tables (migrated with it)."""
    Table(
        OUTBOX, metadata,
        Column("position", BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
               autoincrement=True),
        Column("event_id", String(36), nullable=False, unique=True),
        Column("event_type", String(80), nullable=False),
        Column("subject", String(200), nullable=False),
        Column("envelope", Text, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False),
        Column("sent_at", DateTime(timezone=True), nullable=True, index=True),
    )
    Table(
        ONCE, metadata,
        Column("key", String(200), primary_key=True),
        Column("done_at", DateTime(timezone=True), nullable=False),
    )
    Table(
        INBOX, metadata,
        Column("consumer", String(200), primary_key=True),
        Column("event_id", String(36), primary_key=True),
        Column("processed_at", DateTime(timezone=True), nullable=False),
    )


def make_engine(url: str) -> Engine:
    """SQLite file under ``var/`` or PostgreSQL through pg8000 (pure Python, green)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql":
        parsed = parsed.set(drivername="postgresql+pg8000")
        return create_engine(parsed, pool_pre_ping=True, pool_size=10, max_overflow=10)
    if parsed.get_backend_name() != "sqlite":
        raise ValueError(f"unsupported database {parsed.get_backend_name()}")
    if parsed.database and parsed.database != ":memory:":
        path = Path(parsed.database)
        if not path.is_absolute():
            path = ROOT / path
        path.parent.mkdir(parents=True, exist_ok=True)
        parsed = parsed.set(database=str(path))
    engine = create_engine(parsed, connect_args={"timeout": 30, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _sqlite_connect(dbapi_connection, _record):
        # take the write lock at BEGIN: two writers never deadlock on a lock upgrade
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _sqlite_begin(connection):
        read_only = connection.get_execution_options().get(READ_ONLY)
        connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

    return engine


class AlreadyProcessed(Exception):
    """The inbox already holds this event for this consumer: nothing to do."""


class Transaction:
    """A session plus ``publish``: state and events commit together or not at all."""

    def __init__(self, session: Session, catalog: EventCatalog | None, outbox: Table | None):
        self.session = session
        self._catalog = catalog
        self._outbox = outbox

    def once(self, key: str) -> bool:
        """Claim ``key`` for this transaction; False if another already claimed it.

        Timers run in every instance of a service: a periodic effect (``meeting.missed`` for a
        village and month, say) claims its key in the transaction that applies it, so however
        many instances race, it is applied and published once.
        """
        once = self._outbox.metadata.tables[ONCE]
        try:
            with self.session.begin_nested():
                self.session.execute(insert(once).values(key=key, done_at=clock.now()))
        except IntegrityError:
            return False
        return True

    def publish(self, event_type: str, subject: str, data: dict) -> dict:
        envelope = self._catalog.envelope(event_type, subject, data)
        self.session.execute(insert(self._outbox).values(
            event_id=envelope["id"], event_type=event_type, subject=subject,
            envelope=json.dumps(envelope, ensure_ascii=False), created_at=clock.now(),
        ))
        return envelope


@contextmanager
def transaction(engine: Engine, catalog: EventCatalog | None = None,
                outbox: Table | None = None):
    """One unit of work; also used by operator commands that run outside a container."""
    session = Session(engine, expire_on_commit=False)
    try:
        yield Transaction(session, catalog, outbox)
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


class Store:
    """What ``self.db`` is inside a worker."""

    def __init__(self, provider: "Database", worker_ctx=None):
        self._provider = provider
        self._worker_ctx = worker_ctx
        self._inbox_recorded = False

    @property
    def engine(self) -> Engine:
        return self._provider.engine

    @contextmanager
    def transaction(self):
        """Commit on success, roll back on any error; the inbox row rides along."""
        with transaction(self.engine, self._provider.catalog, self._provider.outbox) as tx:
            self._record_inbound_event(tx.session)
            yield tx

    @contextmanager
    def reading(self):
        """A session for queries; loaded objects stay readable after it closes."""
        session = Session(self.engine.execution_options(**{READ_ONLY: True}))
        try:
            yield session
        finally:
            session.close()

    def _record_inbound_event(self, session: Session) -> None:
        inbound = inbound_event(self._worker_ctx)
        if inbound is None or self._inbox_recorded:
            return
        consumer, event_id = inbound
        inbox = self._provider.inbox
        seen = session.execute(select(inbox.c.event_id).where(
            inbox.c.consumer == consumer, inbox.c.event_id == event_id)).first()
        if seen:
            raise AlreadyProcessed(event_id)
        try:
            # two deliveries of one event at once: the second waits for the first, then fails
            with session.begin_nested():
                session.execute(insert(inbox).values(consumer=consumer, event_id=event_id,
                                                     processed_at=clock.now()))
        except IntegrityError as exc:
            raise AlreadyProcessed(event_id) from exc
        self._inbox_recorded = True


def inbound_event(worker_ctx) -> tuple[str, str] | None:
    """(consumer, event id) when the worker handles a subscribed event."""
    if worker_ctx is None or not getattr(worker_ctx.entrypoint, "is_event_subscription", False):
        return None
    envelope = worker_ctx.args[0] if worker_ctx.args else None
    if not isinstance(envelope, dict) or "id" not in envelope:
        return None
    entrypoint = worker_ctx.entrypoint
    return f"{entrypoint.container.service_name}.{entrypoint.method_name}", str(envelope["id"])


class Database(DependencyProvider):
    """The service's own database; runs the outbox relay while the container runs."""

    metrics_registry = ContainerRegistry()

    def __init__(self, metadata: MetaData, catalog: EventCatalog | None = None):
        self.metadata = metadata
        self.catalog = catalog

    def setup(self):
        self.engine = make_engine(self.container.config["DATABASE_URL"])
        self.outbox = self.metadata.tables.get(OUTBOX)
        self.inbox = self.metadata.tables.get(INBOX)
        self.relay = None
        if self.catalog is not None and self.outbox is not None:
            from services.chassis.relay import OutboxRelay

            metrics = self.metrics_registry.metrics
            self.relay = OutboxRelay(self.engine, self.outbox, self.catalog,
                                     self.container.config, metrics)
            metrics.registry.register(OutboxCollector(self.engine, self.outbox, metrics.service))

    def start(self):
        if self.relay is not None and self.container.config.get("OUTBOX_RELAY", True):
            self.container.spawn_managed_thread(self.relay.run)

    def stop(self):
        if self.relay is not None:
            self.relay.stop()
        self.engine.dispose()

    def kill(self):
        self.stop()

    def get_dependency(self, worker_ctx):
        return Store(self, worker_ctx)

    def ping(self) -> None:
        with self.engine.connect() as connection:
            connection.exec_driver_sql("SELECT 1")


def paginate(session: Session, query, page: int, page_size: int) -> tuple[list, int]:
    """One page of an ordered query (1-based) and the total number of rows it matches."""
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    rows = session.execute(query.offset((page - 1) * page_size).limit(page_size)).all()
    return rows, total


def outbox_status(engine: Engine, outbox: Table) -> tuple[int, float]:
    """(unsent rows, age in seconds of the oldest unsent row)."""
    with engine.connect() as connection:
        count, oldest = connection.execute(
            select(func.count(), func.min(outbox.c.created_at)).where(outbox.c.sent_at.is_(None))
        ).one()
    if not oldest:
        return count or 0, 0.0
    if oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=clock.now().tzinfo)
    return count, max(0.0, (clock.now() - oldest).total_seconds())


class OutboxCollector:
    """Outbox backlog and age, read from the database at scrape time (true for all instances)."""

    def __init__(self, engine: Engine, outbox: Table, service: str):
        self.engine, self.outbox, self.service = engine, outbox, service

    def describe(self):
        return self._families()

    def collect(self):
        try:
            count, age = outbox_status(self.engine, self.outbox)
        except Exception:  # noqa: BLE001 - a scrape must not fail with the database
            log.warning("outbox metrics unavailable", exc_info=True)
            return []
        backlog, oldest = self._families()
        backlog.add_metric([self.service], count)
        oldest.add_metric([self.service], age)
        return [backlog, oldest]

    def _families(self):
        return [GaugeMetricFamily("yuelihui_outbox_backlog", "Committed events not yet published.",
                                  labels=["service"]),
                GaugeMetricFamily("yuelihui_outbox_oldest_age_seconds",
                                  "Age of the oldest unpublished event.", labels=["service"])]


def mark_sent(session: Session, outbox: Table, positions: list[int]) -> None:
    session.execute(update(outbox).where(outbox.c.position.in_(positions))
                    .values(sent_at=clock.now()))

