"""gunicorn's configuration (SPEC §19.2), read by `gunicorn -c gunicorn.conf.py` (README).

The worker timeout lies above the longest request the site serves: a sync started from the web
stops itself after WEB_SYNC_SECONDS (a 504 JSON answer and a failed SyncRun), so gunicorn never
has to kill a worker in the middle of one. The settings are read here once, so a malformed
variable stops gunicorn with one line naming it instead of a traceback per worker.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from django.core.exceptions import ImproperlyConfigured

try:
    from yam import settings
except ImproperlyConfigured as exc:
    sys.exit(f"ImproperlyConfigured: {exc}")

wsgi_app = "yam.wsgi:application"
# The web sync's own limit, then its write and the answer: well under a minute more.
timeout = settings.WEB_SYNC_SECONDS + 35
graceful_timeout = 30
# Each request's line on stdout; errors (and the app's logs) go to stderr.
accesslog = "-"
