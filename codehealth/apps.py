from django.apps import AppConfig


class CodehealthConfig(AppConfig):
    name = "codehealth"
    verbose_name = "Code health"
