"""End-to-end tier: the gateway and the services as nameko containers on a real broker,
each with its own database, driven over real HTTP."""

import importlib
from dataclasses import dataclass

import pytest
import requests

from gateway.service import GatewayService
from services.chassis.migrations import upgrade
from services.cli import gateway_transaction, load_demo, registry_transaction
from tests.conftest import service_config
from tests.e2e import district

JWT_SECRET = "test-jwt-secret-of-at-least-32-bytes!"


class Api:
    """An HTTP client of the gateway that can log in as any seeded account."""

    def __init__(self, base_url: str):
        self.base_url = base_url
        self.http = requests.Session()

    def url(self, path: str) -> str:
        return f"{self.base_url}/api/v1{path}"

    def token(self, username: str, password: str = district.PASSWORD) -> str:
        response = self.http.post(self.url("/auth/token"),
                                  json={"username": username, "password": password})
        assert response.status_code == 200, response.text
        return response.json()["access_token"]

    def as_user(self, username: str | None, password: str = district.PASSWORD) -> "AsUser":
        return AsUser(self, self.token(username, password) if username else None)


class AsUser:
    def __init__(self, api: Api, token: str | None):
        self.api, self.headers = api, {"Authorization": f"Bearer {token}"} if token else {}

    def request(self, method: str, path: str, **kwargs) -> requests.Response:
        headers = {**self.headers, **kwargs.pop("headers", {})}
        return self.api.http.request(method, self.api.url(path), headers=headers, timeout=30,
                                     **kwargs)

    def get(self, path, **kwargs):
        return self.request("GET", path, **kwargs)

    def post(self, path, **kwargs):
        return self.request("POST", path, **kwargs)

    def patch(self, path, **kwargs):
        return self.request("PATCH", path, **kwargs)


@dataclass
class System:
    api: Api
    registry_url: str
    gateway_url: str
    registry_config: dict
    gateway_config: dict
    database_urls: dict
    configs: dict
    containers: dict

    def registry_transaction(self):
        return registry_transaction(self.registry_url)

    def gateway_transaction(self):
        return gateway_transaction(self.gateway_url)


SERVICE_CLASSES = {
    "registry": "services.registry.service:RegistryService",
    "meetings": "services.meetings.service:MeetingsService",
    "petitions": "services.petitions.service:PetitionsService",
    "supervision": "services.supervision.service:SupervisionService",
    "notify": "services.notify.service:NotifyService",
}


def _service_class(name: str):
    module, _, cls = SERVICE_CLASSES[name].partition(":")
    return getattr(importlib.import_module(module), cls)


@pytest.fixture
def start_system(container_factory, rabbit_config, new_database):
    """``start_system("meetings", ...)``: the gateway, the registry with the small test district
    of ``district.py`` (or the whole demo district with ``demo=True``), and the named services,
    each with a fresh migrated database. ``extra_config`` adds settings per service name."""

    def start(*names: str, extra_config: dict | None = None, demo: bool = False) -> System:
        names = ("registry", *[n for n in names if n != "registry"])
        urls = {name: new_database(name) for name in (*names, "gateway")}
        for name, url in urls.items():
            upgrade(name, url)
        extra_config = extra_config or {}
        configs = {name: service_config(rabbit_config, url, **extra_config.get(name, {}))
                   for name, url in urls.items()}
        configs["gateway"]["JWT_SECRET"] = JWT_SECRET
        built = System(None, urls["registry"], urls["gateway"], configs["registry"],
                       configs["gateway"], urls, configs, {})
        if demo:  # the whole demo district, as `make run` loads it
            load_demo(built.registry_transaction, built.gateway_transaction)
        else:
            district.seed(built.registry_transaction, built.gateway_transaction)
        # consumers declare their queues before the registry's relay publishes the seed
        for name in (*names[1:], "registry"):
            built.containers[name] = container_factory(_service_class(name), configs[name])
            built.containers[name].start()
        built.containers["gateway"] = container_factory(GatewayService, configs["gateway"])
        built.containers["gateway"].start()
        built.api = Api(f"http://{configs['gateway']['WEB_SERVER_ADDRESS']}")
        return built

    return start


@pytest.fixture
def system(start_system) -> System:
    """Gateway + registry with the small test district loaded."""
    return start_system()
