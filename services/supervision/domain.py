"""Supervision rules: procedures of power items, disclosure windows, deadlines, periods,
money and the states of matters and clues. Pure functions: no nameko, no SQL."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from services.chassis.clock import LOCAL

CATEGORIES = ("major_decision", "daily_management", "convenience_service", "benefit_fund")
DISCLOSURE_KINDS = ("power_item", "finance", "livelihood_project", "village_construction",
                    "other")
MATTER_SOURCES = ("meeting_topic", "petition", "procedure_alert", "direct")
CLUE_SOURCES = ("matter", "petition", "direct")
CLUE_OUTCOMES = ("verified", "not_verified", "handled_otherwise")
CLUE_STATES = ("referred", "acknowledged", "under_review", "concluded")
MATTER_STATES = ("open", "rectified")
EXERCISE_STATES = ("in_progress", "completed")
# alert kinds: the first three are procedure alerts (power.procedure_violated)
PROCEDURE_ALERTS = ("out_of_order", "skipped", "no_disclosure")
ALERT_KINDS = PROCEDURE_ALERTS + ("objections_unanswered",)

MAX_AMOUNT = Decimal("999999999999.99")  # fits Numeric(14, 2)
TOWNSHIP_CODE_LENGTH = 9


def township_of(village_code: str) -> str:
    return village_code[:TOWNSHIP_CODE_LENGTH]


# --- money --------------------------------------------------------------------------------

def amount_errors(amount: Decimal) -> list[str]:
    """Exact yuan: finite, not negative, at most two decimals, within Numeric(14, 2)."""
    if not amount.is_finite():
        return ["金额应为有限数值"]
    if amount < 0:
        return ["金额不能为负数"]
    if -amount.as_tuple().exponent > 2:
        return ["金额最多两位小数(精确到分)"]
    if amount > MAX_AMOUNT:
        return ["金额过大"]
    return []


def yuan_to_fen(amount: Decimal) -> int:
    return int(amount.quantize(Decimal("0.01")) * 100)


def fen_to_yuan(fen: int | None) -> Decimal | None:
    if fen is None:
        return None
    return (Decimal(int(fen)) / 100).quantize(Decimal("0.01"))


# --- disclosures -------------------------------------------------------------------------

AMOUNT_KINDS = ("livelihood_project", "village_construction", "finance")


def disclosure_kind_errors(data: dict) -> dict[str, list[str]]:
    """Fields a disclosure of its kind must carry."""
    errors = {}
    if data.get("kind") == "finance" and not data.get("finance_month"):
        errors["finance_month"] = ["财务公开须注明所属月份"]
    if data.get("kind") in AMOUNT_KINDS and data.get("amount") is None:
        errors["amount"] = ["此类公开须填写金额"]
    return errors


def corrected_fields(original: dict, correction: dict) -> dict:
    """A correction keeps the original's amount, fund source and beneficiaries it omits
    (an explicit ``None`` clears one)."""
    kept = {name: original[name] for name in ("amount", "fund_source", "beneficiaries")
            if name not in correction}
    return {**correction, **kept}


# --- procedures of power items ------------------------------------------------------------

@dataclass(frozen=True)
class Alert:
    kind: str  # one of PROCEDURE_ALERTS
    step: str | None  # the step concerned (None for no_disclosure)


def step_alerts(procedure: list[str], recorded: dict[str, date], step: str,
                done_on: date) -> list[Alert]:
    """Alerts raised by recording ``step`` (known, not yet recorded) on ``done_on``.

    Every earlier step not yet recorded is out of order (one alert per missing step); a step
    dated before an earlier recorded step is itself out of order.
    """
    position = procedure.index(step)
    earlier = procedure[:position]
    alerts = [Alert("out_of_order", key) for key in earlier if key not in recorded]
    if any(recorded[key] > done_on for key in earlier if key in recorded):
        alerts.append(Alert("out_of_order", step))
    return alerts


def completion_alerts(procedure: list[str], recorded: set[str], alerted: set[str | None],
                      requires_disclosure: bool, has_disclosure: bool) -> list[Alert]:
    """At completion: every step still missing is skipped, unless already alerted; a benefit
    fund exercise without a disclosure raises its own alert."""
    alerts = [Alert("skipped", key) for key in procedure
              if key not in recorded and key not in alerted]
    if requires_disclosure and not has_disclosure:
        alerts.append(Alert("no_disclosure", None))
    return alerts


def alert_summary(alert: Alert, step_names: dict[str, str]) -> str:
    name = step_names.get(alert.step or "", alert.step or "")
    if alert.kind == "out_of_order":
        return f"程序顺序违规: 步骤“{name}”未按规定顺序进行"
    if alert.kind == "skipped":
        return f"程序缺失: 步骤“{name}”未履行即办结"
    return "惠民资金事项未经公开即办结"


# --- disclosure windows -------------------------------------------------------------------

def window_ends_on(published_on: date, days: int) -> date:
    """The last day (Asia/Shanghai) on which objections are accepted."""
    return published_on + timedelta(days=days)


def window_open(ends_on: date, today: date) -> bool:
    return today <= ends_on


# --- deadlines and periods ----------------------------------------------------------------

def local_day(moment: datetime) -> date:
    return moment.astimezone(LOCAL).date()


def due_date(start: date, days: int) -> date:
    return start + timedelta(days=days)


def is_overdue(due: date, today: date) -> bool:
    return today > due


def month_of(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def previous_month(day: date) -> str:
    first = day.replace(day=1)
    return month_of(first - timedelta(days=1))


def period_months(period: str) -> list[str]:
    """``2026`` (year), ``2026-Q4`` (quarter) or ``2026-11`` (month) → its months."""
    year, _, rest = period.partition("-")
    y = int(year)
    if not rest:
        return [f"{y:04d}-{m:02d}" for m in range(1, 13)]
    if rest.startswith("Q"):
        q = int(rest[1:])
        return [f"{y:04d}-{m:02d}" for m in range(3 * q - 2, 3 * q + 1)]
    return [f"{y:04d}-{int(rest):02d}"]


def previous_period(period: str) -> str:
    year, _, rest = period.partition("-")
    y = int(year)
    if not rest:
        return f"{y - 1:04d}"
    if rest.startswith("Q"):
        q = int(rest[1:])
        return f"{y - 1:04d}-Q4" if q == 1 else f"{y:04d}-Q{q - 1}"
    m = int(rest)
    return f"{y - 1:04d}-12" if m == 1 else f"{y:04d}-{m - 1:02d}"


def change_percent(current: int, previous: int) -> Decimal | None:
    """Change against the previous period in percent (−25.00 for a quarter fewer)."""
    if previous == 0:
        return None
    return (Decimal(current - previous) * 100 / previous).quantize(Decimal("0.01"))


def rate(part: int, whole: int) -> Decimal | None:
    if whole == 0:
        return None
    return (Decimal(part) / whole).quantize(Decimal("0.0001"))


# --- matters and clues --------------------------------------------------------------------

CLUE_ACTIONS = {  # action → (state it needs, state it leads to)
    "acknowledge": ("referred", "acknowledged"),
    "start_review": ("acknowledged", "under_review"),
    "conclude": ("under_review", "concluded"),
}

CLUE_STATE_NAMES = {"referred": "已移交", "acknowledged": "已签收", "under_review": "核查中",
                    "concluded": "已办结"}
MATTER_STATE_NAMES = {"open": "整改中", "rectified": "已整改"}
EXERCISE_STATE_NAMES = {"in_progress": "进行中", "completed": "已办结"}


def clue_next_state(state: str, action: str) -> str | None:
    """The state after ``action``, or None if ``action`` is illegal in ``state``."""
    needed, after = CLUE_ACTIONS[action]
    return after if state == needed else None


def reference_number(day: date, suffix: str) -> str:
    """A clue's reference number: ``XS-20261126-3F9A2C``; says nothing about its content."""
    return f"XS-{day:%Y%m%d}-{suffix.upper()}"
