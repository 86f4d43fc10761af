"""Every report module, imported so that its reports register (``registry._load``)."""

from leadledger.reports import attribution, data, funnel, money  # noqa: F401
