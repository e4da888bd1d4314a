from django.apps import AppConfig


class CodehealthConfig(AppConfig):
    name = "codehealth"
    verbose_name = "Code health"

    def ready(self) -> None:
        from codehealth import links, tools
        from codehealth.repositories import register_host_kind
        from codehealth.repositories.github import open_github
        from codehealth.scanners import register_builtin_scanners
        from codehealth.services.autofix import apply_ruff_fix  # noqa: F401 (its builder)
        from codehealth.services.demo import seed_codehealth_demo
        from codehealth.services.executors import run_autopr_task, run_scan_task
        from codehealth.services.patches import AUTOPR_KIND, on_task_decided
        from codehealth.services.scans import SCAN_KIND
        from engine.executors import register_executor
        from engine.links import register_task_links
        from engine.services.demo import register_demo_seeder
        from engine.signals import task_decided

        register_builtin_scanners()
        register_host_kind("github", open_github)
        register_executor(SCAN_KIND, run_scan_task, replace=True)
        register_executor(AUTOPR_KIND, run_autopr_task, replace=True)
        tools.register()
        register_demo_seeder("codehealth", seed_codehealth_demo)
        task_decided.connect(on_task_decided, dispatch_uid="codehealth.autopr_decided")
        register_task_links("codehealth", links.task_links)
