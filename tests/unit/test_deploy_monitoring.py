"""Prometheus config and alert rules (promtool, from Debian's ``prometheus`` package) and the
Grafana dashboards: valid, and every metric they query is one that the code exports."""

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from services.chassis.config import ROOT

pytestmark = pytest.mark.unit

PROMETHEUS = ROOT / "deploy/prometheus"
RULES = sorted((PROMETHEUS / "rules").glob("*.yml"))
DASHBOARDS = sorted((ROOT / "deploy/grafana/dashboards").glob("*.json"))
PROCESS_PORTS = {"gateway": 8000, "registry": 8001, "meetings": 8002, "petitions": 8003,
                 "supervision": 8004, "notify": 8005}
# exported by the broker's rabbitmq_prometheus plugin (per-object metrics on), and by Prometheus
EXTERNAL_METRICS = {"rabbitmq_queue_messages", "rabbitmq_queue_messages_ready",
                    "rabbitmq_queue_consumers", "up"}
REQUIRED_ALERTS = {"YuelihuiProcessDown", "YuelihuiOutboxBacklogStale", "YuelihuiDeadLetters",
                   "YuelihuiNotificationFailuresRising", "YuelihuiOverduePetitionsRising",
                   "YuelihuiVillagesWithoutMeeting"}
DOMAIN_SERVICES = ("meetings", "petitions", "supervision", "notify")

promtool = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(
    promtool is None, reason="promtool not found: apt-get install prometheus (Debian package)")


# --- what the code exports -------------------------------------------------------------------

METRIC_CONSTRUCTOR = re.compile(
    r"\b(Counter|Gauge|Histogram|Summary|Info|Enum|CounterMetricFamily|GaugeMetricFamily|"
    r"HistogramMetricFamily|SummaryMetricFamily)\(\s*[\"']([a-zA-Z_:][a-zA-Z0-9_:]*)[\"']")
SUFFIXES = {"Counter": ("_total", "_created"), "CounterMetricFamily": ("_total",),
            "Histogram": ("_bucket", "_sum", "_count", "_created"),
            "HistogramMetricFamily": ("_bucket", "_sum", "_count"),
            "Summary": ("", "_sum", "_count", "_created"),
            "SummaryMetricFamily": ("", "_sum", "_count"), "Info": ("_info",)}


def exported_metrics() -> set[str]:
    """Every sample name that a prometheus_client metric defined in the code exports."""
    names = set()
    for path in [*(ROOT / "services").rglob("*.py"), *(ROOT / "gateway").rglob("*.py")]:
        for kind, name in METRIC_CONSTRUCTOR.findall(path.read_text(encoding="utf-8")):
            base = name.removesuffix("_total") if kind.startswith("Counter") else name
            names.update(base + suffix for suffix in SUFFIXES.get(kind, ("",)))
    return names


def queried_metrics(expr: str) -> set[str]:
    """Metric names in a PromQL expression (label matchers and grouping clauses removed)."""
    expr = re.sub(r'"(?:\\.|[^"\\])*"', '""', expr)
    expr = re.sub(r"\{[^}]*\}", "", expr)
    expr = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", expr)
    names = set(re.findall(r"\b((?:yuelihui|rabbitmq)_[a-zA-Z0-9_:]+)\b", expr))
    if re.search(r"\bup\b(?!\s*\()", expr):
        names.add("up")
    return names


def owner(metric: str) -> str | None:
    """The domain service whose package must export a ``yuelihui_<service>_...`` metric."""
    for service in DOMAIN_SERVICES:
        if metric.startswith(f"yuelihui_{service}_"):
            return service
    return None


def rule_expressions() -> list[tuple[str, str]]:
    found = []
    for path in RULES:
        for group in yaml.safe_load(path.read_text(encoding="utf-8"))["groups"]:
            for rule in group["rules"]:
                found.append((rule.get("alert") or rule.get("record"), rule["expr"]))
    return found


def dashboard_expressions() -> list[tuple[str, str]]:
    found = []
    for path in DASHBOARDS:
        for panel in json.loads(path.read_text(encoding="utf-8"))["panels"]:
            for target in panel.get("targets", []):
                found.append((f"{path.stem}: {panel['title']}", target["expr"]))
    return found


