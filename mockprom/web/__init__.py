"""The web console: Prometheus's UI pages (query, alerts, rules, targets, status) and the
mock's own (scenario, request journal, faults and timeline, clock), served by the same
server.

- ``ConsoleFiles`` (``files.py``): a WSGI layer in front of the app that serves the page
  shells and static files (they hold no data, so they are served without credentials and
  are never faulted nor journaled);
- ``bp`` (``pages.py``): ``/`` (redirect to the emulated version's home page, under the
  server's auth like every API path) and the console's own control endpoint
  ``GET /-/mockprom/families`` (``families.py``).

Everything a page shows it reads from the HTTP API and the control API, like any client,
with the credentials the page asks for.
"""

from __future__ import annotations

from mockprom.web.files import ConsoleFiles
from mockprom.web.pages import ROUTES, bp

__all__ = ["ConsoleFiles", "ROUTES", "bp"]
