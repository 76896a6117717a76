"""A supervision process refuses the committed development clue key outside a development
run, and starts with it when told it is one."""

import pytest
from nameko.exceptions import ConfigurationError

from services.chassis.secrets import ALLOW
from services.supervision.service import SupervisionService
from services.supervision.vault import DEV_KEY
from tests.conftest import free_port
from tests.service import supervision_support as support

pytestmark = pytest.mark.service
sup_config = support.sup_config


def _config(sup_config):
    return {**sup_config, "CLUE_KEYS": DEV_KEY,
            "WEB_SERVER_ADDRESS": f"127.0.0.1:{free_port()}"}


def test_the_development_key_is_refused_at_start(container_factory, sup_config, monkeypatch):
    monkeypatch.delenv(ALLOW, raising=False)
    container = container_factory(SupervisionService, _config(sup_config))
    with pytest.raises(ConfigurationError, match="CLUE_KEYS"):
        container.start()


def test_a_development_run_accepts_it(container_factory, sup_config, monkeypatch):
    monkeypatch.setenv(ALLOW, "1")
    container = container_factory(SupervisionService, _config(sup_config))
    container.start()
    assert container.started
