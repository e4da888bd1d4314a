"""The incidents REST API, mounted at /api/incidents/ by config.urls."""

from rest_framework.routers import SimpleRouter

from incidents.api.views import IncidentViewSet

app_name = "incidents-api"

router = SimpleRouter(use_regex_path=False)
router.register("", IncidentViewSet, basename="incident")

urlpatterns = router.urls
