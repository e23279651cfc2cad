from django.apps import AppConfig
from django.db.models.signals import post_migrate


class TicketsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "tickets"
    verbose_name = "Ticket closures"

    def ready(self) -> None:
        from tickets import checks  # noqa: F401  (registers the system checks)
        from tickets.roles import ensure_roles

        post_migrate.connect(ensure_roles, sender=self)
