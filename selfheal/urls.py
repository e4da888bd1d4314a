from django.urls import path

from selfheal import views

app_name = "selfheal"
urlpatterns = [
    path("", views.page, name="page"),
]
