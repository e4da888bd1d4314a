"""Self-heal's REST API, mounted at /api/selfheal/ by config.urls."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from selfheal.api.views import (
    AutoHealView,
    DiagnoseView,
    ExecutionViewSet,
    ProgressView,
    RepairView,
)

app_name = "selfheal-api"

router = SimpleRouter(use_regex_path=False)
router.register("executions", ExecutionViewSet, basename="execution")

urlpatterns = [
    path("diagnose/", DiagnoseView.as_view(), name="diagnose"),
    path("repair/", RepairView.as_view(), name="repair"),
    path("autoheal/", AutoHealView.as_view(), name="autoheal"),
    path("progress/", ProgressView.as_view(), name="progress"),
    *router.urls,
]
