"""Service configuration: one YAML per service, with nameko's ``${VAR:default}`` substitution."""

import os
from functools import partial
from pathlib import Path

import yaml
from nameko.cli.main import IMPLICIT_ENV_VAR_MATCHER, env_var_constructor

ROOT = Path(__file__).resolve().parents[2]


class _ConfigLoader(yaml.SafeLoader):
    """nameko's config syntax on a loader of our own: ``setup_yaml_parser`` would change
    ``yaml.SafeLoader`` for everything else in the process."""


_ConfigLoader.add_constructor("!env_var", env_var_constructor)
_ConfigLoader.add_constructor("!raw_env_var", partial(env_var_constructor, raw=True))
_ConfigLoader.add_implicit_resolver("!env_var", IMPLICIT_ENV_VAR_MATCHER, None)


def load(path: str | os.PathLike) -> dict:
    """Read a service YAML exactly as ``nameko run --config`` would."""
    with open(path, encoding="utf-8") as stream:
        return yaml.load(stream, Loader=_ConfigLoader)  # noqa: S506 - a safe loader subclass


def service_config_path(service: str) -> Path:
    """Where a service's YAML lives: ``services/<name>/config.yaml`` or ``gateway/config.yaml``."""
    if service == "gateway":
        return ROOT / "gateway" / "config.yaml"
    return ROOT / "services" / service / "config.yaml"


def load_service(service: str) -> dict:
    return load(service_config_path(service))
