"""The WSGI entry for production servers: `gunicorn cockpit.wsgi:server` (what `cockpit serve` runs)."""

from cockpit.app import create_app
from warehouse.paths import keep_private

keep_private()  # sessions, briefs and the audit trail hold personal data: owner-only files
app = create_app()
server = app.server
