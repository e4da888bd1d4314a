from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save


class RoutingConfig(AppConfig):
    name = "routing"
    verbose_name = "Model routing"

    def ready(self) -> None:
        from routing import checks  # noqa: F401 - registers the system checks
        from routing.services import lookups

        for model, rows in lookups.CACHES.items():
            post_save.connect(rows.clear, sender=model, dispatch_uid=f"routing-clear-{model}")
            post_delete.connect(rows.clear, sender=model, dispatch_uid=f"routing-clear-d-{model}")
