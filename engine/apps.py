from django.apps import AppConfig


class EngineConfig(AppConfig):
    name = "engine"
    verbose_name = "Engine"

    def ready(self) -> None:
        from engine import builtin_executors
        from engine.schedules import register_engine_schedules
        from engine.services.demo import register_demo_seeder, seed_engine_demo

        builtin_executors.register()
        register_demo_seeder("engine", seed_engine_demo)
        # Declared here, installed only by `manage.py install_schedules`.
        register_engine_schedules()
