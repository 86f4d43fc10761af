"""The demo: a deterministic synthetic company, and the demo project built from it.

``generate_company(leads, seed)`` makes the company's frames (``company``), ``write_company``
writes them as CSV or Parquet files (``write``), ``build_project`` imports them into a fresh
project and ``run_demo`` builds the demo project and its funnel summary (``project``).

The generator's modules are named after what they make: ``vocabulary`` (stages, reasons,
channels, campaigns, personas, segments), ``calendar`` (the working-day calendar and closures,
the data's timeline), ``campaigns`` (the campaign table and the trade shows), ``leads`` (leads
and their identities), ``funnel`` (the stage events), ``touches``, ``money`` (deals, costs,
traffic), ``columns`` and ``draws`` (column builders and weighted draws), ``write`` (the files and
the project's config text).

The names below are loaded on first use, so that importing the package stays cheap for the CLI
(the generator needs pandas, pyarrow and holidays; the project, the whole engine).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from leadledger.demo.company import Company, generate_company
    from leadledger.demo.project import build_project, run_demo
    from leadledger.demo.vocabulary import DEFAULT_END, KINDS
    from leadledger.demo.write import company_config_text, write_company

#: Public names, loaded on first use: name -> module.
_LAZY = {
    "Company": "leadledger.demo.company",
    "generate_company": "leadledger.demo.company",
    "write_company": "leadledger.demo.write",
    "company_config_text": "leadledger.demo.write",
    "DEFAULT_END": "leadledger.demo.vocabulary",
    "KINDS": "leadledger.demo.vocabulary",
    "build_project": "leadledger.demo.project",
    "run_demo": "leadledger.demo.project",
}

__all__ = [
    "DEFAULT_END",
    "KINDS",
    "Company",
    "build_project",
    "company_config_text",
    "generate_company",
    "run_demo",
    "write_company",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'leadledger.demo' has no attribute '{name}'")
    import importlib

    return getattr(importlib.import_module(module), name)
