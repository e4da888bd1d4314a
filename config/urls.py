"""URLs of the whole site: each app's pages under its prefix, its API under /api/."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from config.api import schema  # noqa: F401 - registers the schema extensions

# The admin is part of the product: its name, and "View site" back to the dashboard.
admin.site.site_header = "Juggernaut administration"
admin.site.site_title = "Juggernaut admin"
admin.site.index_title = "Rows behind the dashboard"
admin.site.site_url = "/engine/"

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="engine:page"), name="dashboard"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    # Browsers ask for /favicon.ico on pages that name no icon (the admin's, Swagger's).
    path(
        "favicon.ico",
        login_not_required(RedirectView.as_view(url=static("juggernaut/favicon.svg"))),
    ),
    # Pages.
    path("engine/", include("engine.urls")),
    path("routing/", include("routing.urls")),
    path("chat/", include("chat.urls")),
    path("selfheal/", include("selfheal.urls")),
    path("logs/", include("logcrawler.urls")),
    path("codehealth/", include("codehealth.urls")),
    path("incidents/", include("incidents.urls")),
    # API.
    path("api/", include("engine.api.urls")),
    path("api/selfheal/", include("selfheal.api.urls")),
    path("api/chat/", include("chat.api.urls")),
    path("api/logs/", include("logcrawler.api.urls")),
    path("api/codehealth/", include("codehealth.api.urls")),
    path("api/incidents/", include("incidents.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves its start-up script as a file: the Content-Security-Policy
    # allows no inline script.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("v1/", include("routing.gateway.urls")),  # OpenAI-compatible gateway
]

handler400 = "config.views.bad_request"
handler403 = "config.views.permission_denied"
handler404 = "config.views.page_not_found"
handler500 = "config.views.server_error"
