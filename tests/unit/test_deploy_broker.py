"""RabbitMQ definitions: the vhost, a user per process with only the permissions it needs,
per-service policies giving event queues a dead-letter exchange. Checked offline by matching
the permission patterns against the names the chassis and nameko use."""

import json
import re

import pytest
import yaml

from services.chassis.config import ROOT
from services.chassis.operations import topic_matches
from services.chassis.subscriptions import DEAD_LETTER_EXCHANGE, subscription_queue

pytestmark = pytest.mark.unit

SERVICES = ("registry", "meetings", "petitions", "supervision", "notify")
DEFINITIONS = json.loads((ROOT / "deploy/rabbitmq/definitions.json").read_text(encoding="utf-8"))
REPLY = "rpc.reply-{}-8c3f0e4a-1d2b-4c5d-9e6f-a7b8c9d0e1f2"


def permissions(user: str) -> dict:
    return next(p for p in DEFINITIONS["permissions"] if p["user"] == user)


def allowed(user: str, kind: str, resource: str) -> bool:
    """RabbitMQ matches the pattern anywhere in the name: ours are all anchored."""
    return re.search(permissions(user)[kind], resource) is not None


def test_one_vhost_and_a_user_per_process_with_no_password_in_the_file():
    assert DEFINITIONS["vhosts"] == [{"name": "yuelihui"}]
    users = {user["name"]: user for user in DEFINITIONS["users"]}
    assert set(users) == {*SERVICES, "gateway", "ops"}
    for name, user in users.items():
        assert user["password"] == f"@{name.upper()}_AMQP_PASSWORD@"
        assert "password_hash" not in user
        assert user["tags"] == (["administrator"] if name == "ops" else [])
    assert {p["vhost"] for p in DEFINITIONS["permissions"]} == {"yuelihui"}
    assert "guest" not in users


@pytest.mark.parametrize("service", SERVICES)
def test_a_service_can_do_what_the_chassis_and_nameko_do(service):
    other = "petitions" if service != "petitions" else "meetings"
    needs = {
        "configure": [f"{service}.events", f"{other}.events",
                      subscription_queue(other, service, "on_event"), f"{service}.dead-letters",
                      DEAD_LETTER_EXCHANGE, "nameko-rpc", f"rpc-{service}",
                      REPLY.format(service)],
        "write": [f"{service}.events", subscription_queue(other, service, "on_event"),
                  f"{service}.dead-letters", DEAD_LETTER_EXCHANGE, "nameko-rpc",
                  f"rpc-{service}", REPLY.format(service)],
        "read": [f"{other}.events", subscription_queue(other, service, "on_event"),
                 DEAD_LETTER_EXCHANGE, "nameko-rpc", f"rpc-{service}", REPLY.format(service)],
    }
    for kind, resources in needs.items():
        for resource in resources:
            assert allowed(service, kind, resource), f"{service} needs {kind} on {resource}"


@pytest.mark.parametrize("service", SERVICES)
def test_a_service_cannot_forge_or_steal_another_services_messages(service):
    other = "petitions" if service != "petitions" else "meetings"
    assert not allowed(service, "write", f"{other}.events")  # publish another's events
    assert not allowed(service, "read", subscription_queue("registry", other, "on_event"))
    assert not allowed(service, "read", f"{other}.dead-letters")
    assert not allowed(service, "read", f"rpc-{other}")  # answer another's RPC calls
    assert not allowed(service, "read", REPLY.format(other))
    assert not allowed(service, "configure", subscription_queue("registry", other, "on_event"))
    assert not allowed(service, "write", "amq.default") and not allowed(service, "write", "")


def test_the_gateway_only_calls_services():
    for kind in ("configure", "write", "read"):
        assert allowed("gateway", kind, "nameko-rpc")
        assert allowed("gateway", kind, REPLY.format("gateway"))
        for service in SERVICES:
            assert not allowed("gateway", kind, f"{service}.events")
            assert not allowed("gateway", kind, f"rpc-{service}")
    assert permissions("ops") == {"user": "ops", "vhost": "yuelihui", "configure": ".*",
                                  "write": ".*", "read": ".*"}


