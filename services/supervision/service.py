"""Supervision entrypoints: decode, call the use case, return the view. No rules here."""

import re

from nameko.timer import Timer

from services.chassis.actor import CurrentActor, rpc
from services.chassis.clock import Clock
from services.chassis.errors import NotFound, ValidationFailed
from services.chassis.rpc import ServiceRpc
from services.chassis.schemas import load
from services.chassis.store import Database
from services.chassis.subscriptions import subscribe
from services.chassis.web import ObservableService
from services.supervision import access, commands, statistics
from services.supervision import schemas as s
from services.supervision.gauges import SupervisionGauges
from services.supervision.models import Base
from services.supervision.vault import ClueVault

TOWNSHIP_OWNER = re.compile(r"^T\d{9}$")


class ConfigTimer(Timer):
    """``@timer`` whose interval comes from ``SUPERVISION_TIMER_INTERVAL`` when set."""

    def setup(self):
        configured = self.container.config.get("SUPERVISION_TIMER_INTERVAL")
        if configured:
            self.interval = float(configured)


timer = ConfigTimer.decorator


class SupervisionService(ObservableService):
    name = "supervision"

    db = Database(Base.metadata, s.EVENTS)
    actor = CurrentActor()
    clock = Clock()
    services = ServiceRpc()
    vault = ClueVault()
    gauges = SupervisionGauges()

    @property
    def settings(self) -> commands.Settings:
        return commands.Settings.from_config(self.services.config)

    # --- micro-power catalogue ----------------------------------------------------------

    @rpc
    def load_catalogue(self):
        with self.db.transaction() as tx:
            result = commands.load_catalogue(tx, self.actor)
        return s.PowerCatalogueResult().dump(result)

    @rpc
    def list_power_items(self, query=None):
        query = load(s.PowerItemQuery(), query)
        with self.db.reading() as session:
            items, total = commands.list_items(session, query.get("category"),
                                               query.get("village"), query["page"],
                                               query["page_size"])
        return _page(s.PowerItemView(many=True).dump(items), total, query)

    @rpc
    def get_power_item(self, item_id):
        with self.db.reading() as session:
            return s.PowerItemView().dump(commands.get_item(session, item_id))

    @rpc
    def add_power_item(self, data):
        data = load(s.PowerItemIn(), data)
        with self.db.transaction() as tx:
            commands.add_local_item(tx, self.actor, data)
        return self.get_power_item(data["id"])

    # --- exercises ----------------------------------------------------------------------

    @rpc
    def list_exercises(self, code, query=None):
        access.require_staff(self.actor)
        query = load(s.ExerciseQuery(), query)
        with self.db.reading() as session:
            rows, total = commands.list_exercises(session, self.actor, code, query.get("state"),
                                                  query["page"], query["page_size"])
            items = [commands.exercise_detail(session, e) for e in rows]
        return _page(s.ExerciseView(many=True).dump(items), total, query)

    @rpc
    def start_exercise(self, code, data):
        data = load(s.ExerciseIn(), data)
        with self.db.transaction() as tx:
            exercise = commands.start_exercise(tx, self.actor, code, data, self.clock.now())
        return self._exercise(exercise.id)

    @rpc
    def get_exercise(self, exercise_id):
        access.require_staff(self.actor)
        with self.db.reading() as session:
            exercise = commands.get_exercise_record(session, exercise_id)
            access.require_reader(self.actor, exercise.village_code)
        return self._exercise(exercise_id)

    @rpc
    def record_step(self, exercise_id, data):
        data = load(s.ExerciseStepIn(), data)
        with self.db.transaction() as tx:
            commands.record_step(tx, self.actor, exercise_id, data, self.clock.now(),
                                 self.settings)
        return self._exercise(exercise_id)

    @rpc
    def complete_exercise(self, exercise_id):
        with self.db.transaction() as tx:
            commands.complete_exercise(tx, self.actor, exercise_id, self.clock.now(),
                                       self.settings)
        return self._exercise(exercise_id)

    @rpc
    def list_alerts(self, query=None):
        access.require_staff(self.actor)
        query = load(s.AlertQuery(), query)
        with self.db.reading() as session:
            items, total = commands.list_alerts(session, self.actor, query)
        return _page(s.AlertView(many=True).dump(items), total, query)

    def _exercise(self, exercise_id):
        with self.db.reading() as session:
            exercise = commands.get_exercise_record(session, exercise_id)
            return s.ExerciseView().dump(commands.exercise_detail(session, exercise))

    # --- disclosures (the public board reads these) --------------------------------------

    @rpc
    def list_disclosures(self, query=None):
        query = load(s.DisclosureQuery(), query)
        with self.db.reading() as session:
            items, total = commands.list_disclosures(session, query)
        return _page(s.DisclosureSummary(many=True).dump(items), total, query)

    @rpc
    def get_disclosure(self, disclosure_id):
        with self.db.reading() as session:
            disclosure = commands.get_disclosure_record(session, disclosure_id)
            detail = commands.disclosure_detail(session, disclosure,
                                                access.is_staff(self.actor),
                                                self.clock.today_local())
        return s.DisclosureView().dump(detail)

    @rpc
    def publish_disclosure(self, data):
        data = load(s.DisclosureIn(), data)
        with self.db.transaction() as tx:
            disclosure = commands.publish_disclosure(tx, self.actor, data, self.clock.now(),
                                                     self.settings)
        return self.get_disclosure(disclosure.id)

    @rpc
    def correct_disclosure(self, disclosure_id, data):
        data = load(s.DisclosureCorrectionIn(), data)
        with self.db.transaction() as tx:
            corrected = commands.correct_disclosure(tx, self.actor, disclosure_id, data,
                                                    self.clock.now(), self.settings)
        return self.get_disclosure(corrected.id)

    @rpc
    def file_objection(self, disclosure_id, data, client=None):
        """``client``: the gateway's salted hash of the caller's address (public route)."""
        data = load(s.ObjectionIn(), data)
        access.require_objection_signer(self.actor, data)
        if data.get("person_id"):
            self._require_person(data["person_id"], "person_id")  # before the transaction
        settings = self.settings
        if not access.is_staff(self.actor):
            with self.db.transaction() as tx:  # counted even when the objection is refused
                commands.count_request(tx, client or "unknown", "objection",
                                       settings.objection_rate_limit,
                                       settings.rate_window_seconds, self.clock.now())
        with self.db.transaction() as tx:
            objection = commands.file_objection(tx, self.actor, disclosure_id, data,
                                                self.clock.now())
        return self._objection(objection.id)

    @rpc
    def answer_objection(self, disclosure_id, objection_id, data):
        data = load(s.ObjectionAnswerIn(), data)
        with self.db.transaction() as tx:
            commands.answer_objection(tx, self.actor, disclosure_id, objection_id, data,
                                      self.clock.now())
        return self._objection(objection_id)

    def _objection(self, objection_id):
        with self.db.reading() as session:
            objection = session.get(commands.Objection, objection_id)
            view = {c.key: getattr(objection, c.key)
                    for c in commands.Objection.__table__.columns}
        if not access.is_staff(self.actor):
            view.pop("person_id")
        return s.ObjectionView().dump(view)

    # --- matters ------------------------------------------------------------------------

    @rpc
    def list_matters(self, query=None):
        access.require_staff(self.actor)
        query = load(s.MatterQuery(), query)
        with self.db.reading() as session:
            rows, total = commands.list_matters(session, self.actor, query)
        return _page(s.MatterView(many=True).dump(rows), total, query)

    @rpc
    def get_matter(self, matter_id):
        access.require_staff(self.actor)
        with self.db.reading() as session:
            matter = commands.get_matter_record(session, matter_id)
            access.require_matter_reader(self.actor, matter.village_code, matter.owner)
            return s.MatterView().dump(matter)

    @rpc
    def raise_matter(self, data):
        data = load(s.MatterIn(), data)
        if not TOWNSHIP_OWNER.match(data["owner"]):
            self._require_person(data["owner"], "owner")  # before the transaction
        with self.db.transaction() as tx:
            matter = commands.raise_direct_matter(tx, self.actor, data, self.clock.now(),
                                                  self.settings)
        return self.get_matter(matter.id)

    @rpc
    def rectify_matter(self, matter_id, data):
        data = load(s.MatterRectifyIn(), data)
        with self.db.transaction() as tx:
            commands.rectify_matter(tx, self.actor, matter_id, data["evidence"],
                                    self.clock.now())
        return self.get_matter(matter_id)

    @rpc
    def refer_matter_to_meeting(self, matter_id, data=None):
        data = load(s.MatterReferIn(), data)
        with self.db.transaction() as tx:
            commands.refer_matter_to_meeting(tx, self.actor, matter_id, data.get("summary"))
        return self.get_matter(matter_id)

    # --- clues --------------------------------------------------------------------------

    @rpc
    def refer_clue(self, data):
        data = load(s.ClueIn(), data)
        with self.db.transaction() as tx:
            clue = commands.refer_clue(tx, self.actor, data, self.vault, self.clock.now(),
                                       self.settings)
            return s.ClueView().dump(commands.clue_metadata(clue))

    @rpc
    def list_clues(self, query=None):
        query = load(s.ClueQuery(), query)
        with self.db.reading() as session:
            rows, total = commands.list_clues(session, self.actor, query)
        return _page(s.ClueView(many=True).dump([commands.clue_metadata(c) for c in rows]),
                     total, query)

    @rpc
    def get_clue(self, clue_id):
        """Existence, reference number, state and deadlines; the referrer also sees the
        feedback once concluded. Never the content."""
        with self.db.reading() as session:
            clue = commands.get_clue_record(session, clue_id)
            access.require_clue_metadata_reader(self.actor, clue.referred_by)
            view = commands.clue_metadata(clue)
            if clue.referred_by == self.actor.username and clue.state == "concluded":
                view["feedback"] = self.vault.decrypt(clue.feedback)
        return s.ClueFeedbackView().dump(view)

    @rpc
    def read_clue(self, clue_id):
        with self.db.transaction() as tx:
            content = commands.read_clue_content(tx, self.actor, clue_id, self.vault,
                                                 self.clock.now())
        return s.ClueContent().dump(content)

    @rpc
    def list_clue_reads(self, clue_id):
        with self.db.reading() as session:
            reads = commands.clue_reads(session, self.actor, clue_id)
        return {"items": s.ClueReadView(many=True).dump(reads), "total": len(reads)}

    @rpc
    def acknowledge_clue(self, clue_id):
        return self._advance_clue(clue_id, "acknowledge")

    @rpc
    def start_clue_review(self, clue_id):
        return self._advance_clue(clue_id, "start_review")

    @rpc
    def conclude_clue(self, clue_id, data):
        return self._advance_clue(clue_id, "conclude", load(s.ClueConcludeIn(), data))

    def _advance_clue(self, clue_id, action, data=None):
        with self.db.transaction() as tx:
            clue = commands.advance_clue(tx, self.actor, clue_id, action, self.clock.now(),
                                         self.vault, data)
            return s.ClueView().dump(commands.clue_metadata(clue))

    # --- statistics ---------------------------------------------------------------------

    @rpc
    def statistics(self, query=None):
        query = load(s.SupervisionStatisticsQuery(), query)
        with self.db.reading() as session:
            result = statistics.statistics(session, self.actor, query["period"],
                                         query.get("township"))
        return s.SupervisionStatistics().dump(result)

    # --- events from other services -----------------------------------------------------

    @subscribe("registry", "village.*")
    def on_village_changed(self, envelope):
        data = load(s.VillageChanged(), envelope["data"])
        with self.db.transaction() as tx:
            commands.upsert_village(tx, data)

    @subscribe("meetings", "topic.accepted")
    def on_topic_accepted(self, envelope):
        data = load(s.TopicAccepted(), envelope["data"])
        with self.db.transaction() as tx:
            commands.on_topic_accepted(tx, data, self.clock.now(), self.settings)

    @subscribe("petitions", "petition.referred_to_supervision")
    def on_petition_referred(self, envelope):
        data = load(s.PetitionReferred(), envelope["data"])
        with self.db.transaction() as tx:
            commands.on_petition_referred(tx, data, self.clock.now(), self.settings)

    # --- periodic checks (safe with several instances: each effect claims a once key) ---

    @timer(interval=300)
    def check_finance_disclosures(self):
        commands.flag_missing_finance(self.db.transaction, self.clock.today_local(),
                                      self.settings.finance_grace_days)

    @timer(interval=300)
    def close_disclosure_windows(self):
        commands.close_windows(self.db.transaction, self.clock.now())

    @timer(interval=300)
    def check_deadlines(self):
        commands.flag_overdue(self.db.transaction, self.clock.today_local())
        commands.prune_rate_counters(self.db.transaction, self.clock.now(),
                                     self.settings.rate_window_seconds)

    # --- helpers ------------------------------------------------------------------------

    def _require_person(self, person_id: str, field: str) -> None:
        """Ask the registry (never inside a transaction) whether the person exists."""
        try:
            person = self.services.call("registry", "get_person", person_id=person_id)
        except NotFound as exc:
            raise ValidationFailed("输入有误", {field: ["登记册中没有这个人员"]}) from exc
        if not person.get("active", True):
            raise ValidationFailed("输入有误", {field: ["该人员已停用"]})


def _page(items, total, query) -> dict:
    return {"items": items, "total": total, "page": query["page"],
            "page_size": query["page_size"]}
