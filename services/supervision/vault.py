"""Encryption at rest of clue content and whistleblower identity (``cryptography`` Fernet).

``CLUE_KEYS`` is a comma-separated list of Fernet keys: the first encrypts, all decrypt, so
keys rotate by putting a new one first. The development key committed in ``config.yaml``
is refused unless the process is a development run (``YLH_ALLOW_DEV_SECRETS=1``, set by
``make run``). Without any key (tests that do not care) one is derived from ``ACTOR_SECRET``
(itself refused when a development default) and a warning is logged.
"""

import base64
import hashlib
import logging

from nameko.extensions import DependencyProvider

from services.chassis.secrets import refuse_development_secret
from services.chassis.vault import Vault

log = logging.getLogger(__name__)

# the default of ``CLUE_KEYS`` in config.yaml: public, so never a production key
DEV_KEY = "9Q5o8mW0s3zYk1YQb2GmB0aZ3b6wP2mXo2cQv3eT5yE="


def keys_from_config(config: dict) -> list[str]:
    configured = config.get("CLUE_KEYS")
    if isinstance(configured, list | tuple):
        keys = [str(key) for key in configured if str(key).strip()]
    else:
        keys = [key for key in str(configured or "").split(",") if key.strip()]
    for key in keys:
        refuse_development_secret("CLUE_KEYS", key.strip(), (DEV_KEY,))
    if keys:
        return keys
    log.warning("CLUE_KEYS is not set: clue content is encrypted with a development key")
    digest = hashlib.sha256(b"yuelihui-clue-key:" + config["ACTOR_SECRET"].encode()).digest()
    return [base64.urlsafe_b64encode(digest).decode()]


class ClueVault(DependencyProvider):
    def setup(self):
        self.vault = Vault(keys_from_config(self.container.config))

    def get_dependency(self, worker_ctx):
        return self.vault
