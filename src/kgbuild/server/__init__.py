"""The server: SPARQL 1.1 Protocol endpoint, linked-data pages, dumps and the query page.

``app`` builds the FastAPI application; ``workers`` runs queries in processes that a deadline can
stop; ``answers`` carries their answers to the client in chunks, never cut short; ``results`` writes
them; ``negotiation`` picks formats from Accept headers (with
pyoxigraph's own media-type tables); ``pages`` renders HTML; ``feed`` serves the change feed. The
server reads the store only (read-only, through the worker processes; the change log directly, it is
small) and never imports the parsers.
"""

__all__: list[str] = []  # the modules are the API: kgbuild.server.app.create_app, ...
