from django.urls import path

from logcrawler import views

app_name = "logcrawler"
urlpatterns = [
    path("", views.page, name="page"),
    path("live/", views.live, name="live"),
    path("fingerprints/<str:fingerprint_id>/", views.fingerprint_detail, name="fingerprint"),
    path(
        "fingerprints/<str:fingerprint_id>/<str:action>/",
        views.change_state,
        name="fingerprint-action",
    ),
    path("sources/<int:source_id>/crawl/", views.crawl_now, name="crawl"),
]
