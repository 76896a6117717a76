"""Service configuration: one YAML per service, with nameko's ``${VAR:default}`` substitution."""

import os
from pathlib import Path

import yaml
from nameko.cli.main import setup_yaml_parser

ROOT = Path(__file__).resolve().parents[2]


def load(path: str | os.PathLike) -> dict:
    """Read a service YAML exactly as ``nameko run --config`` would."""
    setup_yaml_parser()
    with open(path, encoding="utf-8") as stream:
        return yaml.safe_load(stream)


def service_config_path(service: str) -> Path:
    """Where a service's YAML lives: ``services/<name>/config.yaml`` or ``gateway/config.yaml``."""
    if service == "gateway":
        return ROOT / "gateway" / "config.yaml"
    return ROOT / "services" / service / "config.yaml"


def load_service(service: str) -> dict:
    return load(service_config_path(service))
