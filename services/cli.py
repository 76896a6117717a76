"""``yuelihui``: the operator's command line (migrations, demo district, imports, accounts,
queues and subscriptions, dead letters, event replay, status)."""

import warnings

# noise for operators: eventlet's deprecation and nameko's import of pkg_resources
warnings.filterwarnings("ignore", message=r"(?s).*(Eventlet|pkg_resources) is deprecated")

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
from services.chassis.operations import OperationFailed
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


# --- operations: queues, dead letters, replays, status (logic in services.chassis.operations) --

PROCESSES = ("gateway", "registry", "meetings", "petitions", "supervision", "notify")
SERVICE_CLASSES = {
    "registry": "services.registry.service:RegistryService",
    "meetings": "services.meetings.service:MeetingsService",
    "petitions": "services.petitions.service:PetitionsService",
    "supervision": "services.supervision.service:SupervisionService",
    "notify": "services.notify.service:NotifyService",
}


def _amqp_uri() -> str:
    return os.environ.get("YLH_AMQP_URI") or load_service("registry")["AMQP_URI"]


def _load_class(path: str):
    import importlib

    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


def _installed_service_classes() -> list:
    classes = []
    for name, path in SERVICE_CLASSES.items():
        try:
            classes.append(_load_class(path))
        except ModuleNotFoundError:
            print(f"注意: 服务 {name} 未安装, 跳过", file=sys.stderr)
    return classes


def cmd_declare(args) -> None:
    """Declare every subscription queue (and dead-letter queue) before any service starts."""
    from services.chassis import operations
    from services.chassis.subscriptions import event_queue_type

    classes = ([_load_class(path) for path in args.service_class] if args.service_class
               else _installed_service_classes())
    subscriptions = operations.find_subscriptions(classes)
    queue_type = event_queue_type({"EVENT_QUEUE_TYPE": args.queue_type})
    declared = operations.declare_subscriptions(_amqp_uri(), subscriptions, queue_type)
    for sub in subscriptions:
        print(f"{sub.queue}  ← {sub.source}.events [{sub.event_type}]")
    print(f"已声明 {len(declared)} 个队列 (类型 {queue_type or 'classic'})")


def _services_with_outbox(selected) -> list[str]:
    return [name for name in (selected or SERVICE_CLASSES) if name in SERVICE_CLASSES
            and _config_exists(name)]


def _config_exists(name: str) -> bool:
    from services.chassis.config import service_config_path

    return service_config_path(name).exists()


def cmd_dead_letters(args) -> None:
    from services.chassis import operations

    if args.action == "list":
        total = 0
        for service in args.services or _services_with_outbox(()):
            try:
                letters = operations.read_dead_letters(_amqp_uri(), service)
            except OperationFailed:
                print(f"{service}.dead-letters: 队列尚未创建 (yuelihui declare)")
                continue
            total += len(letters)
            print(f"{service}.dead-letters: {len(letters)} 条")
            for letter in letters:
                print(f"  {letter.event_id}  {letter.event_type}  队列 {letter.original_queue}  "
                      f"尝试 {letter.attempts if letter.attempts is not None else '?'} 次  "
                      f"{letter.failed_at}\n    错误: {letter.error}")
        print(f"共 {total} 条死信")
        return
    if len(args.services) != 1:
        raise SystemExit("dead-letters replay 需要恰好一个服务名")
    if not args.all and not args.event_id:
        raise SystemExit("请用 --event-id 指定要重放的事件, 或用 --all 重放全部")
    wanted = None if args.all else set(args.event_id)
    replayed = operations.replay_dead_letters(_amqp_uri(), args.services[0], wanted)
    for letter in replayed:
        print(f"已重放 {letter.event_id} ({letter.event_type}) → {letter.original_queue}")
    if wanted is not None and (missing := wanted - {letter.event_id for letter in replayed}):
        print(f"没有找到这些死信: {', '.join(sorted(missing))}", file=sys.stderr)
        raise SystemExit(1)
    print(f"共重放 {len(replayed)} 条死信")


def _moment(text: str):
    from datetime import datetime

    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise SystemExit(f"无法识别的时间: {text} (例: 2026-11-01 或 2026-11-01T08:00:00+08:00)") \
            from None


def cmd_events(args) -> None:
    from services.chassis import operations

    if args.service not in SERVICE_CLASSES or not _config_exists(args.service):
        raise SystemExit(f"没有这个服务: {args.service}")
    engine = _engine(load_service(args.service)["DATABASE_URL"])
    count = operations.replay_events(engine, _amqp_uri(), args.to_queue, _moment(args.since),
                                     _moment(args.until) if args.until else None, args.type)
    print(f"{args.service}: 已把 {count} 个保留事件重放到队列 {args.to_queue}")


