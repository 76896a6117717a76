"""The transactional outbox and the idempotent inbox, on a real broker and database."""

import eventlet
import pytest
from kombu import Connection
from sqlalchemy import String, func, select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.chassis import relay
from services.chassis.errors import ValidationFailed
from services.chassis.migrations import upgrade
from services.chassis.store import OUTBOX, Database, add_chassis_tables, make_engine
from services.chassis.subscriptions import dead_letter_queue, subscribe
from services.cli import registry_transaction
from services.registry.models import Base as RegistryBase
from services.registry.service import RegistryService
from tests.conftest import TEST_DB, service_config
from tests.helpers import EventTap, publish_raw, rpc_as, sample, wait_for

pytestmark = pytest.mark.service


def township(code="431102101", name="测试镇"):
    return {"code": code, "name": name, "kind": "township"}


def outbox_rows(url):
    table = RegistryBase.metadata.tables[OUTBOX]
    with make_engine(url).connect() as connection:
        return connection.execute(select(table.c.event_id, table.c.event_type,
                                         table.c.sent_at).order_by(table.c.position)).all()


def test_a_rolled_back_change_publishes_nothing(registry, registry_config):
    tap = EventTap(registry_config["AMQP_URI"], ("registry",))
    bad_file = ("code,name,kind\n431102101,一镇,township\n431102102,二镇,township\n"
                "4311021,坏,township\n")
    with rpc_as(registry_config) as rpc:
        with pytest.raises(ValidationFailed):
            rpc.registry.import_csv(data={"kind": "townships", "csv": bad_file})
        # the two valid rows published events in the rolled-back transaction: none may exist
        assert outbox_rows(registry_config["DATABASE_URL"]) == []
        rpc.registry.register_township(data=township("431102109", "后来镇"))
    wait_for(lambda: tap.drain())
    eventlet.sleep(0.3)
    assert [e["data"]["code"] for e in tap.drain()] == ["431102109"]


def test_events_committed_while_the_relay_is_down_are_published_when_it_runs(
        container_factory, registry_config):
    url = registry_config["DATABASE_URL"]
    tap = EventTap(registry_config["AMQP_URI"], ("registry",))
    with registry_transaction(url) as tx:  # no registry process is running
        for index in range(3):
            tx.publish("township.registered", f"township/43110210{index}",
                       township(f"43110210{index}", f"镇{index}"))
    assert [row.sent_at for row in outbox_rows(url)] == [None, None, None]
    assert tap.drain() == []

    container_factory(RegistryService, registry_config).start()
    wait_for(lambda: len(tap.drain()) == 3)
    assert [e["data"]["code"] for e in tap.events] == ["431102100", "431102101", "431102102"]
    assert all(row.sent_at is not None for row in outbox_rows(url))


def test_the_relay_confirms_many_rows_per_round(container_factory, registry_config,
                                                monkeypatch):
    url = registry_config["DATABASE_URL"]
    rounds = []
    original = relay.ConfirmedPublisher.publish

    def counting(self, messages):
        rounds.append(len(messages))
        return original(self, messages)

    monkeypatch.setattr(relay.ConfirmedPublisher, "publish", counting)
    tap = EventTap(registry_config["AMQP_URI"], ("registry",))
    with registry_transaction(url) as tx:
        for index in range(450):
            tx.publish("township.registered", f"township/{index}",
                       township(f"431102{index:03d}", f"镇{index}"))
    container_factory(RegistryService, {**registry_config, "OUTBOX": {"batch": 200}}).start()
    wait_for(lambda: len(tap.drain()) == 450, timeout=30)
    assert sum(rounds) == 450 and rounds[:3] == [200, 200, 50]
    assert len({event["id"] for event in tap.events}) == 450


@pytest.mark.skipif(TEST_DB != "postgresql", reason="row locks (SKIP LOCKED) need PostgreSQL; "
                    "SQLite is the single-process embedded default")
def test_two_instances_never_publish_a_row_twice(container_factory, registry_config):
    url = registry_config["DATABASE_URL"]
    tap = EventTap(registry_config["AMQP_URI"], ("registry",))
    with registry_transaction(url) as tx:
        for index in range(600):
            tx.publish("township.registered", f"township/{index}",
                       township(f"431102{index:03d}", f"镇{index}"))
    small_batches = {**registry_config, "OUTBOX": {"batch": 20, "interval": 0.01}}
    for _ in range(2):
        container_factory(RegistryService, dict(small_batches)).start()
    wait_for(lambda: len(tap.drain()) >= 600, timeout=60)
    eventlet.sleep(0.5)
    ids = [event["id"] for event in tap.drain()]
    assert len(ids) == 600 and len(set(ids)) == 600


# --- the inbox ---------------------------------------------------------------------------

