"""The event contract of the whole platform as an AsyncAPI document.

Every service's ``schemas.EVENTS`` catalog is the source; ``docs/asyncapi.json`` is generated
from them (``python -m services.contracts > docs/asyncapi.json``) and a test keeps the two in
step, so agencies subscribing to events read a document that cannot drift from the code.
"""

import importlib
import json
from pathlib import Path

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin

from services.chassis.events import EventCatalog

SERVICES_DIR = Path(__file__).resolve().parent


def catalogs() -> list[EventCatalog]:
    """Each service that publishes events, in name order."""
    found = []
    for schemas in sorted(SERVICES_DIR.glob("*/schemas.py")):
        module = importlib.import_module(f"services.{schemas.parent.name}.schemas")
        catalog = getattr(module, "EVENTS", None)
        if isinstance(catalog, EventCatalog):
            found.append(catalog)
    return found


def _json_schema(schema) -> dict:
    """The JSON schema of a marshmallow schema, nested schemas inlined."""
    spec = APISpec("events", "1", "3.0.3",
                   plugins=[MarshmallowPlugin(schema_name_resolver=lambda _: None)])
    spec.components.schema("payload", schema=schema)
    return spec.to_dict()["components"]["schemas"]["payload"]


def asyncapi() -> dict:
    events = [(catalog, event) for catalog in catalogs() for event in catalog.types.values()]
    channels, messages = {}, {}
    for catalog, event in events:
        name = f"{event.name}.v{event.version}"
        payload = _json_schema(event.schema)
        messages[name] = {
            "name": event.name,
            "title": event.name,
            "summary": event.description,
            "contentType": "application/cloudevents+json",
            "headers": {"type": "object"},
            "payload": {
                "type": "object",
                "description": "CloudEvents 1.0 structured envelope",
                "required": ["specversion", "id", "source", "type", "time", "data"],
                "properties": {
                    "specversion": {"const": "1.0"},
                    "id": {"type": "string", "format": "uuid"},
                    "source": {"const": f"/yuelihui/{catalog.source}"},
                    "type": {"const": event.name},
                    "time": {"type": "string", "format": "date-time"},
                    "subject": {"type": "string"},
                    "datacontenttype": {"const": "application/json"},
                    "dataschema": {"const": f"urn:yuelihui:event:{event.name}:v{event.version}"},
                    "data": payload,
                },
            },
        }
        channels[f"{catalog.exchange()}/{event.name}"] = {
            "description": f"Topic exchange `{catalog.exchange()}`, routing key "
                           f"`{event.name}`.",
            "subscribe": {"operationId": f"on_{event.name.replace('.', '_')}",
                          "message": {"$ref": f"#/components/messages/{name}"}},
        }
    return {
        "asyncapi": "2.6.0",
        "info": {"title": "Yuelihui domain events", "version": "1",
                 "description": "Events every service publishes through its outbox. No "
                                "personal data. Adding a field is compatible; removing or "
                                "renaming one is a new version."},
        "defaultContentType": "application/cloudevents+json",
        "channels": channels,
        "components": {"messages": messages},
    }


def render() -> str:
    return json.dumps(asyncapi(), ensure_ascii=False, indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    print(render(), end="")
