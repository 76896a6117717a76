"""A clock that tests can set, and the calendar rules of Asia/Shanghai.

Every rule that depends on "now" asks this module, so a test can move time without sleeping.
"""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from nameko.extensions import DependencyProvider

LOCAL = ZoneInfo("Asia/Shanghai")

_frozen: datetime | None = None
_offset = timedelta(0)


def now() -> datetime:
    """Current time in UTC (aware)."""
    if _frozen is not None:
        return _frozen
    return datetime.now(UTC) + _offset


def set_now(moment: datetime | None) -> None:
    """Freeze the clock at ``moment`` (aware), or release it with ``None``."""
    global _frozen
    if moment is not None and moment.tzinfo is None:
        raise ValueError("the clock needs an aware datetime")
    _frozen = moment.astimezone(UTC) if moment else None


def advance(delta: timedelta) -> None:
    """Move the clock forward, frozen or not."""
    global _frozen, _offset
    if _frozen is not None:
        _frozen = _frozen + delta
    else:
        _offset += delta


def reset() -> None:
    global _frozen, _offset
    _frozen, _offset = None, timedelta(0)


def today_local() -> date:
    """Today's calendar day in Asia/Shanghai: deadlines are counted in these days."""
    return now().astimezone(LOCAL).date()


class Clock(DependencyProvider):
    """Gives entrypoints ``self.clock.now()`` so that rules never call ``datetime.now``."""

    def get_dependency(self, worker_ctx):
        return _ClockView()


class _ClockView:
    now = staticmethod(now)
    today_local = staticmethod(today_local)
