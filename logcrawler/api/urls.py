"""The log crawler's REST API, mounted at /api/logs/ by config.urls."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from logcrawler.api.ingest import IngestView
from logcrawler.api.views import AlertViewSet, EntryViewSet, FingerprintViewSet, SourceViewSet

app_name = "logcrawler-api"

router = SimpleRouter()
router.register("sources", SourceViewSet, basename="source")
router.register("entries", EntryViewSet, basename="entry")
router.register("fingerprints", FingerprintViewSet, basename="fingerprint")
router.register("alerts", AlertViewSet, basename="alert")

urlpatterns = [
    path("ingest/", IngestView.as_view(), name="ingest"),
    *router.urls,
]
