"""The server: SPARQL 1.1 Protocol endpoint, linked-data pages, dumps and the query page.

``app`` builds the FastAPI application; ``workers`` runs queries in processes that a deadline can
stop; ``results`` writes capped results; ``negotiation`` picks formats from Accept headers (with
pyoxigraph's own media-type tables); ``pages`` renders HTML; ``feed`` serves the change feed. The
server reads the store only (read-only, through the worker processes; the change log directly, it is
small) and never imports the parsers.
"""
