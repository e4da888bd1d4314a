"""The engine's REST API, mounted at /api/ by config.urls."""

from rest_framework.routers import SimpleRouter

from engine.api.tasks import TaskViewSet
from engine.api.workers import WorkerViewSet

app_name = "engine-api"

router = SimpleRouter(use_regex_path=False)
router.register("tasks", TaskViewSet, basename="task")
router.register("workers", WorkerViewSet, basename="worker")

urlpatterns = router.urls
