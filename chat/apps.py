from django.apps import AppConfig


class ChatConfig(AppConfig):
    name = "chat"
    verbose_name = "Chat"

    def ready(self) -> None:
        from django.contrib.auth import get_user_model
        from django.contrib.auth.signals import user_logged_out
        from django.db.models.signals import post_delete, post_save

        from chat import links
        from chat.auth import (
            close_streams_on_logout,
            recheck_after_revocation,
            recheck_after_token_deleted,
            recheck_after_user_change,
        )
        from chat.executor import execute_agent
        from chat.services.approvals import on_task_decided
        from chat.services.budgets import CHAT_SESSION_PREFIX, may_charge
        from chat.services.runs import AGENT_KIND
        from chat.tools import engine_tools
        from engine.executors import register_executor
        from engine.links import register_task_links
        from engine.models import ApiToken
        from engine.signals import api_tokens_revoked, task_decided
        from routing.sessions import register_session_link, register_session_owner

        # An agent run holds its worker thread for as long as the conversation lasts.
        register_executor(AGENT_KIND, execute_agent, long_running=True)
        register_session_owner(CHAT_SESSION_PREFIX, may_charge)
        engine_tools.register()
        task_decided.connect(on_task_decided, dispatch_uid="chat.resume_after_decision")
        user_logged_out.connect(
            close_streams_on_logout, dispatch_uid="chat.close_streams_on_logout"
        )
        user_model = get_user_model()
        post_save.connect(
            recheck_after_user_change, sender=user_model, dispatch_uid="chat.recheck_user_saved"
        )
        post_delete.connect(
            recheck_after_user_change, sender=user_model, dispatch_uid="chat.recheck_user_gone"
        )
        post_delete.connect(
            recheck_after_token_deleted, sender=ApiToken, dispatch_uid="chat.recheck_token_gone"
        )
        api_tokens_revoked.connect(recheck_after_revocation, dispatch_uid="chat.recheck_tokens")
        register_task_links("chat", links.task_links)
        register_session_link(CHAT_SESSION_PREFIX, links.session_url)
