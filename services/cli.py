"""``yuelihui``: the operator's command line (migrations, demo district, imports, accounts)."""

import warnings

warnings.filterwarnings("ignore", message=r"(?s).*Eventlet is deprecated")  # noise for operators

import argparse
import os
import socket
import sys
from functools import cache
from pathlib import Path
from urllib.parse import urlparse

from services.chassis.actor import system_actor
from services.chassis.config import load_service
from services.chassis.errors import DomainError
from services.chassis.migrations import SERVICES_WITH_DATABASE, upgrade
from services.chassis.store import OUTBOX, make_engine, transaction


def registry_transaction(url: str):
    """A unit of work on the registry database, outbox included, outside any container."""
    from services.registry.models import Base
    from services.registry.schemas import EVENTS

    return transaction(_engine(url), EVENTS, Base.metadata.tables[OUTBOX])


@cache
def _engine(url: str):
    return make_engine(url)


def _registry_transaction():
    return registry_transaction(load_service("registry")["DATABASE_URL"])


def gateway_transaction(url: str):
    return transaction(_engine(url))


def _gateway_transaction():
    return gateway_transaction(load_service("gateway")["DATABASE_URL"])


def cmd_migrate(args) -> None:
    unknown = set(args.services) - set(SERVICES_WITH_DATABASE)
    if unknown:
        raise SystemExit(f"没有这个服务: {', '.join(sorted(unknown))}")
    for service in args.services or SERVICES_WITH_DATABASE:
        upgrade(service)
        print(f"{service}: 数据库已迁移到最新版本")
    if "gateway" in (args.services or SERVICES_WITH_DATABASE):
        _ensure_bootstrap_admin()


def _ensure_bootstrap_admin() -> None:
    """YLH_ADMIN_USERNAME / YLH_ADMIN_PASSWORD create the first administrator once."""
    from gateway import accounts

    username, password = os.environ.get("YLH_ADMIN_USERNAME"), os.environ.get("YLH_ADMIN_PASSWORD")
    if not (username and password):
        return
    with _gateway_transaction() as tx:
        if accounts.ensure(tx.session, username, password, "district_admin",
                           display_name="系统管理员"):
            print(f"已创建管理员账号 {username}")


def cmd_load_demo(args) -> None:
    from services.registry import demo

    if args.directory:
        demo.write_csv(Path(args.directory))
    for kind, result in load_demo(_registry_transaction, _gateway_transaction).items():
        print(f"{kind}: {result['rows']} 行, 新增 {result['created']}, 更新 {result['updated']}, "
              f"未变 {result['unchanged']}")
    print(f"演示账号: {', '.join(a['username'] for a in demo.DEMO_ACCOUNTS)} "
          f"(密码 {demo.DEMO_PASSWORD})")


def load_demo(registry_transaction, gateway_transaction) -> dict:
    """Load the demo district and its accounts; loading twice changes nothing."""
    from gateway import accounts
    from services.registry import demo, importer

    results = {}
    for kind, kind_rows in demo.demo_rows().items():
        with registry_transaction() as tx:
            results[kind] = importer.import_csv(tx, system_actor("cli"), kind,
                                                _as_csv(kind_rows, demo.COLUMNS[kind]))
    with gateway_transaction() as tx:
        for account in demo.DEMO_ACCOUNTS:
            accounts.ensure(tx.session, account["username"], account["password"],
                            account["role"], person_id=account["person_id"],
                            townships=account["townships"], villages=account["villages"],
                            display_name=account["display_name"])
    return results


