"""Shared infrastructure for every Yuelihui service (the microservice chassis).

Config, database and unit of work, outbox and inbox, event envelope, actor context,
metrics, domain errors and the clock. It holds no domain rules and imports no service.
"""
