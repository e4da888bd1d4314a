from django.urls import path

from codehealth import views

app_name = "codehealth"
urlpatterns = [
    path("", views.page, name="page"),
]
