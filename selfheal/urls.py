from django.urls import path

from selfheal import views

app_name = "selfheal"
urlpatterns = [
    path("", views.page, name="page"),
    path("executions/<int:pk>/", views.execution_panel, name="execution"),
    path("lists/", views.lists_panel, name="lists"),
]
