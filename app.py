"""Entry point: `python app.py` runs the dev server; `gunicorn app:server` serves it in production."""

from cockpit.wsgi import app, server  # noqa: F401  (gunicorn app:server)

if __name__ == "__main__":
    # The version check would call out to the internet from a government intranet.
    app.run(debug=True, dev_tools_disable_version_check=True)
