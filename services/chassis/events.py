"""The event contract: CloudEvents 1.0 envelopes whose ``data`` match a registered schema.

Each service keeps one ``EventCatalog``: event type → marshmallow schema and version. It is
the public contract other agencies subscribe to (see ``docs/events.md``). Building an
envelope for data that does not match its schema raises ``EventContractError``: a bug.
"""

import json
import uuid
from dataclasses import dataclass
from datetime import datetime

import marshmallow

from services.chassis import clock

SPECVERSION = "1.0"


class EventContractError(Exception):
    """Code tried to publish an event that its own contract does not allow."""


@dataclass(frozen=True)
class EventType:
    name: str
    schema: type[marshmallow.Schema]
    version: int
    description: str


class EventCatalog:
    def __init__(self, source: str):
        self.source = source
        self.types: dict[str, EventType] = {}

    def register(self, name: str, schema: type[marshmallow.Schema], description: str,
                 version: int = 1) -> None:
        aggregate, _, verb = name.partition(".")
        if not aggregate or not verb:
            raise EventContractError(f"event type {name!r} is not <aggregate>.<verb>")
        self.types[name] = EventType(name, schema, version, description)

    def exchange(self) -> str:
        return exchange_name(self.source)

    def envelope(self, name: str, subject: str, data: dict,
                 time: datetime | None = None) -> dict:
        """A CloudEvents envelope for ``data``, checked against its registered schema."""
        event_type = self.types.get(name)
        if event_type is None:
            raise EventContractError(f"{self.source} has no event type {name!r}")
        schema = event_type.schema()
        try:
            wire = json.loads(json.dumps(schema.dump(data), default=str))
        except (TypeError, ValueError) as exc:
            raise EventContractError(f"{name} data cannot be serialised: {exc}") from exc
        errors = schema.validate(wire)
        unknown = set(data) - set(schema.fields)
        if unknown:
            errors["_unknown"] = sorted(unknown)
        if errors:
            raise EventContractError(f"{name} data breaks its schema: {errors}")
        return {
            "specversion": SPECVERSION,
            "id": str(uuid.uuid4()),
            "source": f"/yuelihui/{self.source}",
            "type": name,
            "time": (time or clock.now()).isoformat(),
            "subject": subject,
            "datacontenttype": "application/json",
            "dataschema": f"urn:yuelihui:event:{name}:v{event_type.version}",
            "data": wire,
        }


def exchange_name(source: str) -> str:
    """Each service publishes to ``<service>.events``, routing key = event type."""
    return f"{source}.events"


def event_time(envelope: dict) -> datetime:
    return datetime.fromisoformat(envelope["time"])