def _as_csv(rows, columns) -> str:
    import csv
    import io

    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns)
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def cmd_import(args) -> None:
    """Import one CSV file, showing progress; all rows valid or nothing written."""
    from services.registry import importer

    text = Path(args.file).read_text(encoding="utf-8-sig")
    total = max(text.count("\n") - 1, 1)

    def progress(done: int) -> None:
        if done % 50 == 0 or done >= total:
            width = 30
            filled = int(width * min(done, total) / total)
            sys.stderr.write(f"\r导入 {args.kind} [{'#' * filled}{'.' * (width - filled)}] "
                             f"{done}/{total} 行")
            sys.stderr.flush()

    try:
        with _registry_transaction() as tx:
            result = importer.import_csv(tx, system_actor("cli"), args.kind, text, progress)
    finally:
        sys.stderr.write("\n")
    print(f"{args.kind}: {result['rows']} 行, 新增 {result['created']}, 更新 {result['updated']}, "
          f"未变 {result['unchanged']}")


def cmd_accounts(args) -> None:
    from gateway import accounts

    with _gateway_transaction() as tx:
        if args.action == "create":
            accounts.create(tx.session, args.username, _password(args), args.role,
                            person_id=args.person_id, townships=args.township or (),
                            villages=args.village or ())
        elif args.action == "disable":
            accounts.disable(tx.session, args.username)
        else:
            accounts.set_password(tx.session, args.username, _password(args))
    print(f"账号 {args.username}: {args.action} 完成")


def _password(args) -> str:
    password = args.password or os.environ.get("YLH_NEW_PASSWORD")
    if not password:
        import getpass

        password = getpass.getpass("新密码: ")
    return password


def cmd_check_broker(args) -> None:
    """One clear line instead of a traceback when RabbitMQ cannot be reached."""
    uri = urlparse(load_service("registry")["AMQP_URI"].replace("pyamqp://", "amqp://"))
    host, port = uri.hostname or "localhost", uri.port or 5672
    try:
        socket.create_connection((host, port), timeout=3).close()
    except OSError:
        print(f"无法连接 RabbitMQ ({host}:{port})。请先启动一个: `docker compose up -d rabbitmq`, "
              "或安装 Debian 软件包 rabbitmq-server 后运行 `rabbitmq-server -detached`, "
              "或设置 YLH_AMQP_URI。", file=sys.stderr)
        raise SystemExit(2) from None
    print(f"RabbitMQ 可达: {host}:{port}")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="yuelihui", description="月例会平台运维命令")
    commands = parser.add_subparsers(dest="command", required=True)

    migrate = commands.add_parser("migrate", help="迁移各服务的数据库")
    migrate.add_argument("services", nargs="*", help=", ".join(SERVICES_WITH_DATABASE))
    migrate.set_defaults(run=cmd_migrate)

    demo = commands.add_parser("load-demo", help="载入演示区县(零陵区形态)与演示账号")
    demo.add_argument("--directory", help="同时把演示 CSV 写到此目录")
    demo.set_defaults(run=cmd_load_demo)

    imports = commands.add_parser("import", help="从 CSV 批量导入登记数据")
    imports.add_argument("kind", choices=["townships", "villages", "workstations", "people",
                                          "links", "trainings"])
    imports.add_argument("file")
    imports.set_defaults(run=cmd_import)

    account = commands.add_parser("accounts", help="管理本地账号")
    account.add_argument("action", choices=["create", "disable", "reset-password"])
    account.add_argument("username")
    account.add_argument("--role")
    account.add_argument("--password", help="也可用环境变量 YLH_NEW_PASSWORD")
    account.add_argument("--person-id")
    account.add_argument("--township", action="append")
    account.add_argument("--village", action="append")
    account.set_defaults(run=cmd_accounts)

    broker = commands.add_parser("check-broker", help="检查 RabbitMQ 是否可达")
    broker.set_defaults(run=cmd_check_broker)

    args = parser.parse_args(argv)
    try:
        args.run(args)
    except DomainError as error:
        print(f"失败: {error.message}", file=sys.stderr)
        for field, reasons in list(error.details.items())[:50]:
            print(f"  {field}: {'; '.join(reasons)}", file=sys.stderr)
        raise SystemExit(1) from None


if __name__ == "__main__":
    main()
