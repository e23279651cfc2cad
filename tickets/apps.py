from django.apps import AppConfig
from django.db.models.signals import post_delete, post_migrate, post_save


class TicketsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "tickets"
    verbose_name = "Ticket closures"

    def ready(self) -> None:
        from tickets import checks  # noqa: F401  (registers the system checks)
        from tickets.roles import ensure_roles

        post_migrate.connect(ensure_roles, sender=self)

        from django.contrib.auth import get_user_model

        from tickets.services.data_version import bump_on_user_change

        # Answers show local usernames: renaming or deleting a user changes them (SPEC §19.6).
        post_save.connect(bump_on_user_change, sender=get_user_model())
        post_delete.connect(bump_on_user_change, sender=get_user_model())