def test_the_metric_list_is_derived_from_the_code():
    names = exported_metrics()
    assert {"yuelihui_entrypoint_calls_total", "yuelihui_entrypoint_latency_seconds_bucket",
            "yuelihui_outbox_backlog", "yuelihui_outbox_oldest_age_seconds",
            "yuelihui_http_requests_total"} <= names
    assert queried_metrics('sum by (route) (rate(yuelihui_http_requests_total{route=~"x"}[5m]))'
                           ) == {"yuelihui_http_requests_total"}
    assert queried_metrics('up{job="yuelihui"} == 0') == {"up"}


def check_known(where: str, expr: str, exported: set[str]) -> list[str]:
    problems = []
    for metric in queried_metrics(expr):
        if metric in exported or metric in EXTERNAL_METRICS:
            continue
        service = owner(metric)
        if service and not (ROOT / "services" / service / "service.py").exists():
            continue  # checked by test_domain_metrics_are_exported_by_their_service
        problems.append(f"{where}: {metric}")
    return problems


def test_every_metric_in_alerts_and_dashboards_is_exported():
    exported = exported_metrics()
    problems = []
    for where, expr in [*rule_expressions(), *dashboard_expressions()]:
        problems += check_known(where, expr, exported)
    assert problems == []


@pytest.mark.parametrize("service", DOMAIN_SERVICES)
def test_domain_metrics_are_exported_by_their_service(service):
    used = {metric for _, expr in [*rule_expressions(), *dashboard_expressions()]
            for metric in queried_metrics(expr) if owner(metric) == service}
    if not (ROOT / "services" / service / "service.py").exists():
        pytest.skip(f"services/{service} is not in this tree: cannot check {sorted(used)}")
    assert used - exported_metrics() == set()


# --- Prometheus --------------------------------------------------------------------------------

def test_every_process_is_scraped_on_its_port():
    config = yaml.safe_load((PROMETHEUS / "prometheus.yml").read_text(encoding="utf-8"))
    job = next(job for job in config["scrape_configs"] if job["job_name"] == "yuelihui")
    targets = {static["labels"]["process"]: static["targets"] for static in job["static_configs"]}
    assert targets == {name: [f"{name}:{port}"] for name, port in PROCESS_PORTS.items()}
    assert any(job["job_name"] == "rabbitmq" for job in config["scrape_configs"])
    assert config["rule_files"] == ["rules/*.yml"]


def test_every_required_alert_exists_with_a_runbook_entry():
    alerts = {}
    for path in RULES:
        for group in yaml.safe_load(path.read_text(encoding="utf-8"))["groups"]:
            for rule in group["rules"]:
                if "alert" in rule:
                    alerts[rule["alert"]] = rule
    assert REQUIRED_ALERTS <= set(alerts)
    operations = (ROOT / "docs/operations.md").read_text(encoding="utf-8")
    for name, rule in alerts.items():
        assert rule["labels"]["severity"] in ("critical", "warning", "info")
        assert rule["annotations"]["runbook"] == f"docs/operations.md#{name.lower()}"
        assert re.search(rf"^### {name}$", operations, re.M), f"no runbook entry for {name}"


