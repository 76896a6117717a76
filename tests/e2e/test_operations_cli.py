"""The operator's CLI against a running system: ``status``, ``declare``, ``dead-letters``
and ``events replay``. The CLI runs as a separate process, as an operator would run it."""

import importlib.util
import json
import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import requests
from kombu import Connection, Queue
from sqlalchemy import select

from services.chassis.config import ROOT
from services.chassis.operations import _outbox_table, outbox_backlog
from services.chassis.store import make_engine
from services.chassis.subscriptions import subscribe
from services.chassis.web import ObservableService
from tests.conftest import free_port, service_config
from tests.e2e.conftest import SERVICE_CLASSES
from tests.e2e.petitions_support import KEYS_CONFIG
from tests.helpers import wait_for

pytestmark = pytest.mark.e2e

MANAGEMENT = "http://guest:guest@127.0.0.1:15672"
HANDLED: list[str] = []
FAILING = {"on": True}


class FlakyAgency(ObservableService):
    """A subscriber whose downstream system is down until the test repairs it."""

    name = "flaky"

    @subscribe("registry", "township.registered")
    def on_township(self, envelope):
        if FAILING["on"]:
            raise RuntimeError("下游系统暂时不可用")
        HANDLED.append(envelope["id"])


def installed_services() -> list[str]:
    return [name for name, path in SERVICE_CLASSES.items() if name != "registry"
            and importlib.util.find_spec(path.partition(":")[0].rpartition(".")[0]) is not None]


def cli_env(rabbit_config, system=None, **extra) -> dict:
    env = {**os.environ, "YLH_AMQP_URI": rabbit_config["AMQP_URI"],
           "YLH_RABBITMQ_MANAGEMENT_URL": MANAGEMENT, "PYTHONWARNINGS": "ignore"}
    if system is not None:
        for name, config in system.configs.items():
            env[f"YLH_{name.upper()}_URL"] = f"http://{config['WEB_SERVER_ADDRESS']}"
            env[f"YLH_{name.upper()}_DATABASE_URL"] = config["DATABASE_URL"]
    env.update(extra)
    return env


def cli(env, *args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "services.cli", *args], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=120, check=False)


def queue_info(rabbit_config, name) -> dict:
    response = requests.get(f"http://127.0.0.1:15672/api/queues/{rabbit_config['vhost']}/{name}",
                            auth=("guest", "guest"), timeout=10)
    response.raise_for_status()
    return response.json()


def depth(rabbit_config, name) -> int:
    """Messages ready in a queue, straight from the broker (no statistics delay)."""
    with Connection(rabbit_config["AMQP_URI"]) as connection:
        return connection.channel().queue_declare(name, passive=True).message_count


def relayed(url: str) -> bool:
    engine = make_engine(url)
    try:
        return outbox_backlog(engine)[0] == 0
    finally:
        engine.dispose()


def test_status_reports_every_running_process_healthy(start_system, rabbit_config):
    names = installed_services()
    system = start_system(*names, extra_config=KEYS_CONFIG)
    wait_for(lambda: relayed(system.registry_url), timeout=20)
    env = cli_env(rabbit_config, system)

    def consumers_counted():  # the management API refreshes its statistics every few seconds
        result = cli(env, "status", "gateway", "registry", *names)
        line = next((line for line in result.stdout.splitlines()
                     if line.split()[:1] == ["rpc-registry"]), "")
        return result if line.split()[4:5] == ["1"] else None

    result = wait_for(consumers_counted, timeout=20, interval=1)

    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    for name in ("gateway", "registry", *names):
        assert any(line.split()[:2] == [name, "健康"] for line in lines), result.stdout
    rpc_queue = next(line for line in lines if line.split()[0] == "rpc-registry")
    assert rpc_queue.split()[4] == "1"  # one consumer: the registry process
    backlog = next(line for line in lines if line.split()[:2] == ["registry", "积压"])
    assert backlog.split()[2] == "0"
    assert "状态: 全部正常" in result.stdout


def test_status_fails_when_a_process_is_down(start_system, rabbit_config, new_database):
    from services.chassis.migrations import upgrade

    system = start_system()
    notify_database = new_database("notify")  # its database is fine; its process is down
    upgrade("notify", notify_database)
    env = cli_env(rabbit_config, system, YLH_NOTIFY_DATABASE_URL=notify_database,
                  YLH_NOTIFY_URL=f"http://127.0.0.1:{free_port()}")

    result = cli(env, "status", "gateway", "registry", "notify")

    assert result.returncode == 1
    assert any(line.split()[:2] == ["notify", "异常"] for line in result.stdout.splitlines())
    assert any(line.split()[:2] == ["registry", "健康"] for line in result.stdout.splitlines())
    assert "1 项异常" in result.stderr


