"""The deploy files on real servers: the RabbitMQ definitions load into a broker and enforce
least privilege; the PostgreSQL init script makes a database per service that its own role can
migrate and no other role can enter."""

import json
import os
import shutil
import subprocess
import uuid

import pytest
import requests
from kombu import Connection, Exchange, Queue
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from services.chassis.config import ROOT
from services.chassis.migrations import upgrade
from services.chassis.subscriptions import event_subscription_queue
from tests.conftest import PG_ADMIN_URL
from tests.helpers import wait_for

pytestmark = pytest.mark.e2e

API = "http://127.0.0.1:15672/api"
GUEST = ("guest", "guest")


@pytest.fixture
def broker():
    """deploy/rabbitmq/definitions.json loaded as a throwaway vhost with throwaway users."""
    tag = uuid.uuid4().hex[:8]
    vhost = f"ylh-definitions-{tag}"
    text_ = (ROOT / "deploy/rabbitmq/definitions.json").read_text(encoding="utf-8")
    definitions = json.loads(text_.replace('"yuelihui"', json.dumps(vhost)))
    names = {}
    for user in definitions["users"]:
        names[user["name"]] = f"{tag}-{user['name']}"
        user["name"] = names[user["name"]]
        user["password"] = f"pw-{user['name']}"
    for permission in definitions["permissions"]:
        permission["user"] = names[permission["user"]]
    response = requests.post(f"{API}/definitions", json=definitions, auth=GUEST, timeout=30)
    assert response.status_code in (200, 201, 204), response.text

    def uri(user):
        return f"pyamqp://{names[user]}:pw-{names[user]}@127.0.0.1:5672/{vhost}"

    yield vhost, uri
    requests.delete(f"{API}/vhosts/{vhost}", auth=GUEST, timeout=30)
    for name in names.values():
        requests.delete(f"{API}/users/{name}", auth=GUEST, timeout=30)


def policy_applied(vhost: str, queue: str) -> dict:
    """The queue's details once the broker has applied a policy to it (takes a moment)."""
    def info():
        details = requests.get(f"{API}/queues/{vhost}/{queue}", auth=GUEST, timeout=10).json()
        return details if details.get("policy") else None

    return wait_for(info, timeout=15, interval=0.2)


def refused(action) -> bool:
    try:
        action()
    except Exception as error:  # noqa: BLE001 - the broker closes the channel with 403
        return "ACCESS_REFUSED" in str(error) or "403" in str(error)
    return False


def test_definitions_load_and_each_service_can_do_its_own_work_only(broker):
    vhost, uri = broker
    queue = event_subscription_queue("petitions", "meetings", "on_referral",
                                     "petition.referred_to_meeting", "quorum")
    with Connection(uri("meetings"), transport_options={"confirm_publish": True}) as meetings:
        queue(meetings.channel()).declare()
        producer = meetings.Producer(meetings.channel())
        producer.publish({"ok": 1}, exchange=Exchange("meetings.events", type="topic"),
                         routing_key="meeting.held", retry=False)
        Queue("meetings.dead-letters", durable=True)(meetings.channel()).declare()
        assert refused(lambda: meetings.Producer(meetings.channel()).publish(
            {"forged": 1}, exchange=Exchange("petitions.events", type="topic"),
            routing_key="petition.received", retry=False))
        assert refused(lambda: Queue("registry.events--notify.on_any", no_declare=True)(
            meetings.channel()).get())

    with Connection(uri("gateway")) as gateway:
        assert refused(lambda: Exchange("registry.events", type="topic", durable=True)(
            gateway.channel()).declare())

    info = policy_applied(vhost, queue.name)
    assert info["type"] == "quorum"
    assert info["policy"] == "event-queues-meetings"
    assert info["effective_policy_definition"]["dead-letter-exchange"] == "yuelihui.dead-letters"


def test_a_message_the_broker_dead_letters_lands_in_the_services_dead_letter_queue(broker):
    vhost, uri = broker
    # quorum, as in production: RabbitMQ 3.10 applies no policy with a delivery-limit to classic
    queue = event_subscription_queue("registry", "notify", "on_village", "village.*", "quorum")
    with Connection(uri("ops"), transport_options={"confirm_publish": True}) as ops:
        queue(ops.channel()).declare()
        assert policy_applied(vhost, queue.name)["policy"] == "event-queues-notify"
        ops.Producer(ops.channel()).publish(
            {"id": "e-1", "type": "village.registered"},
            exchange=Exchange("registry.events", type="topic"), routing_key="village.registered")
        message = queue(ops.channel()).get()
        message.reject(requeue=False)  # what the broker does past the delivery limit
        letters = Queue("notify.dead-letters", no_declare=True)(ops.channel())
        dead = wait_for(lambda: letters.get(no_ack=True), timeout=10)
    assert json.loads(dead.body)["id"] == "e-1"
    assert dead.headers["x-death"][0]["queue"] == queue.name


@pytest.mark.skipif(shutil.which("psql") is None or
                    os.environ.get("YLH_TEST_DB") != "postgresql",
                    reason="needs psql and PostgreSQL (YLH_TEST_DB=postgresql)")
def test_postgres_init_script_gives_each_service_its_own_database(tmp_path):
    tag = uuid.uuid4().hex[:8]
    names = [f"ylh_{tag}_registry", f"ylh_{tag}_gateway"]
    admin_url = make_url(PG_ADMIN_URL)
    env = {**os.environ, "YLH_DATABASES": " ".join(names),
           "PGHOST": admin_url.host or "127.0.0.1", "PGPORT": str(admin_url.port or 5432),
           "POSTGRES_USER": admin_url.username or "postgres"}
    for name in names:
        env[f"{name.upper()}_DB_PASSWORD"] = f"pw-{name}"
    if admin_url.password:
        env["PGPASSWORD"] = admin_url.password
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        for _ in range(2):  # running it again changes nothing
            result = subprocess.run(["sh", str(ROOT / "deploy/postgres/init-databases.sh")],
                                    env=env, capture_output=True, text=True, timeout=120,
                                    check=False)
            assert result.returncode == 0, result.stderr
        host = f"{admin_url.host or '127.0.0.1'}:{admin_url.port or 5432}"
        registry_url = f"postgresql://{names[0]}:pw-{names[0]}@{host}/{names[0]}"
        upgrade("registry", registry_url)  # the service's own role can migrate its database
        engine = create_engine(registry_url.replace("postgresql://", "postgresql+pg8000://"))
        with engine.connect() as connection:
            owner = connection.execute(text(
                "SELECT tableowner FROM pg_tables WHERE tablename = 'outbox_event'")).scalar()
        engine.dispose()
        assert owner == names[0]
        intruder = create_engine(
            f"postgresql+pg8000://{names[1]}:pw-{names[1]}@{host}/{names[0]}")
        with pytest.raises(Exception, match="permission denied"):
            intruder.connect().close()
        intruder.dispose()
    finally:
        with admin.connect() as connection:
            for name in names:
                connection.execute(text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"),
                    {"n": name})
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
                connection.execute(text(f'DROP ROLE IF EXISTS "{name}"'))
        admin.dispose()
