import pytest

from services.chassis.migrations import upgrade
from services.registry.service import RegistryService
from tests.conftest import service_config


@pytest.fixture
def registry_config(rabbit_config, database_url):
    upgrade("registry", database_url)
    return service_config(rabbit_config, database_url)


@pytest.fixture
def registry(container_factory, registry_config):
    container = container_factory(RegistryService, registry_config)
    container.start()
    return container
