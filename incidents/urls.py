from django.urls import path

from incidents import views

app_name = "incidents"
urlpatterns = [
    path("", views.incident_list, name="page"),
    path("<int:incident_id>/", views.incident_detail, name="detail"),
]
