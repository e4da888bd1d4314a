from django.apps import AppConfig


class ChatConfig(AppConfig):
    name = "chat"
    verbose_name = "Chat"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_out

        from chat.auth import close_streams_on_logout
        from chat.executor import execute_agent
        from chat.services.approvals import on_task_decided
        from chat.services.runs import AGENT_KIND
        from chat.tools import engine_tools
        from engine.executors import register_executor
        from engine.signals import task_decided

        register_executor(AGENT_KIND, execute_agent)
        engine_tools.register()
        task_decided.connect(on_task_decided, dispatch_uid="chat.resume_after_decision")
        user_logged_out.connect(
            close_streams_on_logout, dispatch_uid="chat.close_streams_on_logout"
        )
