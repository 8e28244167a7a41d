"""Entry point: `python app.py` runs the dev server; `gunicorn app:server` serves it in production.

Debug mode (Dash's dev tools, the Werkzeug debugger and reloader) is off unless COCKPIT_DEBUG=1:
the debugger runs code sent from the browser, so it must never be on by accident.
"""

import os

DEBUG_ENV = "COCKPIT_DEBUG"

if __name__ == "__main__":
    from cockpit.app import create_app

    # Not cockpit.wsgi's app: that one is warmed by a first request, and Dash's dev tools must be
    # set up before any request.
    app = create_app()
    # The version check would call out to the internet from a government intranet.
    app.run(
        debug=os.environ.get(DEBUG_ENV) == "1",
        port=int(os.environ.get("PORT", "8050")),
        dev_tools_disable_version_check=True,
    )
else:
    from cockpit.wsgi import app, server  # noqa: F401  (gunicorn app:server)
