"""The WSGI entry for production servers: `gunicorn cockpit.wsgi:server` (what `cockpit serve` runs).

Importing it builds the app and warms it (see `warm`), so a worker is fully set up before it
accepts its first connection; the boards' first views (`keep_warm`) and the compressed scripts are
prepared in the background. The boards' answers are kept beside each release for every worker
(cockpit/answers.py): what one worker computed, the other reads, and so does a worker after a restart.
"""

import threading

import dash

from cockpit.app import create_app, precompress
from cockpit.components.board import keep_warm
from warehouse.paths import keep_private

keep_private()  # sessions, briefs and the audit trail hold personal data: owner-only files


def warm(app: dash.Dash) -> None:
    """Run Dash's first-request set-up once, now, in this process.

    Dash registers its JS bundles, assets and the pages router in before-request hooks guarded by
    a flag it sets *before* doing the work; in a threaded worker, concurrent first requests saw the
    flag set and were served by a half-set-up app (500s on the bundles). Rendering the index here,
    while the worker loads, does that set-up before any request can arrive.
    """
    with app.server.test_client() as client:
        client.get("/")


app = create_app(keep_answers=True)
server = app.server
warm(app)
keep_warm(app)
# A second or so of compressing (cockpit.app.CompressedStatic) beside the first requests, not before them.
threading.Thread(target=precompress, args=(app,), name="precompress", daemon=True).start()
