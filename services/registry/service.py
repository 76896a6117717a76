"""Registry entrypoints: decode, call the use case, return the view. No rules here."""

from services.chassis.actor import CurrentActor, rpc
from services.chassis.clock import Clock
from services.chassis.schemas import load
from services.chassis.store import Database
from services.chassis.web import ObservableService
from services.registry import access, commands, importer
from services.registry import schemas as s
from services.registry.domain import CONTACT_FIELDS, fen_to_yuan
from services.registry.models import Base


class RegistryService(ObservableService):
    name = "registry"

    db = Database(Base.metadata, s.EVENTS)
    actor = CurrentActor()
    clock = Clock()

    # --- townships --------------------------------------------------------------------

    @rpc
    def list_townships(self):
        with self.db.reading() as session:
            townships = commands.list_townships(session)
        view = s.TownshipView if self._sees_details() else s.PublicPlaceView
        return {"items": view(many=True).dump(
            [{**_row(t), "township_code": t.code} for t in townships]), "total": len(townships)}

    @rpc
    def register_township(self, data):
        data = load(s.TownshipIn(), data)
        with self.db.transaction() as tx:
            commands.register_township(tx, self.actor, data)
        return self._township(data["code"])

    @rpc
    def update_township(self, code, data):
        data = load(s.TownshipUpdate(), data)
        with self.db.transaction() as tx:
            commands.update_township(tx, self.actor, code, data)
        return self._township(code)

    def _township(self, code):
        with self.db.reading() as session:
            return s.TownshipView().dump(_row(session.get(commands.Township, code)))

    # --- villages ---------------------------------------------------------------------

    @rpc
    def list_villages(self, query=None):
        query = load(s.VillageQuery(), query)
        with self.db.reading() as session:
            rows, total = commands.list_villages(session, query.get("township"), query.get("q"),
                                                 query["page"], query["page_size"])
        view = s.VillageView if self._sees_details() else s.PublicPlaceView
        items = [{**_row(v), "township_name": name} for v, name in rows]
        return _page(view(many=True).dump(items), total, query)

    @rpc
    def get_village(self, code):
        with self.db.reading() as session:
            village = commands.get_village_record(session, code)
            township = session.get(commands.Township, village.township_code)
            detail = {**_row(village), "township_name": township.name}
            if not self._sees_details():
                return s.PublicPlaceView().dump(detail)
            if access.can_read_people(self.actor, code):
                for group, people in commands.village_people(session, code).items():
                    detail[group] = [self._person(p) for p in people]
        return s.VillageDetail().dump(detail)

    @rpc
    def register_village(self, data):
        data = load(s.VillageIn(), data)
        with self.db.transaction() as tx:
            commands.register_village(tx, self.actor, data)
        return self.get_village(data["code"])

    @rpc
    def update_village(self, code, data):
        data = load(s.VillageUpdate(), data)
        with self.db.transaction() as tx:
            commands.update_village(tx, self.actor, code, data)
        return self.get_village(code)

    # --- workstations -----------------------------------------------------------------

    @rpc
    def list_workstations(self):
        with self.db.reading() as session:
            rows = commands.list_workstations(session)
        items = [self._workstation(w, townships) for w, townships in rows]
        return {"items": items, "total": len(items)}

    @rpc
    def register_workstation(self, data):
        data = load(s.WorkstationIn(), data)
        with self.db.transaction() as tx:
            commands.register_workstation(tx, self.actor, data)
        return self._find_workstation(data["id"])

    @rpc
    def update_workstation(self, workstation_id, data):
        data = load(s.WorkstationUpdate(), data)
        with self.db.transaction() as tx:
            commands.update_workstation(tx, self.actor, workstation_id, data)
        return self._find_workstation(workstation_id)

    def _find_workstation(self, workstation_id):
        return next(item for item in self.list_workstations()["items"]
                    if item["id"] == workstation_id)

    @staticmethod
    def _workstation(workstation, townships):
        return s.WorkstationView().dump({
            **_row(workstation), "townships": townships,
            "annual_budget_yuan": fen_to_yuan(workstation.annual_budget_fen)})

    # --- people -----------------------------------------------------------------------

    @rpc
    def list_people(self, query=None):
        query = load(s.PeopleQuery(), query)
        with self.db.reading() as session:
            people, total = commands.list_people(
                session, self.actor, query.get("village"), query.get("role"), query.get("q"),
                query["include_inactive"], query["page"], query["page_size"])
            items = [self._person(p) for p in people]
        return _page(items, total, query)

    @rpc
    def get_person(self, person_id):
        with self.db.reading() as session:
            person = commands.get_person_record(session, person_id)
            access.require_read_people(self.actor, person.village_code)
            return self._person(person)

    @rpc
    def register_person(self, data):
        data = load(s.PersonIn(), data)
        data.setdefault("id", None)
        data["id"] = data["id"] or commands.new_id("P")
        with self.db.transaction() as tx:
            commands.register_person(tx, self.actor, data)
        return self.get_person(data["id"])

    @rpc
    def update_person(self, person_id, data):
        data = load(s.PersonUpdate(), data)
        with self.db.transaction() as tx:
            commands.update_person(tx, self.actor, person_id, data)
        return self.get_person(person_id)

    @rpc
    def deactivate_person(self, person_id):
        with self.db.transaction() as tx:
            commands.deactivate_person(tx, self.actor, person_id, self.clock.now())
        return self.get_person(person_id)

    def _person(self, person):
        view = s.PersonView().dump(_row(person))
        if not access.can_read_contacts(self.actor, person.village_code):
            for name in CONTACT_FIELDS:
                view.pop(name, None)
        return view

    # --- links and trainings ----------------------------------------------------------

    @rpc
    def list_links(self, query=None):
        query = load(s.LinkQuery(), query)
        with self.db.reading() as session:
            links = commands.list_links(session, query.get("kind"), query.get("subject_id"),
                                        query.get("target_code"))
        return {"items": s.LinkView(many=True).dump(links), "total": len(links)}

    @rpc
    def link(self, data):
        data = load(s.LinkIn(), data)
        with self.db.transaction() as tx:
            commands.link(tx, self.actor, data)
        return s.LinkView().dump(data)

    @rpc
    def unlink(self, data):
        data = load(s.LinkIn(), data)
        with self.db.transaction() as tx:
            commands.unlink(tx, self.actor, data)
        return s.LinkView().dump(data)

    @rpc
    def list_trainings(self, query=None):
        query = load(s.TrainingQuery(), query)
        with self.db.reading() as session:
            rows, total = commands.list_trainings(session, query.get("township"),
                                                  query["page"], query["page_size"])
        items = [s.TrainingView().dump({**_row(t), "date": t.held_on, "attendees": people})
                 for t, people in rows]
        return _page(items, total, query)

    @rpc
    def record_training(self, data):
        data = load(s.TrainingIn(), data)
        data["id"] = data.get("id") or commands.new_id("TR")
        with self.db.transaction() as tx:
            commands.record_training(tx, self.actor, data)
        return s.TrainingView().dump(data)

    # --- reports and import -----------------------------------------------------------

    @rpc
    def coverage(self):
        access.require_read_people(self.actor, None)
        with self.db.reading() as session:
            return s.CoverageView().dump(commands.coverage(session))

    @rpc
    def import_csv(self, data):
        data = load(s.ImportIn(), data)
        with self.db.transaction() as tx:
            result = importer.import_csv(tx, self.actor, data["kind"], data["csv"])
        return s.ImportResult().dump(result)

    def _sees_details(self) -> bool:
        return bool(self.actor.roles) and self.actor.roles != ("public",)


def _row(record) -> dict:
    return {column.key: getattr(record, column.key) for column in record.__table__.columns}


def _page(items, total, query) -> dict:
    return {"items": items, "total": total, "page": query["page"],
            "page_size": query["page_size"]}