@needs_promtool
def test_promtool_accepts_the_prometheus_config():
    result = subprocess.run([promtool, "check", "config", str(PROMETHEUS / "prometheus.yml")],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{len(RULES)} rule files found" in result.stdout


@needs_promtool
def test_promtool_accepts_the_alert_rules():
    result = subprocess.run([promtool, "check", "rules", *map(str, RULES)],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


@needs_promtool
def test_promtool_would_refuse_a_broken_rule(tmp_path):
    broken = tmp_path / "broken.yml"
    broken.write_text("groups:\n  - name: x\n    rules:\n      - alert: Broken\n"
                      "        expr: sum(rate(yuelihui_http_requests_total[5m])\n")
    result = subprocess.run([promtool, "check", "rules", str(broken)], capture_output=True,
                            text=True, check=False)
    assert result.returncode != 0


@needs_promtool
def test_every_dashboard_query_is_valid_promql(tmp_path):
    """promtool has no query linter: check the dashboards' queries as recording rules."""
    rules = [{"record": f"dashboard:query_{n}", "expr": expr}
             for n, (_, expr) in enumerate(dashboard_expressions())]
    path = tmp_path / "dashboards.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboards", "rules": rules}]},
                                   allow_unicode=True))
    result = subprocess.run([promtool, "check", "rules", str(path)], capture_output=True,
                            text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{len(rules)} rules found" in result.stdout


# --- Grafana ---------------------------------------------------------------------------------

def test_dashboards_are_provisioned_with_the_provisioned_data_source():
    datasources = yaml.safe_load(
        (ROOT / "deploy/grafana/provisioning/datasources/prometheus.yml").read_text())
    uid = datasources["datasources"][0]["uid"]
    provider = yaml.safe_load(
        (ROOT / "deploy/grafana/provisioning/dashboards/yuelihui.yml").read_text())
    assert provider["providers"][0]["options"]["path"] == "/etc/grafana/dashboards"
    assert {path.stem for path in DASHBOARDS} == {"yuelihui-platform", "yuelihui-practice"}
    uids = set()
    for path in DASHBOARDS:
        dashboard = json.loads(path.read_text(encoding="utf-8"))
        assert dashboard["uid"] == path.stem and dashboard["uid"] not in uids
        uids.add(dashboard["uid"])
        assert dashboard["panels"], path
        ids = [panel["id"] for panel in dashboard["panels"]]
        assert len(ids) == len(set(ids))
        for panel in dashboard["panels"]:
            assert panel["datasource"]["uid"] == uid
            assert panel["targets"] and all(target["expr"].strip() for target in panel["targets"])
            grid = panel["gridPos"]
            assert 0 <= grid["x"] and grid["x"] + grid["w"] <= 24


def test_the_platform_dashboard_covers_traffic_latency_errors_queues_outbox_dead_letters():
    queried = set()
    for where, expr in dashboard_expressions():
        if where.startswith("yuelihui-platform"):
            queried |= queried_metrics(expr)
    assert {"yuelihui_http_requests_total", "yuelihui_http_latency_seconds_bucket",
            "yuelihui_entrypoint_errors_total", "yuelihui_entrypoint_latency_seconds_bucket",
            "rabbitmq_queue_messages", "yuelihui_outbox_backlog",
            "yuelihui_outbox_oldest_age_seconds", "yuelihui_events_consumed_total"} <= queried


def test_compose_mounts_the_monitoring_files_where_the_configs_expect_them():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    prometheus = compose["services"]["prometheus"]["volumes"]
    assert "./deploy/prometheus/prometheus.yml:/etc/prometheus/prometheus.yml:ro" in prometheus
    assert "./deploy/prometheus/rules:/etc/prometheus/rules:ro" in prometheus
    grafana = compose["services"]["grafana"]["volumes"]
    assert "./deploy/grafana/dashboards:/etc/grafana/dashboards:ro" in grafana
    assert Path("/etc/grafana/provisioning") == Path(
        next(v for v in grafana if "provisioning" in v).split(":")[1])


# --- the alerts fire when they should (promtool test rules, on synthetic series) -------------

RULE_TESTS = [
    {"interval": "1m",
     "input_series": [
         {"series": 'up{job="yuelihui", instance="registry:8001", process="registry"}',
          "values": "1 1 0 0 0 0 0"},
         {"series": 'up{job="yuelihui", instance="gateway:8000", process="gateway"}',
          "values": "1x6"}],
     "alert_rule_test": [
         {"eval_time": "2m", "alertname": "YuelihuiProcessDown", "exp_alerts": []},
         {"eval_time": "5m", "alertname": "YuelihuiProcessDown", "exp_alerts": [
             {"exp_labels": {"severity": "critical", "job": "yuelihui",
                             "instance": "registry:8001", "process": "registry"}}]}]},
    {"interval": "1m",
     "input_series": [
         {"series": 'yuelihui_outbox_oldest_age_seconds{service="registry", instance="a"}',
          "values": "0 100 200 400 500 600 700 800"},
         {"series": 'yuelihui_outbox_oldest_age_seconds{service="meetings", instance="b"}',
          "values": "0x8"}],
     "alert_rule_test": [
         {"eval_time": "3m", "alertname": "YuelihuiOutboxBacklogStale", "exp_alerts": []},
         {"eval_time": "6m", "alertname": "YuelihuiOutboxBacklogStale", "exp_alerts": [
             {"exp_labels": {"severity": "warning", "service": "registry"}}]}]},
    {"interval": "1m",
     "input_series": [
         {"series": 'rabbitmq_queue_messages{queue="meetings.dead-letters", vhost="yuelihui"}',
          "values": "0 0 2 2 2 2"},
         {"series": 'rabbitmq_queue_messages{queue="registry.events--meetings.on_x"}',
          "values": "5x6"}],
     "alert_rule_test": [
         {"eval_time": "5m", "alertname": "YuelihuiDeadLetters", "exp_alerts": [
             {"exp_labels": {"severity": "warning", "queue": "meetings.dead-letters"}}]}]},
    {"interval": "1m",
     "input_series": [
         {"series": 'yuelihui_events_consumed_total{service="meetings", '
                    'consumer="meetings.on_x", outcome="dead_lettered"}', "values": "0 0 1 1 1"},
         {"series": 'yuelihui_events_consumed_total{service="meetings", '
                    'consumer="meetings.on_y", outcome="applied"}', "values": "0 5 10 15 20"}],
     "alert_rule_test": [
         {"eval_time": "3m", "alertname": "YuelihuiEventsDeadLettered", "exp_alerts": [
             {"exp_labels": {"severity": "warning", "service": "meetings",
                             "consumer": "meetings.on_x"}}]}]},
    {"interval": "1m",
     "input_series": [
         {"series": 'yuelihui_http_requests_total{route="/x", method="GET", status="500"}',
          "values": "0+10x20"},
         {"series": 'yuelihui_http_requests_total{route="/x", method="GET", status="200"}',
          "values": "0+10x20"}],
     "alert_rule_test": [
         {"eval_time": "3m", "alertname": "YuelihuiApiErrors", "exp_alerts": []},
         {"eval_time": "12m", "alertname": "YuelihuiApiErrors", "exp_alerts": [
             {"exp_labels": {"severity": "warning"}}]}]},
    # series every 5m at most: an instant query looks back 5m for a sample
    {"interval": "5m",  # a quiet day, then 25 failures every five minutes
     "input_series": [
         {"series": 'yuelihui_notify_delivery_attempts_total{channel="sms", outcome="failed"}',
          "values": "0+1x288 288+25x24"},
         {"series": 'yuelihui_notify_delivery_attempts_total{channel="sms", outcome="ok"}',
          "values": "0+100x312"}],
     "alert_rule_test": [
         {"eval_time": "23h", "alertname": "YuelihuiNotificationFailuresRising",
          "exp_alerts": []},
         {"eval_time": "26h", "alertname": "YuelihuiNotificationFailuresRising",
          "exp_alerts": [{"exp_labels": {"severity": "warning"}}]}]},
    {"interval": "5m",
     "input_series": [{"series": 'yuelihui_petitions_overdue{instance="a", stage="handling"}',
                       "values": "5x288 8x24"}],
     "alert_rule_test": [
         {"eval_time": "23h", "alertname": "YuelihuiOverduePetitionsRising", "exp_alerts": []},
         {"eval_time": "26h", "alertname": "YuelihuiOverduePetitionsRising",
          "exp_alerts": [{"exp_labels": {"severity": "warning"}}]}]},
    {"interval": "5m",  # the test clock starts on 1970-01-01 00:00 UTC
     "input_series": [
         {"series": 'yuelihui_meetings_villages{status="not_scheduled"}',
          "values": "3x7000"}],
     "alert_rule_test": [
         # 24 January 23:00 in Asia/Shanghai: not yet the 25th
         {"eval_time": "567h", "alertname": "YuelihuiVillagesWithoutMeeting", "exp_alerts": []},
         # 25 January 09:00 in Asia/Shanghai (01:00 UTC)
         {"eval_time": "577h", "alertname": "YuelihuiVillagesWithoutMeeting", "exp_alerts": [
             {"exp_labels": {"severity": "info"}}]}]},
]


@needs_promtool
def test_each_alert_fires_when_it_should_and_not_before(tmp_path):
    tested = {case["alertname"] for test in RULE_TESTS for case in test["alert_rule_test"]}
    alerts = {name for name, _ in rule_expressions()}
    assert tested == alerts, "every alert needs a promtool test case"
    rule_files = []
    for path in RULES:  # annotations are prose for people: the test checks when alerts fire
        rules = yaml.safe_load(path.read_text(encoding="utf-8"))
        for group in rules["groups"]:
            for rule in group["rules"]:
                rule.pop("annotations", None)
        copy = tmp_path / path.name
        copy.write_text(yaml.safe_dump(rules, allow_unicode=True))
        rule_files.append(str(copy))
    # tests spanning days are evaluated every 30 minutes, or promtool takes a minute
    files = []
    for name, interval, cases in (
            ("minutes", "1m", [t for t in RULE_TESTS if t["interval"] == "1m"]),
            ("days", "30m", [t for t in RULE_TESTS if t["interval"] != "1m"])):
        files.append(tmp_path / f"{name}.yml")
        files[-1].write_text(yaml.safe_dump({"rule_files": rule_files,
                                             "evaluation_interval": interval, "tests": cases}))
    result = subprocess.run([promtool, "test", "rules", *map(str, files)], capture_output=True,
                            text=True, check=False, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
