"""Before the suite: say in one line what is missing instead of a hundred failing tests."""

import os
import socket
import sys
import urllib.request


def _reachable(host: str, port: int) -> bool:
    try:
        socket.create_connection((host, port), timeout=3).close()
        return True
    except OSError:
        return False


def main() -> int:
    problems = []
    if not _reachable("127.0.0.1", 5672):
        problems.append("RabbitMQ is not reachable on 127.0.0.1:5672 "
                        "(`rabbitmq-server -detached` or `docker compose up -d rabbitmq`)")
    else:
        request = urllib.request.Request("http://127.0.0.1:15672/api/overview")
        request.add_header("Authorization", "Basic Z3Vlc3Q6Z3Vlc3Q=")  # guest:guest
        try:
            urllib.request.urlopen(request, timeout=5).close()  # noqa: S310 - fixed local URL
        except OSError:
            problems.append("the RabbitMQ management API (15672) does not answer: "
                            "`rabbitmq-plugins enable rabbitmq_management`")
    if os.environ.get("YLH_TEST_DB") == "postgresql" and not _reachable("127.0.0.1", 5432):
        problems.append("YLH_TEST_DB=postgresql but PostgreSQL is not reachable on 127.0.0.1:5432")
    for problem in problems:
        print(f"preflight: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
