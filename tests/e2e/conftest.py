"""End-to-end tier: the gateway and the services as nameko containers on a real broker,
each with its own database, driven over real HTTP."""

from dataclasses import dataclass

import pytest
import requests

from gateway.service import GatewayService
from services.chassis.migrations import upgrade
from services.cli import gateway_transaction, registry_transaction
from services.registry.service import RegistryService
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

    def as_user(self, username: str | None) -> "AsUser":
        return AsUser(self, self.token(username) if username else None)


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

    def registry_transaction(self):
        return registry_transaction(self.registry_url)

    def gateway_transaction(self):
        return gateway_transaction(self.gateway_url)


@pytest.fixture
def system(container_factory, rabbit_config, new_database) -> System:
    """Gateway + registry with the small test district of ``district.py`` loaded."""
    registry_url, gateway_url = new_database("registry"), new_database("gateway")
    upgrade("registry", registry_url)
    upgrade("gateway", gateway_url)
    built = System(None, registry_url, gateway_url,
                   service_config(rabbit_config, registry_url),
                   service_config(rabbit_config, gateway_url, JWT_SECRET=JWT_SECRET))
    district.seed(built.registry_transaction, built.gateway_transaction)
    for cls, config in ((RegistryService, built.registry_config),
                        (GatewayService, built.gateway_config)):
        container_factory(cls, config).start()
    built.api = Api(f"http://{built.gateway_config['WEB_SERVER_ADDRESS']}")
    return built