def test_declared_queue_keeps_events_until_the_subscriber_starts_and_dead_letters_replay(
        start_system, rabbit_config, container_factory):
    HANDLED.clear()
    FAILING["on"] = True
    env = cli_env(rabbit_config)

    # before anything publishes: the subscriber's queue exists, as a quorum queue
    declared = cli(env, "declare", "--queue-type", "quorum",
                   "--service-class", f"{__name__}:FlakyAgency")
    assert declared.returncode == 0, declared.stderr
    assert "registry.events--flaky.on_township" in declared.stdout
    assert queue_info(rabbit_config, "registry.events--flaky.on_township")["type"] == "quorum"

    # the registry publishes the district's two townships while no subscriber runs
    system = start_system()
    wait_for(lambda: depth(rabbit_config, "registry.events--flaky.on_township") == 2, timeout=20)

    # the subscriber starts (re-declaring the same queue), fails twice per event: dead letters
    config = service_config(rabbit_config, EVENT_RETRY={"attempts": 2, "backoff": 0.01},
                            EVENT_QUEUE_TYPE="quorum")
    container_factory(FlakyAgency, config).start()
    env = cli_env(rabbit_config, system)

    def dead_letters():
        result = cli(env, "dead-letters", "list", "flaky")
        return result if "flaky.dead-letters: 2 条" in result.stdout else None

    listing = wait_for(dead_letters, timeout=30, interval=0.3).stdout
    assert listing.count("township.registered") == 2
    assert "错误: RuntimeError: 下游系统暂时不可用" in listing
    assert "队列 registry.events--flaky.on_township" in listing
    assert HANDLED == []
    event_ids = [line.split()[0] for line in listing.splitlines()
                 if "township.registered" in line]

    # listing changed nothing
    assert depth(rabbit_config, "flaky.dead-letters") == 2

    # the downstream system is back: replay one, then the rest
    FAILING["on"] = False
    one = cli(env, "dead-letters", "replay", "flaky", "--event-id", event_ids[0])
    assert one.returncode == 0, one.stderr
    assert f"已重放 {event_ids[0]}" in one.stdout
    wait_for(lambda: HANDLED == [event_ids[0]], timeout=15)
    assert "flaky.dead-letters: 1 条" in cli(env, "dead-letters", "list", "flaky").stdout

    unknown = cli(env, "dead-letters", "replay", "flaky", "--event-id", "no-such-event")
    assert unknown.returncode == 1
    assert "没有找到这些死信: no-such-event" in unknown.stderr

    rest = cli(env, "dead-letters", "replay", "flaky", "--all")
    assert rest.returncode == 0, rest.stderr
    assert "共重放 1 条死信" in rest.stdout
    wait_for(lambda: sorted(HANDLED) == sorted(event_ids), timeout=15)
    assert "共 0 条死信" in cli(env, "dead-letters", "list", "flaky").stdout

    refused = cli(env, "dead-letters", "replay", "flaky")
    assert refused.returncode != 0
    assert "--all" in refused.stderr


def test_events_replay_delivers_retained_events_to_a_fresh_queue(start_system, rabbit_config):
    started = datetime.now(UTC) - timedelta(minutes=1)
    system = start_system()
    wait_for(lambda: relayed(system.registry_url), timeout=20)
    engine = make_engine(system.registry_url)
    outbox = _outbox_table()
    with engine.connect() as connection:
        villages = [row.event_id for row in connection.execute(
            select(outbox.c.event_id).where(outbox.c.event_type == "village.registered")
            .order_by(outbox.c.position))]
    engine.dispose()
    assert len(villages) == 3

    # an agency subscribes late with its own fresh queue
    fresh = f"agency-{uuid.uuid4().hex[:8]}"
    with Connection(rabbit_config["AMQP_URI"]) as connection:
        Queue(fresh, durable=True)(connection.channel()).declare()
    env = cli_env(rabbit_config, system)

    result = cli(env, "events", "replay", "registry", "--since", started.isoformat(),
                 "--to-queue", fresh, "--type", "village.*")

    assert result.returncode == 0, result.stderr
    assert "已把 3 个保留事件重放到队列" in result.stdout
    with Connection(rabbit_config["AMQP_URI"]) as connection:
        queue = Queue(fresh, no_declare=True)(connection.channel())
        received = []
        while (message := queue.get(no_ack=True)) is not None:
            received.append(json.loads(message.body))
    assert [event["id"] for event in received] == villages
    assert {event["type"] for event in received} == {"village.registered"}
    assert all(event["specversion"] == "1.0" for event in received)

    later = cli(env, "events", "replay", "registry", "--since",
                (datetime.now(UTC) + timedelta(hours=1)).isoformat(), "--to-queue", fresh)
    assert "已把 0 个保留事件" in later.stdout

    missing = cli(env, "events", "replay", "registry", "--since", started.isoformat(),
                  "--to-queue", "no-such-queue")
    assert missing.returncode == 1
    assert "队列 no-such-queue 不存在" in missing.stderr
