"""The development clue key committed in config.yaml is refused outside a development run."""

from pathlib import Path

import pytest
from nameko.exceptions import ConfigurationError

from services.chassis.secrets import ALLOW
from services.chassis.vault import Vault
from services.supervision.vault import DEV_KEY, keys_from_config

pytestmark = pytest.mark.unit
CONFIG = Path(__file__).resolve().parents[2] / "services" / "supervision" / "config.yaml"
OTHER = "Rk1HeWtnYXVGRVZxQ2V1UkVhWnRnVXJtV2dWbnlIdkI="


def test_the_committed_default_is_the_refused_development_key():
    assert f"${{YLH_CLUE_KEYS:{DEV_KEY}}}" in CONFIG.read_text()


@pytest.mark.parametrize("configured", [DEV_KEY, f"{OTHER},{DEV_KEY}", "dev-only-key"])
def test_development_keys_are_refused(monkeypatch, configured):
    monkeypatch.delenv(ALLOW, raising=False)
    with pytest.raises(ConfigurationError) as error:
        keys_from_config({"CLUE_KEYS": configured, "ACTOR_SECRET": "s" * 40})
    assert "CLUE_KEYS" in str(error.value)


def test_development_key_accepted_in_a_development_run(monkeypatch):
    monkeypatch.setenv(ALLOW, "1")
    assert keys_from_config({"CLUE_KEYS": DEV_KEY, "ACTOR_SECRET": "s" * 40}) == [DEV_KEY]


def test_a_real_key_is_accepted(monkeypatch):
    monkeypatch.delenv(ALLOW, raising=False)
    keys = keys_from_config({"CLUE_KEYS": OTHER, "ACTOR_SECRET": "s" * 40})
    assert Vault(keys).decrypt(Vault(keys).encrypt("线索")) == "线索"
