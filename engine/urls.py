from django.urls import path

from engine import views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
]
