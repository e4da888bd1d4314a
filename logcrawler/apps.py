from django.apps import AppConfig


class LogcrawlerConfig(AppConfig):
    name = "logcrawler"
    verbose_name = "Log crawler"

    def ready(self) -> None:
        from engine.services.demo import register_demo_seeder
        from logcrawler import sources, tools  # noqa: F401  (sources registers its kinds)
        from logcrawler.services.demo import seed_logcrawler_demo

        tools.register()
        register_demo_seeder("logcrawler", seed_logcrawler_demo)
