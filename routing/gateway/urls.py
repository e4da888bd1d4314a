"""The OpenAI-compatible gateway, mounted at /v1/ by config/urls.py."""

from django.urls import path

from routing.gateway.views import ChatCompletionsView, ModelsView

app_name = "gateway"
urlpatterns = [
    path("chat/completions", ChatCompletionsView.as_view(), name="chat-completions"),
    path("models", ModelsView.as_view(), name="models"),
]
