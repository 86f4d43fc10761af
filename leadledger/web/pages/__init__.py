"""The dashboard's HTML pages, one module per page.

Each page module declares its place in the navigation (``PAGE``, a :class:`Page`) and its routes
(``router``); this package collects them: :data:`PAGES` in the navigation's order, :data:`NAV`
(path, title) derived from them, and :data:`ROUTERS` for the app. ``login`` holds the routes
that are no page of the navigation (the root, ``/login``, ``/healthz``).

A page never computes a number itself: it runs the registered reports (``ws.run(XxxParams(…))``)
with the CLI's parameters, picks and rounds for display only (``_shared``), and links each table
to the API's CSV of the very same call (the report's API path from the registry).
"""

from __future__ import annotations

from typing import Protocol

from fastapi import APIRouter

from leadledger.web.pages import (
    data,
    executive,
    experiments,
    funnel,
    health,
    login,
    money,
    overview,
    plan,
    scoring,
)
from leadledger.web.pages._shared import Page

__all__ = ["NAV", "PAGES", "ROUTERS", "Page"]


class PageModule(Protocol):
    """What a page module declares."""

    PAGE: Page
    router: APIRouter


_MODULES: tuple[PageModule, ...] = (
    overview,
    funnel,
    money,
    plan,
    health,
    scoring,
    experiments,
    data,
    executive,
)

#: The pages of the navigation, in its order.
PAGES: tuple[Page, ...] = tuple(sorted((m.PAGE for m in _MODULES), key=lambda p: p.order))
#: The navigation: (path, title) of each page, in order.
NAV: list[tuple[str, str]] = [(p.path, p.title) for p in PAGES]
#: Every router of the dashboard's HTML routes.
ROUTERS: tuple[APIRouter, ...] = (login.router, *(m.router for m in _MODULES))
