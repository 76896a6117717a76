"""docs/events.md lists every event of every service as the code registers it (type, version,
description, data fields). After adding or changing an event, regenerate the catalog section:

    python -m tests.unit.test_deploy_events_doc
"""

import importlib
import importlib.util

import pytest

from services.chassis.config import ROOT

pytestmark = pytest.mark.unit

DOC = ROOT / "docs/events.md"
BEGIN, END = "<!-- catalog:begin (generated) -->", "<!-- catalog:end -->"
SERVICES = ("registry", "meetings", "petitions", "supervision", "notify")


def catalogs() -> dict:
    found = {}
    for service in SERVICES:
        if importlib.util.find_spec(f"services.{service}") is None:
            continue
        try:
            module = importlib.import_module(f"services.{service}.schemas")
        except ModuleNotFoundError:
            continue
        if getattr(module, "EVENTS", None) is not None:
            found[service] = module.EVENTS
    return found


def render() -> str:
    lines = [BEGIN, ""]
    for service, catalog in catalogs().items():
        lines += [f"### {service} (exchange `{catalog.exchange()}`)", ""]
        for name, event in sorted(catalog.types.items()):
            lines += [f"#### `{name}` (v{event.version})", "", event.description, "",
                      f"`dataschema`: `urn:yuelihui:event:{name}:v{event.version}`", "",
                      "| field | type | required |", "|---|---|---|"]
            for field_name, field in event.schema().fields.items():
                kind = type(field).__name__
                if kind == "List":
                    kind = f"List[{type(field.inner).__name__}]"
                lines.append(f"| `{field.data_key or field_name}` | {kind} | "
                             f"{'yes' if field.required else 'no'} |")
            lines.append("")
    lines.append(END)
    return "\n".join(lines)


def current() -> str:
    text = DOC.read_text(encoding="utf-8")
    return text[text.index(BEGIN):text.index(END) + len(END)]


def test_the_event_catalog_in_the_docs_matches_the_code():
    assert current() == render(), "regenerate: python -m tests.unit.test_deploy_events_doc"


def test_every_event_type_is_documented_once():
    text = DOC.read_text(encoding="utf-8")
    for catalog in catalogs().values():
        for name in catalog.types:
            assert text.count(f"#### `{name}` (v") == 1


if __name__ == "__main__":
    text = DOC.read_text(encoding="utf-8")
    DOC.write_text(text.replace(current(), render()), encoding="utf-8")
    print(f"{DOC}: catalog regenerated")
