"""The live serving API: authenticated REST endpoints and the ``/ws/bi-dashboard`` WebSocket
over the ``reporting`` and ``analytics`` schemas (README "Serving API").

Modules: ``settings`` (configuration), ``tokens`` (bearer tokens in ``ops.api_tokens`` and
their CLI), ``auth`` (the request's principal), ``ratelimit`` (token buckets), ``cache``
(TTL cache keyed by client, request and table versions), ``versions`` (``ops.serving_versions``
and the poller that watches it), ``reader`` (warehouse reads off the event loop), ``queries``
(the SQL of each area), ``routes_bi`` / ``routes_writes`` (REST), ``launcher`` (Dagster jobs
through the webserver's GraphQL API), ``websocket`` (the dashboard socket), ``app`` (the
factory) and ``__main__`` (``make serve``).
"""
