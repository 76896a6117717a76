"""The image's one-shot ``migrate`` step, run through the real entrypoint script: every
database at head, the bootstrap administrator, every subscription queue declared."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from kombu import Connection
from sqlalchemy import text

from services.chassis.config import ROOT
from services.chassis.migrations import SERVICES_WITH_DATABASE
from services.chassis.store import make_engine

pytestmark = pytest.mark.e2e

BIN = Path(sys.executable).parent


@pytest.fixture
def installed_cli():
    """The ``yuelihui`` command of this interpreter's environment, if it is this tree's."""
    command = shutil.which("yuelihui", path=str(BIN))
    if command is None:
        pytest.skip("the yuelihui command is not installed in this environment")
    result = subprocess.run([command, "--help"], capture_output=True, text=True, timeout=60,
                            check=False)
    if "declare" not in result.stdout:
        pytest.skip("the installed yuelihui command is not this tree's (pip install -e .)")
    return command


def test_the_migrate_step_prepares_databases_admin_and_queues(installed_cli, rabbit_config,
                                                              new_database):
    urls = {name: new_database(name) for name in SERVICES_WITH_DATABASE}
    env = {**os.environ, "PATH": f"{BIN}:/usr/bin:/bin",
           "YLH_AMQP_URI": rabbit_config["AMQP_URI"],
           "YLH_ADMIN_USERNAME": "root-admin", "YLH_ADMIN_PASSWORD": "a-long-admin-password",
           "YLH_EVENT_QUEUE_TYPE": "quorum", "PYTHONWARNINGS": "ignore"}
    for name, url in urls.items():
        env[f"YLH_{name.upper()}_DATABASE_URL"] = url

    result = subprocess.run(["sh", str(ROOT / "deploy/docker/entrypoint.sh"), "migrate"],
                            env=env, capture_output=True, text=True, timeout=300, check=False)

    assert result.returncode == 0, result.stdout + result.stderr
    for name in SERVICES_WITH_DATABASE:
        assert f"{name}: 数据库已迁移到最新版本" in result.stdout
    assert "已创建管理员账号 root-admin" in result.stdout
    assert "已声明" in result.stdout and "类型 quorum" in result.stdout
    engine = make_engine(urls["gateway"])
    with engine.connect() as connection:
        tables = {row[0] for row in connection.execute(text(
            "SELECT table_name FROM information_schema.tables" if engine.dialect.name ==
            "postgresql" else "SELECT name FROM sqlite_master WHERE type = 'table'"))}
    engine.dispose()
    assert "alembic_version" in tables
    # every subscription of every installed service has its queue (quorum) before any start
    declared = [line.split()[0] for line in result.stdout.splitlines() if "←" in line]
    with Connection(rabbit_config["AMQP_URI"]) as connection:
        for queue in declared:
            connection.channel().queue_declare(queue, passive=True)

    again = subprocess.run(["sh", str(ROOT / "deploy/docker/entrypoint.sh"), "migrate"],
                           env=env, capture_output=True, text=True, timeout=300, check=False)
    assert again.returncode == 0, again.stderr
    assert "已创建管理员账号" not in again.stdout  # once only
