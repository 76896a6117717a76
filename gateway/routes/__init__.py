"""Every endpoint of the API, in one table assembled from one module per service."""

from gateway.routes import registry
from gateway.routes.table import ANYONE, GATEWAY_ROUTES, PUBLIC, ROLES, STAFF, Route

ROUTES: tuple[Route, ...] = GATEWAY_ROUTES + registry.ROUTES

__all__ = ["ROUTES", "Route", "PUBLIC", "ROLES", "ANYONE", "STAFF"]
