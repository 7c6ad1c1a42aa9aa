"""WSGI entry point for running mockpbx under a production server (gunicorn, granian).

Settings come from `MOCKPBX_*` variables, as for `mockpbx serve`. Until `mockpbx serve
--workers N` exists, the benchmark serves this module directly, e.g.

    gunicorn --chdir bench -w 2 -k gthread --threads 4 -b 127.0.0.1:8080 wsgi_app:app
"""

from __future__ import annotations

from mockpbx.settings import Settings
from mockpbx.web.app import create_app

app = create_app(Settings.load())
