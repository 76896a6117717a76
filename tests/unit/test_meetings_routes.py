"""The meetings API table: every route reaches an RPC method of the service, and the OpenAPI
document carries them with unique schema names."""

import pytest

from gateway.openapi import build
from gateway.routes.meetings import ROUTES
from services.meetings.service import MeetingsService

pytestmark = pytest.mark.unit


def test_every_route_calls_an_rpc_entrypoint_of_the_service():
    for route in ROUTES:
        service, method = route.rpc
        assert service == "meetings"
        entrypoint = getattr(MeetingsService, method)
        assert getattr(entrypoint, "nameko_entrypoints", None), route.name


def test_public_reads_only_disclosed_summaries():
    public = sorted(route.path for route in ROUTES if "public" in route.roles)
    assert public == ["/meeting-summaries", "/meetings/<meeting_id>/summary"]


def test_the_openapi_document_lists_the_meetings_endpoints():
    document = build("test")
    paths = document["paths"]
    for path in ("/villages/{code}/topics", "/meetings/{meeting_id}/attendance",
                 "/meetings/{meeting_id}/outcomes", "/resolutions/{resolution_id}",
                 "/compliance", "/villages/{code}/candidates"):
        assert path in paths, path
    assert "MeetingSummaryView" in document["components"]["schemas"]
    assert not [name for name in document["components"]["schemas"] if name[-1].isdigit()]
