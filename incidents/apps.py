from django.apps import AppConfig


class IncidentsConfig(AppConfig):
    name = "incidents"
    verbose_name = "Incidents"

    def ready(self) -> None:
        from chat.links import register_session_links
        from codehealth.links import register_finding_actions
        from engine.executors import register_executor
        from engine.links import register_task_links
        from engine.schedules import ScheduleSpec, register_schedule
        from engine.services.demo import register_demo_seeder
        from incidents import links, tools
        from incidents.services.demo import seed_incident_demo
        from incidents.services.intake import incident_task_for_alert
        from incidents.services.investigation import INVESTIGATE_KIND, investigate
        from incidents.services.patterns import fix_for_pattern
        from incidents.services.verification import apply_repair
        from logcrawler.links import register_fingerprint_links
        from logcrawler.services.notify import register_alert_task_opener
        from selfheal.fixes import register_fix_opener
        from selfheal.repairs import register_repair_listener

        register_executor(INVESTIGATE_KIND, investigate, long_running=True)
        register_alert_task_opener(incident_task_for_alert)
        register_fix_opener(fix_for_pattern)
        register_repair_listener(apply_repair)
        tools.register()
        register_task_links("incidents", links.task_links)
        register_fingerprint_links("incidents", links.fingerprint_links)
        register_session_links("incidents", links.session_links)
        register_finding_actions("incidents", links.finding_actions)
        register_demo_seeder("incidents", seed_incident_demo)
        register_schedule(
            ScheduleSpec(name="incidents.verify", func="incidents.jobs.verify_job", minutes=1)
        )
