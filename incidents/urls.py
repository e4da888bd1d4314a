from django.urls import path

from incidents import views

app_name = "incidents"
urlpatterns = [
    path("", views.incident_list, name="page"),
    path("<int:incident_id>/", views.incident_detail, name="detail"),
    path("<int:incident_id>/dismiss/", views.dismiss_incident, name="dismiss"),
    path("<int:incident_id>/mark-applied/", views.mark_incident_applied, name="mark-applied"),
    path("escalate/finding/<int:finding_id>/", views.escalate, name="escalate-finding"),
]
