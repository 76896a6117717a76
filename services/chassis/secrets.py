"""Refuse to run in production with the development secrets that ship in the config files.

The YAML defaults (``dev-only-...`` secrets, the development encryption keys) make
``make run`` work out of the box; anywhere else they would mean forgeable tokens and
identities encrypted with a public key. A process only accepts them when told it is a
development run (``YLH_ALLOW_DEV_SECRETS=1``, which ``make run`` sets).
"""

import os

from nameko.exceptions import ConfigurationError
from nameko.extensions import DependencyProvider

ALLOW = "YLH_ALLOW_DEV_SECRETS"
MARKER = "dev-only"


def refuse_development_secret(name: str, value: str | None, development_values=()) -> None:
    if os.environ.get(ALLOW) == "1":
        return
    if not value or MARKER in value or value in development_values:
        raise ConfigurationError(
            f"{name} is unset or a development default: set it from your secret store "
            f"(or {ALLOW}=1 for a development run)")


class SecretsGuard(DependencyProvider):
    """Checks the platform-wide secrets of the service's config when the container starts."""

    def setup(self):
        for name in ("ACTOR_SECRET", "JWT_SECRET"):
            if name in self.container.config:
                refuse_development_secret(name, self.container.config[name])
