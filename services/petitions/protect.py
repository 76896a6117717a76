"""Encryption at rest of personal data (petitioner identity, dispute parties).

``IDENTITY_KEYS`` is a comma-separated list of Fernet keys: the first encrypts, all decrypt.
Rotation: put a new key first, re-encrypt (``rotate``), then drop the old key.
"""

import logging

from nameko.extensions import DependencyProvider

from services.chassis.secrets import refuse_development_secret
from services.chassis.vault import Vault

log = logging.getLogger(__name__)

# the committed default of config.yaml, for development runs only (YLH_ALLOW_DEV_SECRETS=1)
DEV_ONLY_KEY = "azWvxbSa1xQe2m1vhY4oWBx1uaN0JQQV1ykFvKO0upQ="


class IdentityVault(DependencyProvider):
    def setup(self):
        keys = self.container.config.get("IDENTITY_KEYS")
        # the first key encrypts: a public one must not protect real identities
        first = str(keys).split(",")[0].strip() if keys else None
        refuse_development_secret("IDENTITY_KEYS", first, (DEV_ONLY_KEY,))
        if not keys:
            log.warning("IDENTITY_KEYS not configured: using the development-only key")
            keys = DEV_ONLY_KEY
        self.vault = Vault(keys)

    def get_dependency(self, worker_ctx):
        return self.vault
