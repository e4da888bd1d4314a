from django.apps import AppConfig


class SelfhealConfig(AppConfig):
    name = "selfheal"
    verbose_name = "Self-heal"

    def ready(self) -> None:
        from engine.executors import register_executor
        from engine.links import register_task_links
        from selfheal import links
        from selfheal.checks import register_default_checks
        from selfheal.error_patterns import TASK_ERRORS, register_error_pattern_source
        from selfheal.playbooks import register_default_playbooks
        from selfheal.repairs import REPAIR_KIND, run_repair_task
        from selfheal.tools import register as register_tools

        register_default_checks()
        register_default_playbooks()
        register_error_pattern_source(TASK_ERRORS)
        register_tools()
        register_executor(REPAIR_KIND, run_repair_task)
        register_task_links("selfheal", links.task_links)
