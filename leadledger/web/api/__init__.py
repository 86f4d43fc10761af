"""The JSON API under ``/api/v1``: the reports (generated from the registry), ingestion, and
tokens."""
