"""docker-compose.yml: valid against the Compose Specification schema, and wired as documented
(every process, its own broker user and database, health checks, start order by health)."""

import copy
import json
import re
from importlib import resources

import pytest
import yaml

from services.chassis.config import ROOT

pytestmark = pytest.mark.unit

PROCESSES = {"gateway": 8000, "registry": 8001, "meetings": 8002, "petitions": 8003,
             "supervision": 8004, "notify": 8005}
SERVICES = [name for name in PROCESSES if name != "gateway"]


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def compose_schema_validator():
    # the Compose Specification schema as vendored (Apache-2.0) by check-jsonschema (PyPI)
    jsonschema = pytest.importorskip("jsonschema", reason="pip install jsonschema")
    pytest.importorskip("check_jsonschema", reason="pip install check-jsonschema (ships the "
                        "Compose Specification schema)")
    path = resources.files("check_jsonschema.builtin_schemas.vendor") / "compose-spec.json"
    schema = json.loads(path.read_text(encoding="utf-8"))
    return jsonschema.validators.validator_for(schema)(schema)


def env_example() -> dict:
    values = {}
    for line in (ROOT / ".env.example").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


def test_compose_file_is_valid_against_the_compose_specification(compose,
                                                                  compose_schema_validator):
    errors = [f"{e.json_path}: {e.message}" for e in compose_schema_validator.iter_errors(compose)]
    assert errors == []


def test_the_schema_check_would_catch_a_broken_file(compose, compose_schema_validator):
    broken = copy.deepcopy(compose)
    broken["services"]["registry"]["depends_on"]["migrate"]["condition"] = "when-it-feels-like-it"
    assert any("when-it-feels-like-it" in error.message
               for error in compose_schema_validator.iter_errors(broken))
    broken = copy.deepcopy(compose)
    broken["services"]["gateway"]["helthcheck"] = broken["services"]["gateway"].pop("healthcheck")
    assert any("helthcheck" in error.message
               for error in compose_schema_validator.iter_errors(broken))


def test_every_process_runs_the_one_image_with_its_own_command_port_and_health(compose):
    services = compose["services"]
    for name, port in PROCESSES.items():
        service = services[name]
        assert service["command"] == [name]
        assert service["image"] == services["migrate"]["image"]
        assert service["build"]["dockerfile"] == "Dockerfile"
        assert service["environment"][f"YLH_{name.upper()}_ADDRESS"] == f"0.0.0.0:{port}"
        assert f"http://127.0.0.1:{port}/health" in " ".join(service["healthcheck"]["test"])
        assert service["read_only"] is True


def test_each_process_has_its_own_broker_user_and_database(compose):
    for name in PROCESSES:
        env = compose["services"][name]["environment"]
        assert env["YLH_AMQP_URI"].startswith(f"pyamqp://{name}:${{{name.upper()}_AMQP_PASSWORD")
        assert env["YLH_AMQP_URI"].endswith("@rabbitmq:5672/yuelihui")
        url = env[f"YLH_{name.upper()}_DATABASE_URL"]
        assert re.fullmatch(rf"postgresql://{name}:\$\{{{name.upper()}_DB_PASSWORD:\?\}}"
                            rf"@postgres:5432/{name}", url), url
        other_databases = [key for key in env if key.endswith("_DATABASE_URL")
                           and key != f"YLH_{name.upper()}_DATABASE_URL"]
        assert other_databases == []
        assert "YLH_JWT_SECRET" not in env or name == "gateway"
    assert "YLH_JWT_SECRET" in compose["services"]["gateway"]["environment"]


def test_services_start_after_migration_and_healthy_infrastructure(compose):
    services = compose["services"]
    migrate = services["migrate"]
    assert migrate["command"] == ["migrate"]
    assert migrate["restart"] == "no"
    assert migrate["depends_on"] == {"rabbitmq": {"condition": "service_healthy"},
                                     "postgres": {"condition": "service_healthy"}}
    for name in PROCESSES:
        depends = services[name]["depends_on"]
        assert depends["migrate"] == {"condition": "service_completed_successfully"}
        assert depends["rabbitmq"] == {"condition": "service_healthy"}
        assert depends["postgres"] == {"condition": "service_healthy"}
    for name in SERVICES:  # the gateway takes traffic only when every service answers
        assert services["gateway"]["depends_on"][name] == {"condition": "service_healthy"}
    for name in ("rabbitmq", "postgres", "prometheus", "grafana"):
        assert services[name]["healthcheck"]["test"]


def test_subscription_queues_are_quorum_queues(compose):
    for name in SERVICES:
        assert compose["services"][name]["environment"]["YLH_EVENT_QUEUE_TYPE"] == "quorum"
    assert compose["services"]["migrate"]["environment"]["YLH_EVENT_QUEUE_TYPE"] == "quorum"


def test_every_variable_comes_from_env_example_and_no_secret_has_a_default(compose):
    text = (ROOT / "docker-compose.yml").read_text(encoding="utf-8")
    defined = env_example()
    for match in re.finditer(r"\$\{([A-Z0-9_]+)(:?[-?])?([^}]*)\}", text):
        name, operator = match.group(1), match.group(2)
        assert name in defined, f"{name} is used by docker-compose.yml but not in .env.example"
        if any(word in name for word in ("PASSWORD", "SECRET", "KEYS")):
            assert operator == ":?", f"{name} must be required, not defaulted"


def test_env_example_has_every_secret_once_and_only_placeholders():
    values = env_example()
    secrets = {k: v for k, v in values.items()
               if any(word in k for word in ("PASSWORD", "SECRET", "KEYS"))}
    assert len(secrets) >= 2 + 2 + 1 + 1 + 6 + 7 + 1
    for key, value in secrets.items():
        assert "change-me" in value, f"{key} must be a placeholder"
        assert re.fullmatch(r"[A-Za-z0-9_-]+", value), f"{key}: URL-safe characters only"
    for secret in ("YLH_ACTOR_SECRET", "YLH_JWT_SECRET"):
        assert len(values[secret]) >= 32


def test_every_mounted_file_exists(compose):
    for name, service in compose["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (ROOT / source).exists(), f"{name} mounts missing {source}"


def test_postgres_init_creates_every_database_from_env(compose):
    script = (ROOT / "deploy/postgres/init-databases.sh").read_text(encoding="utf-8")
    assert "registry meetings petitions supervision notify gateway" in script
    env = compose["services"]["postgres"]["environment"]
    for name in PROCESSES:
        assert f"{name.upper()}_DB_PASSWORD" in env


def test_every_deploy_script_is_valid_posix_shell():
    import subprocess

    scripts = sorted((ROOT / "deploy").rglob("*.sh"))
    assert len(scripts) >= 3
    for script in scripts:
        result = subprocess.run(["sh", "-n", str(script)], capture_output=True, text=True,
                                check=False)
        assert result.returncode == 0, f"{script}: {result.stderr}"
        assert script.read_text().startswith("#!/bin/sh\n")
