"""Petitions entrypoints: decode, call the use case, return the view. No rules here."""

from services.chassis.actor import CurrentActor, rpc
from services.chassis.clock import Clock
from services.chassis.errors import NotFound, ValidationFailed
from services.chassis.rpc import ServiceRpc
from services.chassis.schemas import load
from services.chassis.store import Database
from services.chassis.subscriptions import subscribe
from services.chassis.web import ObservableService
from services.petitions import access, commands, domain
from services.petitions import schemas as s
from services.petitions.gauges import PetitionGauges
from services.petitions.models import Base, Petition
from services.petitions.protect import IdentityVault
from services.petitions.settings import Settings, timer


class PetitionsService(ObservableService):
    name = "petitions"

    db = Database(Base.metadata, s.EVENTS)
    actor = CurrentActor()
    clock = Clock()
    services = ServiceRpc()
    vault = IdentityVault()
    settings = Settings()
    gauges = PetitionGauges()

    # --- intake -------------------------------------------------------------------------

    @rpc
    def file_petition(self, data):
        """Staff intake (visit, letter, phone, liaison, meeting, online on someone's behalf)."""
        data = load(s.PetitionIn(), data)
        with self.db.transaction() as tx:
            petition = commands.file_petition(tx, self.actor, data, self.settings.rules,
                                              self.vault)
        return self.get_petition(petition.id)

    @rpc
    def file_online_petition(self, data, client=None):
        """Anyone, without an account: answers the receipt code once, and nothing else."""
        data = load(s.PublicPetitionIn(), data)
        code = domain.new_receipt_code()
        rates = self.settings.rates
        with self.db.transaction() as tx:
            commands.count_request(tx, client or "unknown", "intake", rates.intake,
                                   rates.window_seconds)
            petition = commands.file_petition(tx, self.actor, {**data, "channel": "online"},
                                              self.settings.rules, self.vault,
                                              receipt_code=code)
        with self.db.reading() as session:
            view = self._receipt_view(session, petition)
        return s.PetitionReceiptIssued().dump({**view, "receipt_code": code})

    # --- receipts (public) --------------------------------------------------------------

    @rpc
    def get_receipt(self, code, client=None):
        return self._by_receipt(code, client, None)

    @rpc
    def receipt_request_review(self, code, data=None, client=None):
        data = load(s.PetitionRequestIn(), data)
        return self._by_receipt(code, client, lambda tx, p: commands.request_review(
            tx, self.actor, p, self.settings.rules, data["reason"]))

    @rpc
    def receipt_request_reexam(self, code, data=None, client=None):
        data = load(s.PetitionRequestIn(), data)
        return self._by_receipt(code, client, lambda tx, p: commands.request_reexam(
            tx, self.actor, p, self.settings.rules, data["reason"]))

    @rpc
    def receipt_close(self, code, data, client=None):
        data = load(s.PetitionCloseIn(), data)
        return self._by_receipt(code, client, lambda tx, p: commands.close(
            tx, self.actor, p, data["satisfaction"]))

    def _by_receipt(self, code, client, action):
        commands.check_receipt_shape(code)
        # the counter commits on its own: unknown codes (guesses) count too
        with self.db.transaction() as tx:
            self._count_receipt(tx, client)
        with self.db.reading() as session:
            petition = commands.petition_by_receipt(session, code)
        if action is not None:
            with self.db.transaction() as tx:
                action(tx, commands.get_petition_record(tx.session, petition.id, lock=True))
        return self._receipt(petition.id)

    def _count_receipt(self, tx, client):
        rates = self.settings.rates
        commands.count_request(tx, client or "unknown", "receipt", rates.receipt,
                               rates.window_seconds)

    def _receipt(self, petition_id):
        with self.db.reading() as session:
            petition = commands.get_petition_record(session, petition_id)
            return s.PetitionReceiptView().dump(self._receipt_view(session, petition))

    @staticmethod
    def _receipt_view(session, petition: Petition) -> dict:
        return {**_row(petition), "state_name": domain.STATE_NAMES[petition.state],
                "steps": [_row(step) for step in commands.steps(session, petition.id)]}

    # --- staff views --------------------------------------------------------------------

    @rpc
    def get_petition(self, petition_id):
        with self.db.reading() as session:
            petition = commands.get_petition_record(session, petition_id)
            access.require_read_petition(self.actor, petition)
            return self._petition_view(session, petition)

    @rpc
    def list_petitions(self, query=None):
        query = load(s.PetitionQuery(), query)
        with self.db.reading() as session:
            rows, total = commands.list_petitions(session, self.actor, query)
            items = [self._petition_view(session, p, with_steps=False) for p in rows]
        return _page(items, total, query)

    def _petition_view(self, session, petition: Petition, with_steps: bool = True) -> dict:
        """The whole petition, or only the referral for a caller who reads nothing else."""
        if access.reads_only_referral(self.actor, petition):
            return s.PetitionReferralView().dump(
                {**_row(petition), "state_name": domain.STATE_NAMES[petition.state]})
        return s.PetitionView().dump(self._whole_view(session, petition, with_steps))

    @staticmethod
    def _whole_view(session, petition: Petition, with_steps: bool) -> dict:
        view = {**_row(petition), "state_name": domain.STATE_NAMES[petition.state],
                "has_receipt": petition.receipt_hash is not None}
        if with_steps:
            view["steps"] = [_row(step) for step in commands.steps(session, petition.id)]
        return view

    @rpc
    def get_identity(self, petition_id):
        """The petitioner's identity, for authorised callers only; every read is audited."""
        with self.db.transaction() as tx:
            identity = commands.read_identity(tx, self.actor, petition_id, self.vault)
        return s.PetitionIdentityView().dump(identity)

    @rpc
    def list_identity_reads(self, query=None):
        query = load(s.IdentityReadQuery(), query)
        with self.db.reading() as session:
            rows, total = commands.list_identity_reads(session, self.actor,
                                                       query.get("subject_id"),
                                                       query["page"], query["page_size"])
            items = s.IdentityReadView(many=True).dump([_row(r) for r in rows])
        return _page(items, total, query)

    @rpc
    def rotate_identity_keys(self):
        """After putting a new key first in IDENTITY_KEYS: re-encrypt, then drop the old key."""
        with self.db.transaction() as tx:
            return commands.rotate_identity_keys(tx, self.actor, self.vault)

    # --- handling -----------------------------------------------------------------------

    @rpc
    def accept(self, petition_id):
        with self.db.transaction() as tx:
            commands.accept(tx, self.actor, petition_id, self.settings.rules)
        return self.get_petition(petition_id)

    @rpc
    def not_accept(self, petition_id, data):
        data = load(s.PetitionNotAcceptIn(), data)
        with self.db.transaction() as tx:
            commands.not_accept(tx, self.actor, petition_id, data)
        return self.get_petition(petition_id)

    @rpc
    def assign(self, petition_id, data):
        data = load(s.PetitionAssignIn(), data)
        self._require_person(data["person_id"], "person_id")  # outside any transaction
        with self.db.transaction() as tx:
            commands.assign(tx, self.actor, petition_id, data["person_id"])
        return self.get_petition(petition_id)

    @rpc
    def start(self, petition_id):
        with self.db.transaction() as tx:
            commands.start(tx, self.actor, petition_id)
        return self.get_petition(petition_id)

    @rpc
    def escalate(self, petition_id, data):
        data = load(s.PetitionEscalateIn(), data)
        if data["target_kind"] == "department":
            self._require_person(data["target"], "target", role="department")
        with self.db.transaction() as tx:
            commands.escalate(tx, self.actor, petition_id, data, self.settings.rules)
        return self.get_petition(petition_id)

    @rpc
    def record_escalation_response(self, petition_id, data=None):
        data = load(s.PetitionEscalationResponseIn(), data)
        with self.db.transaction() as tx:
            commands.record_escalation_response(tx, self.actor, petition_id, data)
        return self.get_petition(petition_id)

    @rpc
    def extend(self, petition_id, data):
        data = load(s.PetitionExtendIn(), data)
        with self.db.transaction() as tx:
            commands.extend(tx, self.actor, petition_id, data, self.settings.rules)
        return self.get_petition(petition_id)

    @rpc
    def answer(self, petition_id, data):
        data = load(s.PetitionOpinionIn(), data)
        with self.db.transaction() as tx:
            commands.answer(tx, self.actor, petition_id, data, self.settings.rules)
        return self.get_petition(petition_id)

    @rpc
    def request_review(self, petition_id, data=None):
        data = load(s.PetitionRequestIn(), data)
        with self.db.transaction() as tx:
            petition = commands.get_petition_record(tx.session, petition_id)
            access.require_on_behalf(self.actor, petition)
            commands.request_review(tx, self.actor, petition, self.settings.rules,
                                    data["reason"])
        return self.get_petition(petition_id)

    @rpc
    def review(self, petition_id, data):
        data = load(s.PetitionOpinionIn(), data)
        with self.db.transaction() as tx:
            commands.review(tx, self.actor, petition_id, data, self.settings.rules)
        return self.get_petition(petition_id)

    @rpc
    def request_reexam(self, petition_id, data=None):
        data = load(s.PetitionRequestIn(), data)
        with self.db.transaction() as tx:
            petition = commands.get_petition_record(tx.session, petition_id)
            access.require_on_behalf(self.actor, petition)
            commands.request_reexam(tx, self.actor, petition, self.settings.rules,
                                    data["reason"])
        return self.get_petition(petition_id)

    @rpc
    def reexamine(self, petition_id, data):
        data = load(s.PetitionOpinionIn(), data)
        with self.db.transaction() as tx:
            commands.reexamine(tx, self.actor, petition_id, data)
        return self.get_petition(petition_id)

    @rpc
    def close(self, petition_id, data):
        data = load(s.PetitionCloseIn(), data)
        with self.db.transaction() as tx:
            petition = commands.get_petition_record(tx.session, petition_id)
            access.require_on_behalf(self.actor, petition)
            commands.close(tx, self.actor, petition, data["satisfaction"])
        return self.get_petition(petition_id)

    @rpc
    def refer_to_meeting(self, petition_id, data):
        data = load(s.PetitionReferMeetingIn(), data)
        with self.db.transaction() as tx:
            commands.refer_to_meeting(tx, self.actor, petition_id, data, self.vault)
        return self.get_petition(petition_id)

    @rpc
    def refer_to_supervision(self, petition_id, data):
        data = load(s.PetitionReferSupervisionIn(), data)
        with self.db.transaction() as tx:
            commands.refer_to_supervision(tx, self.actor, petition_id, data, self.vault)
        return self.get_petition(petition_id)

    @rpc
    def statistics(self, query=None):
        query = load(s.PetitionStatisticsQuery(), query)
        with self.db.reading() as session:
            result = commands.statistics(session, self.actor, query["period"],
                                         query.get("township"), self.settings.rules)
        return s.PetitionStatisticsView().dump(result)

    # --- disputes -----------------------------------------------------------------------

    @rpc
    def register_dispute(self, data):
        data = load(s.DisputeIn(), data)
        for person_id in data["mediator_ids"]:
            self._require_person(person_id, "mediator_ids")
        with self.db.transaction() as tx:
            dispute = commands.register_dispute(tx, self.actor, data, self.vault)
        return self.get_dispute(dispute.id)

    @rpc
    def get_dispute(self, dispute_id):
        with self.db.reading() as session:
            dispute = commands.get_dispute_record(session, dispute_id)
            access.require_read_dispute(self.actor, dispute)
            return s.DisputeView().dump(commands.dispute_detail(session, dispute))

    @rpc
    def list_disputes(self, query=None):
        query = load(s.DisputeQuery(), query)
        with self.db.reading() as session:
            rows, total = commands.list_disputes(session, self.actor, query)
            items = [commands.dispute_detail(session, d) for d in rows]
        return _page(s.DisputeView(many=True).dump(items), total, query)

    @rpc
    def get_parties(self, dispute_id):
        with self.db.transaction() as tx:
            parties = commands.read_parties(tx, self.actor, dispute_id, self.vault)
        return s.DisputePartiesView().dump(parties)

    @rpc
    def assign_mediators(self, dispute_id, data):
        data = load(s.DisputeMediatorsIn(), data)
        for person_id in data["person_ids"]:
            self._require_person(person_id, "person_ids")
        with self.db.transaction() as tx:
            commands.assign_mediators(tx, self.actor, dispute_id, data["person_ids"])
        return self.get_dispute(dispute_id)

    @rpc
    def record_session(self, dispute_id, data):
        data = load(s.DisputeSessionIn(), data)
        with self.db.transaction() as tx:
            commands.hold_session(tx, self.actor, dispute_id, data)
        return self.get_dispute(dispute_id)

    @rpc
    def record_agreement(self, dispute_id, data):
        data = load(s.DisputeAgreementIn(), data)
        with self.db.transaction() as tx:
            commands.agree(tx, self.actor, dispute_id, data["text"], self.settings.rules)
        return self.get_dispute(dispute_id)

    @rpc
    def record_failure(self, dispute_id, data):
        data = load(s.DisputeFailIn(), data)
        with self.db.transaction() as tx:
            commands.fail(tx, self.actor, dispute_id, data["referral"])
        return self.get_dispute(dispute_id)

    @rpc
    def set_risk(self, dispute_id, data):
        data = load(s.DisputeRiskIn(), data)
        with self.db.transaction() as tx:
            commands.change_risk(tx, self.actor, dispute_id, data["level"])
        return self.get_dispute(dispute_id)

    @rpc
    def record_followup(self, dispute_id, data):
        data = load(s.DisputeFollowupIn(), data)
        with self.db.transaction() as tx:
            commands.follow_up(tx, self.actor, dispute_id, data["notes"])
        return self.get_dispute(dispute_id)

    # --- events and timers --------------------------------------------------------------

    @subscribe("registry", "village.*")
    def on_village(self, envelope):
        """Keep the local copy of villages (names, townships) for validation and statistics."""
        with self.db.transaction() as tx:
            commands.apply_village_event(tx, envelope["type"], envelope["data"])

    @timer()
    def check_deadlines(self):
        commands.check_deadlines(self.db.transaction, self.db.reading, self.settings.rules,
                                 self.clock.today_local())
        with self.db.transaction() as tx:
            commands.prune_rate_counters(tx, self.settings.rates.window_seconds)

    # --- helpers ------------------------------------------------------------------------

    def _require_person(self, person_id, field, role=None):
        """An active registry person (asked by RPC, never inside a transaction)."""
        try:
            person = self.services.call("registry", "get_person", person_id=person_id)
        except NotFound:
            person = None
        if person is None or not person.get("active", True) or (role and person["role"] != role):
            raise ValidationFailed("输入有误", {field: [f"登记册中没有在任的人员 {person_id}"]})


def _row(record) -> dict:
    return {column.key: getattr(record, column.key) for column in record.__table__.columns}


def _page(items, total, query) -> dict:
    return {"items": items, "total": total, "page": query["page"],
            "page_size": query["page_size"]}
