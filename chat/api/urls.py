"""Chat's REST API, mounted at /api/chat/ by config.urls."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from chat.api.schema import EventSchemaView
from chat.api.stream import session_event_stream
from chat.api.views import SessionViewSet

app_name = "chat-api"

router = SimpleRouter(use_regex_path=False)
router.register("sessions", SessionViewSet, basename="session")

urlpatterns = [
    *router.urls,
    path("sessions/<int:session_id>/stream/", session_event_stream, name="brain-stream"),
    path("events/schema/", EventSchemaView.as_view(), name="event-schema"),
]