class ProbeBase(DeclarativeBase):
    pass


add_chassis_tables(ProbeBase.metadata)


class Seen(ProbeBase):
    __tablename__ = "seen"
    event_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    code: Mapped[str] = mapped_column(String(12))


class ProbeService:
    """A consumer of registry events, as any service or agency would write one."""

    name = "probe"
    db = Database(ProbeBase.metadata)
    attempts = 0

    @subscribe("registry", "village.registered")
    def on_village_registered(self, envelope):
        with self.db.transaction() as tx:
            tx.session.add(Seen(event_id=envelope["id"], code=envelope["data"]["code"]))

    @subscribe("registry", "village.updated")
    def on_village_updated(self, envelope):
        ProbeService.attempts += 1
        raise RuntimeError("村信息处理失败")


@pytest.fixture
def probe(container_factory, rabbit_config, database_url):
    ProbeBase.metadata.create_all(make_engine(database_url))
    ProbeService.attempts = 0
    container = container_factory(ProbeService, service_config(rabbit_config, database_url))
    container.start()
    return container


def village_event(code="431102101001"):
    from services.registry.schemas import EVENTS

    return EVENTS.envelope("village.registered", f"village/{code}", {
        "code": code, "name": "一村", "township_code": code[:9], "kind": "village",
        "pilot": False, "active": True})


def seen_rows(url):
    with make_engine(url).connect() as connection:
        return connection.execute(select(func.count()).select_from(Seen)).scalar()


def test_a_redelivered_event_is_applied_once(probe, rabbit_config, database_url):
    envelope = village_event()
    for _ in range(3):
        publish_raw(rabbit_config["AMQP_URI"], "registry", "village.registered", envelope)
    wait_for(lambda: sample(probe, "yuelihui_events_consumed_total", service="probe",
                            consumer="probe.on_village_registered", outcome="duplicate") == 2)
    assert seen_rows(database_url) == 1
    assert sample(probe, "yuelihui_events_consumed_total", service="probe",
                  consumer="probe.on_village_registered", outcome="applied") == 1


def test_a_failing_handler_is_retried_then_dead_lettered(probe, rabbit_config):
    envelope = village_event()
    envelope["type"] = "village.updated"
    publish_raw(rabbit_config["AMQP_URI"], "registry", "village.updated", envelope)
    consumer = "probe.on_village_updated"
    wait_for(lambda: sample(probe, "yuelihui_events_consumed_total", service="probe",
                            consumer=consumer, outcome="dead_lettered") == 1)
    assert ProbeService.attempts == 3  # EVENT_RETRY.attempts in the test config
    with Connection(rabbit_config["AMQP_URI"]) as connection:
        queue = dead_letter_queue("probe")(connection.channel())
        message = queue.get(no_ack=True)
    assert message is not None
    assert message.headers["x-yl-queue"] == "registry.events--probe.on_village_updated"
    assert message.headers["x-yl-attempts"] == 3
    assert "村信息处理失败" in message.headers["x-yl-error"]
    assert message.payload["id"] == envelope["id"]


def test_migrations_create_every_table(database_url):
    upgrade("registry", database_url)
    from sqlalchemy import inspect

    tables = set(inspect(make_engine(database_url)).get_table_names())
    assert set(RegistryBase.metadata.tables) <= tables


def test_sent_events_are_kept_for_the_retention_period_then_purged(registry_config):
    from datetime import UTC, datetime, timedelta

    from services.chassis import clock
    from services.chassis.metrics import ContainerMetrics
    from services.registry.schemas import EVENTS

    url = registry_config["DATABASE_URL"]
    clock.set_now(datetime(2026, 1, 1, tzinfo=UTC))
    with registry_transaction(url) as tx:
        for index in range(3):
            tx.publish("township.registered", f"township/{index}",
                       township(f"43110210{index}", f"镇{index}"))
    engine = make_engine(url)
    table = RegistryBase.metadata.tables[OUTBOX]
    relay_ = relay.OutboxRelay(engine, table, EVENTS, {
        "AMQP_URI": registry_config["AMQP_URI"], "OUTBOX": {"retention_days": 30}},
        ContainerMetrics("registry"))
    with engine.begin() as connection:  # two published, one still waiting for the broker
        positions = [row.position for row in connection.execute(select(table.c.position))]
        connection.execute(table.update().where(table.c.position.in_(positions[:2]))
                           .values(sent_at=clock.now()))
    clock.advance(timedelta(days=29))
    assert relay_.purge_sent() == 0  # a subscriber may still ask for a replay
    clock.advance(timedelta(days=2))
    assert relay_.purge_sent() == 2
    remaining = outbox_rows(url)
    assert len(remaining) == 1 and remaining[0].sent_at is None  # unsent rows are never purged
    engine.dispose()
