"""Every endpoint of the API: the gateway's own, then one module per service in this package.

A service's API is one module here defining ``ROUTES``; it is picked up by name, in order.
"""

import importlib
import pkgutil

from gateway.routes.table import ANYONE, GATEWAY_ROUTES, PUBLIC, ROLES, STAFF, Route

_MODULES = sorted(name for _, name, _ in pkgutil.iter_modules(__path__) if name != "table")

ROUTES: tuple[Route, ...] = GATEWAY_ROUTES + tuple(
    route for name in _MODULES
    for route in importlib.import_module(f"{__name__}.{name}").ROUTES)

__all__ = ["ROUTES", "Route", "PUBLIC", "ROLES", "ANYONE", "STAFF"]
