"""The registry's public contract: commands in, views out, event payloads."""

from marshmallow import fields, validate, validates_schema

from services.chassis.events import EventCatalog
from services.chassis.schemas import PageQuery, Schema, digits, one_of, text
from services.registry import domain

ID = validate.Regexp(r"^[A-Za-z0-9_-]{1,40}$", error="应为 1 到 40 位字母、数字、下划线或连字符")
PHONE = validate.Regexp(r"^\+?[0-9-]{5,20}$", error="电话号码格式无效")


def identifier(required: bool = True, **kwargs) -> fields.String:
    return fields.String(required=required, validate=ID, **kwargs)


# --- commands ---------------------------------------------------------------------------

class TownshipIn(Schema):
    code = digits(9)
    name = text(50)
    kind = one_of(domain.TOWNSHIP_KINDS)


class TownshipUpdate(Schema):
    name = text(50, required=False)
    kind = one_of(domain.TOWNSHIP_KINDS, required=False)


class VillageIn(Schema):
    code = digits(12)
    name = text(50)
    township_code = digits(9)
    kind = one_of(domain.VILLAGE_KINDS, load_default="village")
    pilot = fields.Boolean(load_default=False)
    consultation_room = text(100, required=False, load_default="")

    @validates_schema
    def _code_matches_township(self, data, **kwargs):
        from marshmallow import ValidationError

        errors = domain.village_code_errors(data["code"], data["township_code"])
        if errors:
            raise ValidationError(errors)


class VillageUpdate(Schema):
    name = text(50, required=False)
    kind = one_of(domain.VILLAGE_KINDS, required=False)
    pilot = fields.Boolean()
    consultation_room = text(100, required=False)


class VillageQuery(PageQuery):
    township = digits(9, required=False)
    q = text(50, required=False)


class WorkstationIn(Schema):
    id = identifier()
    name = text(100)
    sector = text(50)
    annual_budget_yuan = fields.Decimal(places=2, as_string=True, required=True,
                                        validate=validate.Range(min=0, error="应为非负金额"))


class WorkstationUpdate(Schema):
    name = text(100, required=False)
    sector = text(50, required=False)
    annual_budget_yuan = fields.Decimal(places=2, as_string=True,
                                        validate=validate.Range(min=0, error="应为非负金额"))


class PersonIn(Schema):
    id = identifier(required=False)
    name = text(100)
    role = one_of(domain.ROLES)
    phone = fields.String(load_default=None, allow_none=True, validate=PHONE)
    email = fields.Email(load_default=None, allow_none=True, error_messages={
        "invalid": "电子邮箱格式无效"})
    village_code = digits(12, required=False, load_default=None, allow_none=True)
    sector = text(50, required=False, load_default=None, allow_none=True)
    workstation_id = identifier(required=False, load_default=None, allow_none=True)
    source = one_of(domain.LIAISON_SOURCES, required=False, load_default=None, allow_none=True)
    post = one_of(domain.CADRE_POSTS, required=False, load_default=None, allow_none=True)
    department = text(100, required=False, load_default=None, allow_none=True)
    field = text(100, required=False, load_default=None, allow_none=True)


class PersonUpdate(Schema):
    name = text(100, required=False)
    phone = fields.String(allow_none=True, validate=PHONE)
    email = fields.Email(allow_none=True, error_messages={"invalid": "电子邮箱格式无效"})
    village_code = digits(12, required=False, allow_none=True)
    sector = text(50, required=False, allow_none=True)
    workstation_id = identifier(required=False, allow_none=True)
    source = one_of(domain.LIAISON_SOURCES, required=False, allow_none=True)
    post = one_of(domain.CADRE_POSTS, required=False, allow_none=True)
    department = text(100, required=False, allow_none=True)
    field = text(100, required=False, allow_none=True)


class PeopleQuery(PageQuery):
    village = digits(12, required=False)
    role = one_of(domain.ROLES, required=False)
    q = text(50, required=False)
    include_inactive = fields.Boolean(load_default=False)


class LinkIn(Schema):
    kind = one_of(tuple(domain.LINK_KINDS))
    subject_id = identifier()
    target_code = fields.String(required=True, validate=validate.Regexp(
        r"^(\d{9}|\d{12})$", error="应为 9 位乡镇代码或 12 位村代码"))


class LinkQuery(Schema):
    kind = one_of(tuple(domain.LINK_KINDS), required=False)
    subject_id = identifier(required=False)
    target_code = fields.String(validate=validate.Regexp(r"^(\d{9}|\d{12})$",
                                                         error="应为 9 位或 12 位代码"))


class TrainingIn(Schema):
    id = identifier(required=False)
    date = fields.Date(required=True)
    subject = text(200)
    township_code = digits(9, required=False, load_default=None, allow_none=True)
    attendees = fields.List(identifier(), required=True, validate=validate.Length(
        min=1, max=1000, error="参训人员应为 1 到 1000 人"))


