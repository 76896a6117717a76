"""Rate limits for public callers, shared by every instance of a service.

Counters live in the service's own database, one row per (salted client hash, bucket,
window), in a table with those columns and ``count`` (each service maps it in its models).
Counting happens in the caller's transaction, so a refused request can roll its count back.
"""

from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.chassis.errors import RateLimited


def window_of(moment: datetime, window_seconds: int) -> int:
    return int(moment.timestamp() // window_seconds)


def count_request(session: Session, counter, client_key: str, bucket: str, limit: int,
                  window_seconds: int, now: datetime, message: str) -> None:
    """Count one request; ``RateLimited`` (429) beyond ``limit`` in the current window."""
    window = window_of(now, window_seconds)
    where = (counter.client_key == client_key, counter.bucket == bucket,
             counter.window == window)
    increment = update(counter).where(*where).values(count=counter.count + 1)
    if not session.execute(increment).rowcount:
        try:  # first request of the window; another instance may insert it at the same time
            with session.begin_nested():
                session.add(counter(client_key=client_key, bucket=bucket, window=window,
                                    count=1))
        except IntegrityError:
            session.execute(increment)
    if session.scalar(select(counter.count).where(*where)) > limit:
        raise RateLimited(message)


def prune(session: Session, counter, window_seconds: int, now: datetime) -> int:
    """Forget the counters of past windows."""
    current = window_of(now, window_seconds)
    return session.execute(delete(counter).where(counter.window < current)).rowcount
