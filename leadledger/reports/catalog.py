"""Every report module, imported so that its reports register (``registry._load``)."""

from leadledger.reports import data, funnel  # noqa: F401
