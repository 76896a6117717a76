"""A real Prometheus server (Debian's ``prometheus`` package) on loopback scrapes the running
system: every target is up, the alert rules load, and every metric an alert or a dashboard uses
is exported by some process."""

import shutil
import subprocess
import time

import pytest
import requests
import yaml

from services.chassis.config import ROOT
from services.chassis.operations import declare_subscriptions, find_subscriptions
from services.chassis.subscriptions import subscribe
from services.chassis.web import ObservableService
from tests.conftest import free_port, service_config
from tests.e2e.petitions_support import KEYS_CONFIG
from tests.e2e.test_operations_cli import installed_services
from tests.helpers import wait_for
from tests.unit.test_deploy_monitoring import (
    EXTERNAL_METRICS,
    dashboard_expressions,
    owner,
    queried_metrics,
    rule_expressions,
)

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(shutil.which("prometheus") is None,
                       reason="prometheus not found: apt-get install prometheus (Debian package)"),
]

FAMILY_SUFFIXES = ("_bucket", "_sum", "_count", "_total", "_created")


class Listener(ObservableService):
    """A subscriber, so that consumption metrics have samples."""

    name = "listener"

    @subscribe("registry", "village.*")
    def on_village(self, envelope):
        pass


@pytest.fixture
def prometheus(tmp_path):
    """Start Prometheus on loopback with the given scrape targets; stopped after the test."""
    processes = []

    def start(targets: dict[str, str]) -> str:
        port = free_port()
        config = {
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "rule_files": [str(path) for path in sorted((ROOT / "deploy/prometheus/rules")
                                                        .glob("*.yml"))],
            "scrape_configs": [{"job_name": "yuelihui", "static_configs": [
                {"targets": [address], "labels": {"process": name}}
                for name, address in targets.items()]}],
        }
        path = tmp_path / "prometheus.yml"
        path.write_text(yaml.safe_dump(config))
        log = open(tmp_path / "prometheus.log", "w")  # noqa: SIM115 - closed with the process
        process = subprocess.Popen(
            [shutil.which("prometheus"), f"--config.file={path}",
             f"--storage.tsdb.path={tmp_path / 'data'}",
             f"--web.listen-address=127.0.0.1:{port}"], stdout=log, stderr=log)
        processes.append((process, log))
        url = f"http://127.0.0.1:{port}"
        wait_for(lambda: _ready(url), timeout=30, interval=0.2)
        return url

    yield start
    for process, log in processes:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def _ready(url: str) -> bool:
    try:
        return requests.get(f"{url}/-/ready", timeout=1).status_code == 200
    except requests.RequestException:
        return False


def api(url: str, path: str, **params):
    response = requests.get(f"{url}/api/v1/{path}", params=params, timeout=10)
    response.raise_for_status()
    return response.json()["data"]


def test_prometheus_scrapes_every_process_and_finds_every_metric_it_needs(
        start_system, rabbit_config, container_factory, prometheus):
    # the listener's queue exists before the registry publishes the district
    declare_subscriptions(rabbit_config["AMQP_URI"], find_subscriptions([Listener]), None)
    system = start_system(*installed_services(), extra_config=KEYS_CONFIG)
    listener = service_config(rabbit_config)
    container_factory(Listener, listener).start()
    targets = {name: config["WEB_SERVER_ADDRESS"] for name, config in system.configs.items()}
    targets["listener"] = listener["WEB_SERVER_ADDRESS"]

    # traffic, an error and consumed events, so that labelled series have samples
    admin = system.api.as_user("admin")
    assert admin.get("/villages").status_code == 200
    assert admin.get("/villages/431102999999").status_code == 404
    system.api.as_user(None).get("/no-such-path")

    url = prometheus(targets)

    def all_up():
        active = api(url, "targets")["activeTargets"]
        return active if len(active) == len(targets) and all(
            t["health"] == "up" for t in active) else None

    active = wait_for(all_up, timeout=30, interval=0.5)
    assert {t["labels"]["process"] for t in active} == set(targets)

    groups = api(url, "rules")["groups"]
    loaded = {rule["name"] for group in groups for rule in group["rules"]}
    assert {"YuelihuiProcessDown", "YuelihuiOutboxBacklogStale"} <= loaded
    assert all(rule["health"] != "err" for group in groups for rule in group["rules"])

    wait_for(lambda: api(url, "query", query="yuelihui_events_consumed_total")["result"],
             timeout=20, interval=0.5)
    time.sleep(2)  # one more scrape round for the metadata of every target
    names = set(api(url, "label/__name__/values"))
    families = set(api(url, "metadata"))  # from # TYPE lines: families with no sample yet too

    def exported(metric: str) -> bool:
        if metric in names or metric in families:
            return True
        base = next((metric.removesuffix(s) for s in FAMILY_SUFFIXES if metric.endswith(s)),
                    metric)
        return base in families or f"{base}_total" in families

    assert not exported("yuelihui_no_such_metric_total")
    assert "yuelihui_outbox_relay_failures_total" not in names  # no failure: no sample yet,
    assert exported("yuelihui_outbox_relay_failures_total")  # but the family is exported

    missing = set()
    for where, expr in [*rule_expressions(), *dashboard_expressions()]:
        for metric in queried_metrics(expr):
            if metric in EXTERNAL_METRICS - {"up"}:
                continue  # exported by the broker's plugin, not by a Yuelihui process
            service = owner(metric)
            if service and service not in system.configs:
                continue  # the service is not in this tree yet
            if not exported(metric):
                missing.add(f"{where}: {metric}")
    assert missing == set()

    assert api(url, "query", query='up{process="listener"}')["result"][0]["value"][1] == "1"
