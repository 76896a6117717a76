"""The event contract document cannot drift from the code, nor carry personal data."""

from pathlib import Path

import pytest

from services import contracts

pytestmark = pytest.mark.unit

PERSONAL = {"phone", "email", "id_number", "identity", "petitioner", "petitioner_name",
            "address", "client_ip"}


def test_asyncapi_document_is_generated_from_the_catalogs():
    committed = (Path(__file__).parents[2] / "docs" / "asyncapi.json").read_text("utf-8")
    assert committed == contracts.render(), (
        "docs/asyncapi.json is stale: python -m services.contracts > docs/asyncapi.json")


def test_every_event_type_is_documented_with_its_fields():
    document = contracts.asyncapi()
    for catalog in contracts.catalogs():
        for event in catalog.types.values():
            message = document["components"]["messages"][f"{event.name}.v{event.version}"]
            data = message["payload"]["properties"]["data"]
            assert set(data["properties"]) == set(event.schema().fields)
            assert f"{catalog.exchange()}/{event.name}" in document["channels"]


def test_no_event_schema_has_a_personal_data_field():
    for catalog in contracts.catalogs():
        for event in catalog.types.values():
            assert not PERSONAL & set(event.schema().fields), event.name
