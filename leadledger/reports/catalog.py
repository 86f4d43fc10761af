"""Every report module, imported so that its reports register (``registry._load``)."""

from leadledger.reports import attribution, funnel, money  # noqa: F401
