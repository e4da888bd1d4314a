from django.urls import path

from codehealth import report_views, views

app_name = "codehealth"
urlpatterns = [
    path("", views.page, name="page"),
    path("r/<slug:name>/", views.repository_page, name="repository"),
    path("reports/", report_views.reports, name="reports"),
    path("reports/write/", report_views.write_report, name="report-write"),
    path("reports/<int:report_id>/", report_views.report, name="report"),
    path("reports/<int:report_id>/markdown/", report_views.report_markdown, name="report-markdown"),
    path("r/<slug:name>/scan/", views.scan_now, name="scan-now"),
    path("r/<slug:name>/autofix/", views.autofix, name="autofix"),
    path("r/<slug:name>/code/", views.code_view, name="code"),
    path("scans/<int:scan_id>/progress/", views.scan_progress, name="scan-progress"),
    path("scans/<int:scan_id>/sarif/", views.scan_sarif, name="scan-sarif"),
    path(
        "findings/<int:finding_id>/<str:action>/",
        views.finding_action,
        name="finding-action",
    ),
    path(
        "autoprs/<int:autopr_id>/<str:action>/",
        views.autopr_action,
        name="autopr-action",
    ),
]
