"""Django admin (SPEC §11), a package: autodiscover imports `tickets.admin`, which registers the
model admins.

- model_admins.py: the model admins, their actions and mixins
- filters.py: the list filters
- wall_screens.py: the wall-screen links (create, shown once; revoke)
- views.py: the custom pages (sync statistics, unmapped agents, Freshservice connection)
"""

from tickets.admin import model_admins, wall_screens  # noqa: F401 (registers the model admins)
