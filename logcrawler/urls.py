from django.urls import path

from logcrawler import views

app_name = "logcrawler"
urlpatterns = [
    path("", views.page, name="page"),
]
