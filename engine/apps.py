from django.apps import AppConfig


class EngineConfig(AppConfig):
    name = "engine"
    verbose_name = "Engine"

    def ready(self) -> None:
        from django.contrib.auth import get_user_model
        from django.db.models.signals import post_delete, post_save

        from engine import builtin_executors
        from engine.models import ApiToken
        from engine.schedules import register_engine_schedules
        from engine.services.demo import register_demo_seeder, seed_engine_demo
        from engine.token_cache import recent_owners

        for model in (ApiToken, get_user_model()):
            post_save.connect(recent_owners.clear, sender=model, dispatch_uid=f"owners-{model}")
            post_delete.connect(recent_owners.clear, sender=model, dispatch_uid=f"owners-d-{model}")
        builtin_executors.register()
        register_demo_seeder("engine", seed_engine_demo)
        # Declared here, installed only by `manage.py install_schedules`.
        register_engine_schedules()
