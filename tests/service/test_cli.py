"""The operator command, run as an operator would: a separate process, real databases."""

import os
import subprocess
import sys

import pytest

from services.registry import demo
from services.registry.models import Base as RegistryBase
from tests.helpers import table_counts

pytestmark = pytest.mark.service


def yuelihui(*args, env=None, check=True):
    result = subprocess.run([sys.executable, "-m", "services.cli", *args], capture_output=True,
                            text=True, env={**os.environ, **(env or {})}, timeout=300)
    if check:
        assert result.returncode == 0, result.stderr
    return result


@pytest.fixture
def databases(new_database):
    return {"YLH_REGISTRY_DATABASE_URL": new_database("registry"),
            "YLH_GATEWAY_DATABASE_URL": new_database("gateway")}


def test_migrate_creates_the_bootstrap_administrator_once(databases):
    env = {**databases, "YLH_ADMIN_USERNAME": "root", "YLH_ADMIN_PASSWORD": "long-enough-pw"}
    first = yuelihui("migrate", env=env)
    assert "已创建管理员账号 root" in first.stdout
    assert "已创建管理员账号" not in yuelihui("migrate", env=env).stdout
    from gateway import accounts
    from services.cli import gateway_transaction

    with gateway_transaction(databases["YLH_GATEWAY_DATABASE_URL"]) as tx:
        assert accounts.authenticate(tx.session, "root", "long-enough-pw").role == \
            "district_admin"


def test_import_shows_progress_and_refuses_a_bad_file_whole(databases, tmp_path):
    yuelihui("migrate", env=databases)
    files = demo.write_csv(tmp_path)
    for kind in ("townships", "villages"):
        result = yuelihui("import", kind, str(files[kind]), env=databases)
        assert f"{kind}: " in result.stdout
    assert "334/334 行" in result.stderr  # the progress bar reached the end
    before = table_counts(databases["YLH_REGISTRY_DATABASE_URL"], RegistryBase.metadata)
    bad = tmp_path / "bad.csv"
    bad.write_text("code,name,township_code,kind,pilot,consultation_room\n"
                   "431102001901,新村,431102001,village,false,\n"
                   "431102999002,新村二,431102999,village,false,\n", encoding="utf-8")
    failed = yuelihui("import", "villages", str(bad), env=databases, check=False)
    assert failed.returncode == 1
    assert "3.township_code: 乡镇不存在" in failed.stderr
    assert "Traceback" not in failed.stderr
    assert table_counts(databases["YLH_REGISTRY_DATABASE_URL"], RegistryBase.metadata) == before


def test_check_broker_says_what_to_do_in_one_line():
    result = yuelihui("check-broker", env={"YLH_AMQP_URI": "pyamqp://guest:guest@127.0.0.1:1/"},
                      check=False)
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "无法连接 RabbitMQ" in lines[0] and "rabbitmq-server" in lines[0]
