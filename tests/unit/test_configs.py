"""Every process's YAML loads as `nameko run --config` reads it, with what the chassis needs."""

import pytest

from services.chassis.config import load_service
from services.chassis.migrations import SERVICES_WITH_DATABASE

pytestmark = pytest.mark.unit


def test_every_config_loads_with_its_own_port_and_database():
    configs = {name: load_service(name) for name in SERVICES_WITH_DATABASE}
    assert set(configs) == {"registry", "meetings", "petitions", "supervision", "notify",
                            "gateway"}
    for name, config in configs.items():
        for key in ("AMQP_URI", "DATABASE_URL", "WEB_SERVER_ADDRESS", "ACTOR_SECRET"):
            assert isinstance(config.get(key), str) and config[key], (name, key)
        assert config["DATABASE_URL"].endswith(f"var/{name}.sqlite")
    ports = [config["WEB_SERVER_ADDRESS"].rsplit(":", 1)[1] for config in configs.values()]
    assert len(set(ports)) == len(ports)
    gateway = configs["gateway"]
    assert isinstance(gateway["MAX_BODY_BYTES"], int)
    assert isinstance(gateway["TRUSTED_PROXIES"], int)
    assert isinstance(gateway["MAX_IMPORT_BYTES"], int)
