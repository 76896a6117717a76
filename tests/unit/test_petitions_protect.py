"""The committed development key of config.yaml is refused outside a development run."""

from types import SimpleNamespace

import pytest
from cryptography.fernet import Fernet
from nameko.exceptions import ConfigurationError

from services.chassis.secrets import ALLOW
from services.petitions.protect import DEV_ONLY_KEY, IdentityVault


def _setup(keys):
    provider = IdentityVault()
    provider.container = SimpleNamespace(config={} if keys is None else {"IDENTITY_KEYS": keys})
    provider.setup()
    return provider.vault


def test_development_key_or_no_key_is_refused_unless_it_is_a_development_run(monkeypatch):
    monkeypatch.delenv(ALLOW, raising=False)
    behind = Fernet.generate_key().decode()
    for keys in (DEV_ONLY_KEY, f" {DEV_ONLY_KEY} ", f"{DEV_ONLY_KEY},{behind}", "", None):
        with pytest.raises(ConfigurationError, match="IDENTITY_KEYS"):
            _setup(keys)
    # a real key encrypts; the old development key may stay behind it to rotate away from it
    real = Fernet.generate_key().decode()
    vault = _setup(f"{real},{DEV_ONLY_KEY}")
    assert vault.decrypt(vault.encrypt({"name": "甲"})) == {"name": "甲"}
    assert _setup(real) is not None


def test_development_run_accepts_the_development_key(monkeypatch):
    monkeypatch.setenv(ALLOW, "1")
    for keys in (DEV_ONLY_KEY, None):
        vault = _setup(keys)
        assert vault.decrypt(vault.encrypt("x")) == "x"
