"""deploy/k8s: the Kustomize base and production overlay build (``kubectl kustomize``, offline)
and every manifest validates against the Kubernetes schemas (kubernetes-validate); the custom
resources of the operators parse and say what the system needs."""

import copy
import json
import re
import shutil
import subprocess

import pytest
import yaml

from services.chassis.config import ROOT

pytestmark = pytest.mark.unit

K8S = ROOT / "deploy/k8s"
KUBERNETES_VERSION = "1.32"
PORTS = {"gateway": 8000, "registry": 8001, "meetings": 8002, "petitions": 8003,
         "supervision": 8004, "notify": 8005}
CUSTOM_RESOURCES = {
    "rabbitmq.com/v1beta1": {"RabbitmqCluster", "Vhost", "User", "Permission", "Policy",
                             "Exchange", "Queue", "Binding"},
    "postgresql.cnpg.io/v1": {"Cluster", "Database", "ScheduledBackup"},
    "monitoring.coreos.com/v1": {"PodMonitor", "PrometheusRule"},
}
KUSTOMIZE = shutil.which("kubectl") or shutil.which("kustomize")


def build(target: str) -> list[dict]:
    if KUSTOMIZE is None:
        pytest.skip("neither kubectl nor kustomize is installed: CI needs the kubectl package "
                    "(kustomize is built in) to build the manifests offline")
    command = [KUSTOMIZE, "kustomize" if KUSTOMIZE.endswith("kubectl") else "build",
               str(K8S / target)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


@pytest.fixture(scope="module", params=["base", "overlays/production"])
def manifests(request) -> list[dict]:
    return build(request.param)


@pytest.fixture(scope="module")
def production() -> list[dict]:
    return build("overlays/production")


def kubernetes_validate():
    return pytest.importorskip("kubernetes_validate",
                               reason="pip install kubernetes-validate (ships the schemas)")


def find(docs, kind, name=None) -> list[dict]:
    return [d for d in docs
            if d["kind"] == kind and (name is None or d["metadata"]["name"] == name)]


def test_every_manifest_is_valid_against_the_kubernetes_schemas(manifests):
    validator = kubernetes_validate()
    from kubernetes_validate.utils import SchemaNotFoundError

    problems, custom = [], set()
    for doc in manifests:
        try:
            validator.validate(doc, KUBERNETES_VERSION, strict=True)
        except SchemaNotFoundError:
            assert doc["kind"] in CUSTOM_RESOURCES.get(doc["apiVersion"], ()), \
                f"no schema for {doc['apiVersion']} {doc['kind']}"
            custom.add(doc["kind"])
            assert doc["metadata"]["name"] and isinstance(doc["spec"], dict)
        except validator.ValidationError as error:
            problems.append(f"{doc['kind']}/{doc['metadata']['name']}: {error.message}")
    assert problems == []
    assert {"RabbitmqCluster", "Cluster", "PodMonitor"} <= custom
    assert {d["metadata"].get("namespace") for d in manifests if d["kind"] != "Namespace"} == {
        "yuelihui"}


def test_the_validation_would_catch_a_broken_manifest(production):
    validator = kubernetes_validate()
    deployment = copy.deepcopy(find(production, "Deployment", "yuelihui-registry")[0])
    deployment["spec"]["replicas"] = "three"
    with pytest.raises(validator.ValidationError):
        validator.validate(deployment, KUBERNETES_VERSION, strict=True)
    deployment = copy.deepcopy(find(production, "Deployment", "yuelihui-registry")[0])
    deployment["spec"]["template"]["spec"]["containers"][0]["livenessProbe"]["httpGett"] = {}
    with pytest.raises(validator.ValidationError):
        validator.validate(deployment, KUBERNETES_VERSION, strict=True)


def test_a_deployment_per_process_with_probes_resources_and_an_autoscaler(manifests):
    images = set()
    for name, port in PORTS.items():
        (deployment,) = find(manifests, "Deployment", f"yuelihui-{name}")
        pod = deployment["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        images.add(container["image"])
        assert container["args"] == [name]
        assert container["ports"] == [{"name": "http", "containerPort": port}]
        assert container["readinessProbe"]["httpGet"] == {"path": "/health", "port": "http"}
        assert container["livenessProbe"]["httpGet"] == {"path": "/health/live", "port": "http"}
        assert {"cpu", "memory"} <= set(container["resources"]["requests"])
        assert {"cpu", "memory"} <= set(container["resources"]["limits"])
        assert container["securityContext"]["runAsNonRoot"] is True
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        env = {e["name"]: e for e in container["env"]}
        assert env[f"YLH_{name.upper()}_ADDRESS"]["value"] == f"0.0.0.0:{port}"
        assert env["YLH_AMQP_URI"]["value"].startswith(f"pyamqp://{name}:")
        assert env[f"YLH_{name.upper()}_DATABASE_URL"]["value"].endswith(f"/{name}")
        # the schema is at head before the process starts
        assert pod["initContainers"][0]["args"] == ["yuelihui", "migrate", name]
        (hpa,) = find(manifests, "HorizontalPodAutoscaler", f"yuelihui-{name}")
        assert hpa["spec"]["scaleTargetRef"]["name"] == f"yuelihui-{name}"
        assert 2 <= hpa["spec"]["minReplicas"] < hpa["spec"]["maxReplicas"]
        assert find(manifests, "PodDisruptionBudget", f"yuelihui-{name}")
    assert len(images) == 1


def test_only_the_gateway_has_a_service_and_only_it_is_reachable_from_outside(manifests):
    services = find(manifests, "Service")
    assert [s["metadata"]["name"] for s in services] == ["yuelihui-gateway"]
    assert services[0]["spec"]["selector"]["app.kubernetes.io/component"] == "gateway"
    policies = {p["metadata"]["name"]: p["spec"] for p in find(manifests, "NetworkPolicy")}
    assert policies["default-deny"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    for name, spec in policies.items():
        for rule in spec.get("ingress", []):
            selector = spec["podSelector"].get("matchLabels", {})
            if "from" not in rule:  # open to any client: only the gateway's API port
                assert selector.get("app.kubernetes.io/component") == "gateway", name
                assert rule["ports"] == [{"protocol": "TCP", "port": 8000}]
            elif selector.get("app.kubernetes.io/name") == "yuelihui":  # the processes
                assert all(peer.get("namespaceSelector", {}).get("matchLabels") ==
                           {"kubernetes.io/metadata.name": "monitoring"} for peer in rule["from"])
    broker = policies["broker-from-processes"]["ingress"][0]
    assert broker["from"] == [{"podSelector": {"matchLabels": {
        "app.kubernetes.io/name": "yuelihui"}}}]


def test_production_exposes_the_gateway_over_tls(production):
    (ingress,) = find(production, "Ingress")
    backend = ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend["name"] == "yuelihui-gateway"
    assert ingress["spec"]["tls"]
    gateway = find(production, "HorizontalPodAutoscaler", "yuelihui-gateway")[0]["spec"]
    assert gateway["maxReplicas"] > find(production, "HorizontalPodAutoscaler",
                                         "yuelihui-registry")[0]["spec"]["maxReplicas"]
    assert find(production, "ScheduledBackup")
    assert find(production, "Cluster")[0]["spec"]["backup"]["barmanObjectStore"]


def test_the_broker_is_a_three_node_cluster_with_the_compose_topology(manifests):
    (cluster,) = find(manifests, "RabbitmqCluster")
    assert cluster["spec"]["replicas"] == 3
    assert "rabbitmq_prometheus" in cluster["spec"]["rabbitmq"]["additionalPlugins"]
    definitions = json.loads((ROOT / "deploy/rabbitmq/definitions.json").read_text())
    permissions = {p["spec"]["userReference"]["name"]: p["spec"]["permissions"]
                   for p in find(manifests, "Permission")}
    assert permissions == {f"yuelihui-{p['user']}": {k: p[k] for k in ("configure", "write",
                                                                         "read")}
                           for p in definitions["permissions"]}
    policies = {p["spec"]["name"]: p["spec"] for p in find(manifests, "Policy")}
    for policy in definitions["policies"]:
        assert policies[policy["name"]]["pattern"] == policy["pattern"]
        assert policies[policy["name"]]["definition"] == policy["definition"]
    users = {u["metadata"]["name"]: u["spec"] for u in find(manifests, "User")}
    assert set(users) == {f"yuelihui-{u['name']}" for u in definitions["users"]}
    assert {q["spec"]["name"] for q in find(manifests, "Queue")} == {
        q["name"] for q in definitions["queues"]}
    # event queues are quorum queues: the processes declare them so
    (config,) = find(manifests, "ConfigMap")
    assert config["data"]["YLH_EVENT_QUEUE_TYPE"] == "quorum"


def test_a_database_and_owner_per_process_on_cloudnativepg(manifests):
    (cluster,) = find(manifests, "Cluster")
    assert cluster["spec"]["instances"] == 3
    owners = {cluster["spec"]["bootstrap"]["initdb"]["database"]:
              cluster["spec"]["bootstrap"]["initdb"]["owner"]}
    owners.update({d["spec"]["name"]: d["spec"]["owner"] for d in find(manifests, "Database")})
    assert owners == {name: name for name in PORTS}
    roles = {r["name"] for r in cluster["spec"]["managed"]["roles"]}
    assert roles | {cluster["spec"]["bootstrap"]["initdb"]["owner"]} == set(PORTS)


def test_prometheus_operator_scrapes_every_process_with_the_same_rules(manifests):
    monitors = {m["metadata"]["name"]: m["spec"] for m in find(manifests, "PodMonitor")}
    selector = monitors["yuelihui"]["selector"]["matchLabels"]
    for name in PORTS:
        (deployment,) = find(manifests, "Deployment", f"yuelihui-{name}")
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert selector.items() <= labels.items()
    assert monitors["yuelihui"]["podMetricsEndpoints"][0]["path"] == "/metrics"
    (rule,) = find(manifests, "PrometheusRule")
    rules = yaml.safe_load((ROOT / "deploy/prometheus/rules/yuelihui.yml").read_text())
    assert rule["spec"] == rules


def test_every_referenced_secret_is_in_the_example(manifests):
    example = {d["metadata"]["name"]: d for d in yaml.safe_load_all(
        (K8S / "secrets.example.yaml").read_text()) if d}
    text = json.dumps(manifests)
    referenced = set(re.findall(r'"secretKeyRef": \{"name": "([^"]+)", "key": "([^"]+)"', text))
    for name, key in referenced:
        assert key in example[name]["stringData"], f"{name}.{key}"
    assert not find(manifests, "Secret")  # secrets never come from the repository
