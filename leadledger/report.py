"""Moved: :mod:`leadledger.reports.result` (``Report``) and :mod:`leadledger.formatting`."""

from leadledger.formatting import PERCENT_SUFFIXES, display, is_percent  # noqa: F401
from leadledger.reports.result import Report, plain  # noqa: F401
