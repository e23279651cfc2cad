"""Django admin (SPEC §11), a package: autodiscover imports `tickets.admin`, which registers the
model admins.

- model_admins.py: the model admins, their actions and mixins
- filters.py: the list filters
- views.py: the custom pages (sync statistics, unmapped agents, Freshservice connection)
"""

from tickets.admin import model_admins  # noqa: F401 (registers the model admins)
