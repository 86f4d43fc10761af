"""The web layer: ``leadledger serve`` (FastAPI): the JSON API under ``/api/v1`` and the
server-rendered dashboard. It calls the same ``service.Workspace`` façade as the CLI; the core
imports nothing from here."""