def _process_url(name: str) -> str | None:
    url = os.environ.get(f"YLH_{name.upper()}_URL")
    if url:
        return url
    if not _config_exists(name):
        return None
    address = load_service(name)["WEB_SERVER_ADDRESS"]
    host, _, port = address.rpartition(":")
    return f"http://{'127.0.0.1' if host in ('', '0.0.0.0') else host}:{port}"  # noqa: S104


def cmd_status(args) -> None:
    """Health of every process, queues from the management API, outbox backlogs."""
    from services.chassis import operations

    failures = 0
    print("进程:")
    for name in args.services or PROCESSES:
        url = _process_url(name)
        if url is None:
            print(f"  {name:<12} 未安装")
            continue
        healthy, detail = operations.process_health(url)
        failures += not healthy
        print(f"  {name:<12} {'健康' if healthy else '异常'}  {detail}  ({url})")

    uri = _amqp_uri()
    management = (os.environ.get("YLH_RABBITMQ_MANAGEMENT_URL")
                  or operations.management_url_for(uri))
    print("队列:")
    try:
        queues = operations.broker_queues(management, operations.vhost_of(uri))
    except Exception as error:  # noqa: BLE001 - reported, and the exit code says it failed
        failures += 1
        print(f"  无法读取 RabbitMQ 管理接口: {type(error).__name__}: {error}")
        queues = []
    for queue in queues:
        if queue["name"].startswith("rpc.reply-"):
            continue
        note = ""
        if queue["name"].endswith(".dead-letters") and queue["messages"]:
            note = "  ← 有死信: yuelihui dead-letters list"
        elif queue["consumers"] == 0 and ".events--" in queue["name"]:
            note = "  ← 没有消费者"
        print(f"  {queue['name']:<56} 消息 {queue['messages']:>6}  "
              f"消费者 {queue['consumers']:>2}  {queue['type']}{note}")

    print("发件箱 (未发布事件):")
    for name in _services_with_outbox(args.services):
        try:
            count, age = operations.outbox_backlog(_engine(load_service(name)["DATABASE_URL"]))
        except Exception as error:  # noqa: BLE001 - reported, and the exit code says it failed
            failures += 1
            print(f"  {name:<12} 无法读取: {type(error).__name__}")
            continue
        print(f"  {name:<12} 积压 {count:>6}  最老 {age:>8.1f} 秒"
              + ("  ← 超过 5 分钟" if age > 300 else ""))
    if failures:
        print(f"状态: {failures} 项异常", file=sys.stderr)
        raise SystemExit(1)
    print("状态: 全部正常")


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

    declare = commands.add_parser("declare", help="声明各服务的订阅队列与死信队列(服务启动前)")
    declare.add_argument("--queue-type", choices=["quorum", "classic"],
                         default=os.environ.get("YLH_EVENT_QUEUE_TYPE") or "classic")
    declare.add_argument("--service-class", action="append", metavar="MODULE:CLASS",
                         help="只看这些服务类 (默认: 所有已安装的服务)")
    declare.set_defaults(run=cmd_declare)

    dead = commands.add_parser("dead-letters", help="列出或重放死信")
    dead.add_argument("action", choices=["list", "replay"])
    dead.add_argument("services", nargs="*", help="服务名 (replay 时恰好一个)")
    dead.add_argument("--event-id", action="append", help="只重放这些事件 (可重复)")
    dead.add_argument("--all", action="store_true", help="重放该服务的全部死信")
    dead.set_defaults(run=cmd_dead_letters)

    events = commands.add_parser("events", help="把服务保留的事件重放给某个队列")
    events.add_argument("action", choices=["replay"])
    events.add_argument("service")
    events.add_argument("--since", required=True, help="起始时间 (ISO 8601, 无时区按 UTC)")
    events.add_argument("--until", help="截止时间 (不含)")
    events.add_argument("--to-queue", required=True, help="目标队列 (须已存在)")
    events.add_argument("--type", default="#", help="事件类型模式, 如 village.* 或 #")
    events.set_defaults(run=cmd_events)

    status = commands.add_parser("status", help="各进程健康、队列深度与消费者、发件箱积压")
    status.add_argument("services", nargs="*", help="只看这些进程 (默认全部)")
    status.set_defaults(run=cmd_status)

    args = parser.parse_args(argv)
    try:
        args.run(args)
    except OperationFailed as error:
        print(f"失败: {error}", file=sys.stderr)
        raise SystemExit(1) from None
    except DomainError as error:
        print(f"失败: {error.message}", file=sys.stderr)
        for field, reasons in list(error.details.items())[:50]:
            print(f"  {field}: {'; '.join(reasons)}", file=sys.stderr)
        raise SystemExit(1) from None


if __name__ == "__main__":
    main()
