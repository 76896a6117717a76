"""What `make run` shows: the demo district through the gateway, its gaps, its metrics."""

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from gateway.routes import ROUTES
from services.registry import demo
from services.registry.models import Base as RegistryBase
from tests.helpers import table_counts, wait_for

pytestmark = pytest.mark.e2e


@pytest.fixture
def demo_system(start_system):
    return start_system(demo=True)


def test_demo_district_through_the_gateway(demo_system):
    admin = demo_system.api.as_user("admin", demo.DEMO_PASSWORD)
    villages = admin.get("/villages", params={"page_size": 500}).json()
    assert villages["total"] == 334 and len(villages["items"]) == 334
    names = {v["name"] for v in villages["items"]}
    assert {"石烟塘村", "永连村"} <= names
    report = admin.get("/coverage").json()
    assert [v["code"] for v in report["villages_without_member"]] == sorted(
        demo.GAP_VILLAGES_WITHOUT_MEMBER)
    assert [v["code"] for v in report["villages_without_liaison"]] == sorted(
        demo.GAP_VILLAGES_WITHOUT_LIAISON)
    assert [t["code"] for t in report["townships_without_workstation"]] == sorted(
        demo.GAP_TOWNSHIPS_WITHOUT_WORKSTATION)
    assert [t["code"] for t in report["townships_outside_leader_area"]] == sorted(
        demo.GAP_TOWNSHIPS_OUTSIDE_LEADER_AREA)
    for account in demo.DEMO_ACCOUNTS:  # every documented demo login works
        assert demo_system.api.token(account["username"], demo.DEMO_PASSWORD)


def test_loading_the_demo_twice_changes_nothing(demo_system):
    from services.cli import load_demo

    before = table_counts(demo_system.registry_url, RegistryBase.metadata)
    results = load_demo(demo_system.registry_transaction, demo_system.gateway_transaction)
    assert all(r["created"] == 0 and r["updated"] == 0 for r in results.values())
    assert table_counts(demo_system.registry_url, RegistryBase.metadata) == before


def metrics_of(address: str) -> dict:
    text = requests.get(f"http://{address}/metrics", timeout=10).text
    return {family.name: family for family in text_string_to_metric_families(text)}


def test_every_process_serves_parseable_metrics_and_health(system):
    admin = system.api.as_user("admin")
    assert admin.get("/villages").status_code == 200
    assert admin.get("/no-such").status_code == 404
    for config in (system.registry_config, system.gateway_config):
        address = config["WEB_SERVER_ADDRESS"]
        health = requests.get(f"http://{address}/health", timeout=10)
        assert health.status_code == 200 and health.json()["checks"]["database"] == "ok"
        assert requests.get(f"http://{address}/health/live", timeout=10).status_code == 200
    registry = metrics_of(system.registry_config["WEB_SERVER_ADDRESS"])
    latency = registry["yuelihui_entrypoint_latency_seconds"]
    counts = {s.labels["entrypoint"]: s.value for s in latency.samples
              if s.name.endswith("_count")}
    assert counts["list_villages"] >= 1
    # the seeded district left events for the relay; the backlog drains to zero
    wait_for(lambda: metrics_of(system.registry_config["WEB_SERVER_ADDRESS"])[
        "yuelihui_outbox_backlog"].samples[0].value == 0)
    published = metrics_of(system.registry_config["WEB_SERVER_ADDRESS"])[
        "yuelihui_events_published"]
    assert sum(s.value for s in published.samples if s.name.endswith("_total")) >= 10
    gateway = metrics_of(system.gateway_config["WEB_SERVER_ADDRESS"])
    requests_by_route = {(s.labels["route"], s.labels["status"]): s.value
                         for s in gateway["yuelihui_http_requests"].samples
                         if s.name.endswith("_total")}
    assert requests_by_route[("/villages", "200")] >= 1
    assert requests_by_route[("unmatched", "404")] == 1
    assert "yuelihui_http_latency_seconds" in gateway


def test_openapi_documents_every_endpoint(system):
    document = system.api.as_user(None).get("/openapi.json").json()
    assert document["openapi"].startswith("3.")
    documented = {(method.upper(), path) for path, operations in document["paths"].items()
                  for method in operations}
    expected = {(r.method, r.path.replace("<", "{").replace(">", "}")) for r in ROUTES}
    assert documented == expected
    village_post = document["paths"]["/villages"]["post"]
    assert village_post["requestBody"]["content"]["application/json"]["schema"]["$ref"] \
        .endswith("/VillageIn")
    assert {"400", "401", "403", "409"} <= set(village_post["responses"])
    assert "VillageIn" in document["components"]["schemas"]