class TrainingQuery(PageQuery):
    township = digits(9, required=False)


class ImportIn(Schema):
    kind = one_of(("townships", "villages", "workstations", "people", "links", "trainings"))
    csv = fields.String(required=True)


# --- views ------------------------------------------------------------------------------

class TownshipView(Schema):
    code = fields.String()
    name = fields.String()
    kind = fields.String()
    active = fields.Boolean()


class VillageView(Schema):
    code = fields.String()
    name = fields.String()
    township_code = fields.String()
    township_name = fields.String()
    kind = fields.String()
    pilot = fields.Boolean()
    consultation_room = fields.String()
    active = fields.Boolean()


class PublicPlaceView(Schema):
    """What ``public`` callers see of a place: its code and name."""

    code = fields.String()
    name = fields.String()
    township_code = fields.String()


class PersonView(Schema):
    id = fields.String()
    name = fields.String()
    role = fields.String()
    phone = fields.String(allow_none=True, metadata={"description": "仅对有权角色返回"})
    email = fields.String(allow_none=True, metadata={"description": "仅对有权角色返回"})
    village_code = fields.String(allow_none=True)
    sector = fields.String(allow_none=True)
    workstation_id = fields.String(allow_none=True)
    source = fields.String(allow_none=True)
    post = fields.String(allow_none=True)
    department = fields.String(allow_none=True)
    field = fields.String(allow_none=True)
    active = fields.Boolean()


class WorkstationView(Schema):
    id = fields.String()
    name = fields.String()
    sector = fields.String()
    annual_budget_yuan = fields.Decimal(places=2, as_string=True)
    townships = fields.List(fields.String())
    active = fields.Boolean()


class LinkView(Schema):
    kind = fields.String()
    subject_id = fields.String()
    target_code = fields.String()


class TrainingView(Schema):
    id = fields.String()
    date = fields.Date()
    subject = fields.String()
    township_code = fields.String(allow_none=True)
    attendees = fields.List(fields.String())


class VillageDetail(VillageView):
    contact_members = fields.List(fields.Nested(PersonView))
    liaisons = fields.List(fields.Nested(PersonView))
    cadres = fields.List(fields.Nested(PersonView))


class CoverageView(Schema):
    complete = fields.Boolean()
    villages_without_member = fields.List(fields.Nested(PublicPlaceView))
    villages_without_liaison = fields.List(fields.Nested(PublicPlaceView))
    townships_without_workstation = fields.List(fields.Nested(PublicPlaceView))
    townships_outside_leader_area = fields.List(fields.Nested(PublicPlaceView))


class ImportResult(Schema):
    kind = fields.String()
    rows = fields.Integer()
    created = fields.Integer()
    updated = fields.Integer()
    unchanged = fields.Integer()


# --- events (no phone numbers, no names of persons) ---------------------------------------

class TownshipEvent(Schema):
    code = digits(9)
    name = text(50)
    kind = one_of(domain.TOWNSHIP_KINDS)


class VillageEvent(Schema):
    code = digits(12)
    name = text(50)
    township_code = digits(9)
    kind = one_of(domain.VILLAGE_KINDS)
    pilot = fields.Boolean(required=True)
    active = fields.Boolean(required=True)
    changed = fields.List(fields.String(), load_default=list)


class PersonEvent(Schema):
    person_id = identifier()
    role = one_of(domain.ROLES)
    village_code = fields.String(allow_none=True, load_default=None)
    workstation_id = fields.String(allow_none=True, load_default=None)
    active = fields.Boolean(required=True)
    changed = fields.List(fields.String(), load_default=list)


class ContactEvent(Schema):
    kind = one_of(tuple(domain.LINK_KINDS))
    subject_id = identifier()
    target_code = fields.String(required=True)


class TrainedEvent(Schema):
    training_id = identifier()
    date = fields.Date(required=True)
    township_code = fields.String(allow_none=True, load_default=None)
    person_ids = fields.List(identifier(), required=True)


EVENTS = EventCatalog("registry")
EVENTS.register("township.registered", TownshipEvent, "A township or street was registered.")
EVENTS.register("village.registered", VillageEvent, "A village or community was registered.")
EVENTS.register("village.updated", VillageEvent, "A village's name, kind, pilot flag or "
                "state changed; `changed` names the fields.")
EVENTS.register("person.registered", PersonEvent, "A person or organisation was registered "
                "with a role.")
EVENTS.register("person.updated", PersonEvent, "A person's record changed; `changed` names "
                "the fields, never their values.")
EVENTS.register("person.deactivated", PersonEvent, "A person no longer serves (kept for history).")
EVENTS.register("contact.linked", ContactEvent, "A contact link of the three-level loop was made.")
EVENTS.register("contact.unlinked", ContactEvent, "A contact link was removed.")
EVENTS.register("liaison.trained", TrainedEvent, "Liaisons attended a training.")
