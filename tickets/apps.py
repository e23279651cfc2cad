from django.apps import AppConfig


class TicketsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "tickets"
    verbose_name = "Ticket closures"

    def ready(self) -> None:
        from tickets import checks  # noqa: F401  (registers the system checks)
