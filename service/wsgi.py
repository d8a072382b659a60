"""The WSGI entry point gunicorn loads: `service.wsgi:app`."""

from service import create_app

app = create_app()
# The app is loaded once before gunicorn forks; each worker opens its own connections lazily.
app.extensions["kb"].close()
