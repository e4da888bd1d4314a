from django.apps import AppConfig


class RoutingConfig(AppConfig):
    name = "routing"
    verbose_name = "Model routing"

    def ready(self) -> None:
        from routing import checks  # noqa: F401 - registers the system checks
