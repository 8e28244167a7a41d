"""Entry point: `python app.py` runs the dev server; `gunicorn app:server` serves it in production."""

from cockpit.app import create_app

app = create_app()
server = app.server

if __name__ == "__main__":
    # The version check would call out to the internet from a government intranet.
    app.run(debug=True, dev_tools_disable_version_check=True)
