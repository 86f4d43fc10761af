"""leadledger: qualify leads, follow them through the funnel, prove the return on marketing
spend.

In Python::

    import leadledger
    from leadledger.reports import ConversionParams

    ws = leadledger.open("acme")              # a project folder (holds leadledger.yaml)
    ws.run(ConversionParams(by=["channel"], window="90d")).to_pandas()
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from leadledger.service import Workspace

__version__ = "0.1.0"
__all__ = ["__version__", "open"]


def open(folder: str | Path | None = None) -> Workspace:
    """The project in ``folder`` (default: the nearest folder upward holding leadledger.yaml),
    ready to run reports: ``leadledger.open("acme").run(StagesParams())``. Close it (or use it
    in a ``with`` block) to release the ledger file."""
    from leadledger.service import Workspace

    return Workspace(Path(folder) if folder is not None else None)
