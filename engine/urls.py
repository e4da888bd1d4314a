from django.urls import path

from engine import views

app_name = "engine"
urlpatterns = [
    path("", views.dashboard, name="page"),
]
