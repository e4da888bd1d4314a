"""Code health's REST API, mounted at /api/codehealth/ by config.urls."""

from rest_framework.routers import SimpleRouter

from codehealth.api.reports import WeeklyReportViewSet
from codehealth.api.views import AutoPRViewSet, FindingViewSet, RepositoryViewSet, ScanViewSet

app_name = "codehealth-api"

router = SimpleRouter(use_regex_path=False)
router.register("repositories", RepositoryViewSet, basename="repository")
router.register("scans", ScanViewSet, basename="scan")
router.register("findings", FindingViewSet, basename="finding")
router.register("autoprs", AutoPRViewSet, basename="autopr")
router.register("reports", WeeklyReportViewSet, basename="report")

urlpatterns = router.urls
