"""Notify entrypoints: event subscriptions, delivery timers, inbox and administration RPCs.
Rules live in ``rules.py`` / ``domain.py``; use cases in ``commands.py``; channels in
``channels.py``. Network I/O happens only between transactions."""

import logging

from nameko.extensions import DependencyProvider
from nameko.timer import Timer

from services.chassis import clock
from services.chassis.actor import CurrentActor, rpc
from services.chassis.clock import Clock
from services.chassis.errors import NotFound
from services.chassis.events import event_time
from services.chassis.rpc import ServiceRpc
from services.chassis.schemas import load
from services.chassis.store import Database
from services.chassis.subscriptions import subscribe
from services.chassis.web import ObservableService
from services.notify import channels, commands, domain
from services.notify import schemas as s
from services.notify.models import Base
from services.notify.telemetry import Telemetry, seconds_since

log = logging.getLogger(__name__)


class ConfiguredTimer(Timer):
    """``@every("DELIVERY", 1.0)``: the interval is ``config[section]["interval"]``."""

    def __init__(self, section: str, default: float, **kwargs):
        self.section = section
        super().__init__(interval=default, **kwargs)

    def setup(self):
        settings = self.container.config.get(self.section) or {}
        self.interval = float(settings.get("interval", self.interval))
        super().setup()


every = ConfiguredTimer.decorator


class Outlets(DependencyProvider):
    """The channels and delivery settings built once from the container's config."""

    def setup(self):
        config = self.container.config
        self.settings = commands.Settings.from_config(config)
        self.email = channels.EmailSender(config.get("SMTP") or {})
        self.sms = channels.sms_adapter(config.get("SMS") or {})
        self.webhook_timeout = float((config.get("WEBHOOKS") or {}).get("timeout", 10))
        self.digest_hour = int((config.get("DIGEST") or {}).get("hour", 18))

    def get_dependency(self, worker_ctx):
        return self


