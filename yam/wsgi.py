"""WSGI entry point (gunicorn yam.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "yam.settings")

application = get_wsgi_application()
