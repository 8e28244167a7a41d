"""The WSGI entry for production servers: `gunicorn cockpit.wsgi:server` (what `cockpit serve` runs)."""

from cockpit.app import create_app

app = create_app()
server = app.server
