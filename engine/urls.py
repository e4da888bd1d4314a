from django.urls import path

from engine import views

app_name = "engine"
urlpatterns = [
    path("", views.page, name="page"),
    path("live/", views.live, name="live"),
    path("tasks/new/", views.new_task, name="new-task"),
    path("tasks/<int:task_id>/", views.task_detail, name="task"),
    path("tasks/<int:task_id>/approve/", views.approve, name="approve"),
    path("tasks/<int:task_id>/reject/", views.reject, name="reject"),
    path("tasks/<int:task_id>/cancel/", views.cancel, name="cancel"),
    path("tasks/<int:task_id>/retry/", views.retry, name="retry"),
]