@pytest.mark.parametrize("service", SERVICES)
def test_event_queues_get_a_dead_letter_exchange_that_routes_to_the_services_queue(service):
    queue = subscription_queue("registry", service, "on_village")
    matching = [p for p in DEFINITIONS["policies"] if re.search(p["pattern"], queue)]
    assert len(matching) == 1  # RabbitMQ applies one policy per queue
    policy = matching[0]
    assert policy["apply-to"] == "queues"
    definition = policy["definition"]
    assert definition["dead-letter-exchange"] == DEAD_LETTER_EXCHANGE
    assert definition["delivery-limit"] > 0  # a message that crashes consumers ends up here
    bindings = [b for b in DEFINITIONS["bindings"] if b["source"] == DEAD_LETTER_EXCHANGE
                and topic_matches(b["routing_key"], definition["dead-letter-routing-key"])]
    assert [b["destination"] for b in bindings] == [f"{service}.dead-letters"]
    # and the chassis' own dead letters (routing key <service>.<method>) land there too
    assert topic_matches(bindings[0]["routing_key"], f"{service}.on_village")
    # no policy touches RPC or dead-letter queues
    for name in (f"rpc-{service}", f"{service}.dead-letters", REPLY.format(service)):
        assert not any(re.search(p["pattern"], name) for p in DEFINITIONS["policies"])


def test_exchanges_and_dead_letter_queues_exist_before_any_service_starts():
    exchanges = {e["name"]: e for e in DEFINITIONS["exchanges"]}
    for service in SERVICES:
        assert exchanges[f"{service}.events"]["type"] == "topic"
        assert exchanges[f"{service}.events"]["durable"] is True
    assert exchanges[DEAD_LETTER_EXCHANGE]["type"] == "topic"
    queues = {q["name"]: q for q in DEFINITIONS["queues"]}
    for service in SERVICES:
        # declared exactly as the chassis declares it (durable, no arguments), or it would fail
        assert queues[f"{service}.dead-letters"]["durable"] is True
        assert queues[f"{service}.dead-letters"]["arguments"] == {}


def test_broker_config_loads_the_rendered_definitions_and_the_plugins():
    conf = (ROOT / "deploy/rabbitmq/rabbitmq.conf").read_text()
    assert "load_definitions = /tmp/yuelihui-definitions.json" in conf
    script = (ROOT / "deploy/rabbitmq/render-definitions.sh").read_text()
    assert "target=${YLH_DEFINITIONS_TARGET:-/tmp/yuelihui-definitions.json}" in script
    assert "exec docker-entrypoint.sh" in script
    plugins = (ROOT / "deploy/rabbitmq/enabled_plugins").read_text()
    assert "rabbitmq_management" in plugins and "rabbitmq_prometheus" in plugins
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    environment = compose["services"]["rabbitmq"]["environment"]
    placeholders = set(re.findall(r"@([A-Z_]+)@", json.dumps(DEFINITIONS)))
    assert placeholders == set(environment)
    for placeholder in placeholders:
        assert placeholder.split("_")[0].lower() in script.lower()


def render(tmp_path, **passwords):
    """Run the broker container's entrypoint wrapper with a stand-in docker-entrypoint.sh."""
    import subprocess

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    fake = bin_dir / "docker-entrypoint.sh"
    fake.write_text('#!/bin/sh\necho "broker started with: $*"\n')
    fake.chmod(0o755)
    target = tmp_path / "definitions.json"
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin",
           "YLH_DEFINITIONS_TEMPLATE": str(ROOT / "deploy/rabbitmq/definitions.json"),
           "YLH_DEFINITIONS_TARGET": str(target), **passwords}
    result = subprocess.run(["sh", str(ROOT / "deploy/rabbitmq/render-definitions.sh"),
                             "rabbitmq-server"], env=env, capture_output=True, text=True,
                            timeout=60, check=False)
    return result, target


def test_the_broker_gets_its_definitions_with_the_passwords_from_the_environment(tmp_path):
    users = ("REGISTRY", "MEETINGS", "PETITIONS", "SUPERVISION", "NOTIFY", "GATEWAY", "OPS")
    passwords = {f"{u}_AMQP_PASSWORD": f"pw-{u.lower()}-0123456789" for u in users}
    result, target = render(tmp_path, **passwords)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "broker started with: rabbitmq-server"
    rendered = json.loads(target.read_text())
    assert {u["name"]: u["password"] for u in rendered["users"]} == {
        u.lower(): f"pw-{u.lower()}-0123456789" for u in users}
    assert oct(target.stat().st_mode & 0o777) == "0o600"  # secrets readable by the broker only


def test_the_broker_refuses_to_start_without_a_password_or_with_an_unsafe_one(tmp_path):
    users = ("REGISTRY", "MEETINGS", "PETITIONS", "SUPERVISION", "NOTIFY", "GATEWAY")
    passwords = {f"{u}_AMQP_PASSWORD": "fine-password" for u in users}
    result, target = render(tmp_path, **passwords)
    assert result.returncode == 1
    assert "OPS_AMQP_PASSWORD is not set" in result.stderr
    assert not target.exists()
    result, _ = render(tmp_path, **passwords, OPS_AMQP_PASSWORD='a"b/c')
    assert result.returncode == 1
    assert "OPS_AMQP_PASSWORD: use letters, digits, - and _ only" in result.stderr
