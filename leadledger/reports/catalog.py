"""Every report module, imported so that its reports register (``registry._load``)."""

from leadledger.reports import (  # noqa: F401
    attribution,
    data,
    executive,
    experiments,
    funnel,
    model,
    money,
    planning,
    protection,
    scoring,
)
