from django.urls import path

from chat import views

app_name = "chat"
urlpatterns = [
    path("", views.page, name="page"),
    path("new/", views.new_session, name="new"),
    path("<int:session_id>/", views.session_page, name="session"),
    path("<int:session_id>/archive/", views.archive, name="archive"),
]
