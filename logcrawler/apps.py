from django.apps import AppConfig


class LogcrawlerConfig(AppConfig):
    name = "logcrawler"
    verbose_name = "Log crawler"
