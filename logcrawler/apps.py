from django.apps import AppConfig


class LogcrawlerConfig(AppConfig):
    name = "logcrawler"
    verbose_name = "Log crawler"

    def ready(self) -> None:
        from engine.links import register_task_links
        from engine.services.demo import register_demo_seeder
        from logcrawler import links, sources, tools  # noqa: F401  (sources registers its kinds)
        from logcrawler.error_patterns import FINGERPRINT_ERRORS
        from logcrawler.services.demo import seed_logcrawler_demo
        from logcrawler.services.notify import notify_operators
        from logcrawler.signals import alert_changed
        from selfheal.error_patterns import register_error_pattern_source

        tools.register()
        register_demo_seeder("logcrawler", seed_logcrawler_demo)
        register_error_pattern_source(FINGERPRINT_ERRORS)
        alert_changed.connect(notify_operators, dispatch_uid="logcrawler.notify_operators")
        register_task_links("logcrawler", links.task_links)
