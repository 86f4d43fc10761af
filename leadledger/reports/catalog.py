"""Every report module, imported so that its reports register (``registry._load``)."""

from leadledger.reports import funnel, planning, protection  # noqa: F401