class NotifyService(ObservableService):
    name = "notify"

    db = Database(Base.metadata)
    actor = CurrentActor()
    clock = Clock()
    services = ServiceRpc()
    telemetry = Telemetry()
    outlets = Outlets()

    # --- events of every service ----------------------------------------------------------

    @subscribe("petitions", "#")
    def on_petitions_event(self, envelope):
        self._on_event("petitions", envelope)

    @subscribe("meetings", "#")
    def on_meetings_event(self, envelope):
        self._on_event("meetings", envelope)

    @subscribe("supervision", "#")
    def on_supervision_event(self, envelope):
        self._on_event("supervision", envelope)

    @subscribe("registry", "#")
    def on_registry_event(self, envelope):
        self._on_event("registry", envelope)

    def _on_event(self, source: str, envelope: dict) -> None:
        settings, now = self.outlets.settings, self.clock.now()
        the_plan = commands.plan(envelope)
        with self.db.reading() as session:
            person_ids, village_codes = commands.lookups(session, the_plan, settings.cache_ttl,
                                                         now)
        people, villages = self._fetch(person_ids, village_codes)
        with self.db.transaction() as tx:
            commands.forget(tx.session, envelope)
            commands.store_fetched(tx.session, people, villages, now)
            recorded = commands.record_event(tx, the_plan, settings, now)
        # applied once: a redelivered copy stopped at the inbox above and is not observed
        self.telemetry.lag.labels(source).observe(seconds_since(event_time(envelope)))
        for channel, priority, outcome in recorded.outcomes:
            self.telemetry.notifications.labels(channel, priority, outcome).inc()
            if channel == domain.INBOX:
                self.telemetry.latency.labels(channel).observe(
                    seconds_since(event_time(envelope)))
        try:  # at once rather than at the next tick; the timer catches up on any failure
            if recorded.deliveries:
                self._deliver()
            if recorded.webhooks:
                self._deliver_webhooks()
        except Exception:  # noqa: BLE001 - the event is recorded; delivery is the timer's job
            log.exception("immediate delivery after event %s failed", envelope.get("id"))

    def _fetch(self, person_ids: set[str], village_codes: set[str]) -> tuple[dict, dict]:
        """Contacts from the registry (system actor: phones and e-mail addresses)."""
        people: dict = {}
        villages: dict = {}
        for code in sorted(village_codes):
            try:
                village = self.services.call("registry", "get_village", code=code)
            except NotFound:
                village = None
            villages[code] = village
            for group in domain.VILLAGE_GROUPS:
                for record in (village or {}).get(group) or []:
                    people[record["id"]] = record
        for person_id in sorted(person_ids - set(people)):
            try:
                people[person_id] = self.services.call("registry", "get_person",
                                                       person_id=person_id)
            except NotFound:
                people[person_id] = None
        return people, villages

    # --- delivery -------------------------------------------------------------------------

    @every("DELIVERY", 2.0)
    def deliver_due(self):
        self._deliver()

    @every("WEBHOOKS", 2.0)
    def deliver_due_webhooks(self):
        self._deliver_webhooks()

    @every("DIGEST", 300.0)
    def send_daily_digest(self):
        """Once a day after ``DIGEST.hour`` (Asia/Shanghai): one e-mail per person."""
        local = self.clock.now().astimezone(clock.LOCAL)
        if local.hour < self.outlets.digest_hour:
            return
        with self.db.transaction() as tx:
            if not tx.once(f"notify.digest:{local.date().isoformat()}"):
                return
        self._send_digests()

    def _deliver(self) -> None:
        settings, metrics = self.outlets.settings, self.telemetry
        with self.db.transaction() as tx:
            jobs = commands.claim_deliveries(tx, settings, self.clock.now())
        for job in jobs:
            error = None
            if job.address is not None:
                try:
                    if job.channel == domain.EMAIL:
                        self.outlets.email.send(job.address, job.subject, job.body)
                    else:
                        self.outlets.sms.send(job.address, job.subject)
                except channels.DeliveryFailed as exc:
                    error = str(exc)
                except Exception as exc:  # noqa: BLE001 - a channel bug must not stop the rest
                    error = channels.describe(exc)  # its type only: messages may hold addresses
                    log.error("delivery %s on %s failed unexpectedly: %s", job.id, job.channel,
                              error)
                metrics.attempts.labels(job.channel, "ok" if error is None else "failed").inc()
            with self.db.transaction() as tx:
                outcome = commands.finish_delivery(tx, job, error, settings, self.clock.now())
            if outcome == "retry":
                metrics.retries.labels(job.channel).inc()
                log.warning("delivery %s on %s failed (attempt %d): %s", job.id, job.channel,
                            job.attempts, error)
                continue
            metrics.notifications.labels(job.channel, job.priority, outcome).inc()
            if outcome == "sent":
                metrics.latency.labels(job.channel).observe(seconds_since(job.event_time))
            elif outcome == "dead":
                metrics.dead.labels(job.channel).inc()
                log.error("delivery %s on %s dead after %d attempts: %s", job.id, job.channel,
                          job.attempts, error)

    def _deliver_webhooks(self) -> None:
        settings, metrics = self.outlets.settings, self.telemetry
        with self.db.transaction() as tx:
            jobs = commands.claim_webhooks(tx, settings, self.clock.now())
        for job in jobs:
            status, error = None, None
            try:
                status = channels.post_webhook(job.url, job.secret, job.subscription_id,
                                               job.event_id, job.body,
                                               self.outlets.webhook_timeout)
            except channels.DeliveryFailed as exc:
                error = str(exc)
                if error.startswith("HTTP "):
                    status = int(error.split()[1])
            metrics.attempts.labels("webhook", "ok" if error is None else "failed").inc()
            with self.db.transaction() as tx:
                outcomes = commands.finish_webhook(tx, job, status, error, settings,
                                                   self.clock.now())
            for outcome in outcomes:
                metrics.webhooks.labels(job.subscription_id, outcome).inc()
            if "delivered" in outcomes:
                metrics.latency.labels("webhook").observe(seconds_since(job.event_time))
            elif "dead" in outcomes:
                metrics.dead.labels("webhook").inc()
            else:
                metrics.retries.labels("webhook").inc()
            if "suspended" in outcomes:
                log.error("webhook subscription %s suspended after consecutive failures",
                          job.subscription_id)

    def _send_digests(self) -> None:
        with self.db.transaction() as tx:
            batches = commands.claim_digests(tx, self.outlets.settings, self.clock.now())
        for address, ids, items in batches:
            error = None
            if address is None:
                error = "no address on record"
            else:
                subject = f"【村务民主协商监督月例会】今日汇总: {len(items)} 条通知"
                body = "\n\n".join(f"{title}\n{text}" for title, text in items)
                try:
                    self.outlets.email.send(address, subject, body)
                except channels.DeliveryFailed as exc:
                    error = str(exc)
            with self.db.transaction() as tx:
                commands.finish_digest(tx, ids, error, self.clock.now())
            outcome = "sent" if error is None else "failed"
            self.telemetry.notifications.labels(domain.DIGEST, domain.LOW, outcome).inc(len(ids))

    # --- inbox and preferences ------------------------------------------------------------

    def _keys(self) -> list[str]:
        return domain.inbox_keys(self.actor.person_id, self.actor.roles, self.actor.townships)

    @rpc
    def list_inbox(self, query=None):
        query = load(s.InboxQuery(), query)
        with self.db.reading() as session:
            items, total, unread = commands.list_inbox(session, self._keys(), query["unread"],
                                                       query["page"], query["page_size"])
        views = [_inbox_view(item) for item in items]
        return s.InboxPage().dump({"items": views, "total": total, "unread": unread,
                                   "page": query["page"], "page_size": query["page_size"]})

    @rpc
    def mark_read(self, item_id):
        item_id = _int_id(item_id)
        with self.db.transaction() as tx:
            item = commands.mark_read(tx, self._keys(), item_id, self.clock.now())
        return s.InboxItemView().dump(_inbox_view(item))

    @rpc
    def get_preferences(self):
        with self.db.reading() as session:
            preference = commands.get_preference(session, self.actor.person_id)
        return _preference_view(self.actor.person_id, preference)

    @rpc
    def set_preferences(self, data):
        data = load(s.NotifyPreferenceIn(), data)
        with self.db.transaction() as tx:
            preference = commands.set_preference(tx, self.actor.person_id, data,
                                                 self.clock.now())
        return _preference_view(self.actor.person_id, preference)

    # --- webhooks and failures (district administrators) ----------------------------------

    @rpc
    def list_webhooks(self):
        self.actor.require("district_admin")
        with self.db.reading() as session:
            items = commands.list_webhooks(session)
        return {"items": s.WebhookView(many=True).dump(items), "total": len(items)}

    @rpc
    def create_webhook(self, data):
        self.actor.require("district_admin")
        data = load(s.WebhookIn(), data)
        with self.db.transaction() as tx:
            subscription = commands.create_webhook(tx, data, self.clock.now())
        return s.WebhookCreated().dump(subscription)

    @rpc
    def resume_webhook(self, subscription_id):
        self.actor.require("district_admin")
        with self.db.transaction() as tx:
            subscription = commands.resume_webhook(tx, subscription_id, self.clock.now())
        return s.WebhookView().dump(subscription)

    @rpc
    def list_webhook_deliveries(self, subscription_id, query=None):
        self.actor.require("district_admin")
        query = load(s.NotifyPageQuery(), query)
        with self.db.reading() as session:
            rows, total = commands.webhook_deliveries(session, subscription_id, query["page"],
                                                      query["page_size"])
        items = [{**_row(row), "log": [_row(a) for a in attempts]} for row, attempts in rows]
        return s.WebhookDeliveryPage().dump({"items": items, "total": total,
                                             "page": query["page"],
                                             "page_size": query["page_size"]})

    @rpc
    def list_failures(self, query=None):
        self.actor.require("district_admin")
        query = load(s.NotifyPageQuery(), query)
        with self.db.reading() as session:
            rows, total = commands.list_failures(session, query["page"], query["page_size"])
        return s.FailedDeliveryPage().dump({"items": [_row(r) for r in rows], "total": total,
                                            "page": query["page"],
                                            "page_size": query["page_size"]})

    @rpc
    def retry_failure(self, delivery_id):
        self.actor.require("district_admin")
        delivery_id = _int_id(delivery_id)
        with self.db.transaction() as tx:
            row = commands.retry_failure(tx, delivery_id, self.clock.now())
        return s.NotifyDeliveryRetried().dump(row)


def _row(record) -> dict:
    return {column.key: getattr(record, column.key) for column in record.__table__.columns}


def _inbox_view(item) -> dict:
    return {**_row(item), "read": item.read_at is not None}


def _preference_view(person_id, preference) -> dict:
    if preference is None:
        return s.NotifyPreferenceView().dump({"person_id": person_id, "channels": {},
                                        "quiet_start": None, "quiet_end": None})
    return s.NotifyPreferenceView().dump(_row(preference))


def _int_id(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise NotFound("记录不存在") from exc
