"""Django-level stale checks on a small Django project made by the test: a template, a URL
name, a view or a setting nothing reaches is stale; one reached by any wiring is not."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from codehealth.models import Finding
from tests.codehealth.conftest import register, scan
from tests.codehealth.gitrepo import python_repo
from tests.codehealth.test_vulture import PROJECT, WIRED_PROJECT


@pytest.mark.django_db
def test_only_a_template_nothing_reaches_is_stale(tmp_path: Path) -> None:
    files = {
        **WIRED_PROJECT,
        "shop/templates/shop/_row.html": "<tr></tr>\n",
        "shop/templates/shop/base.html": "<html>{% include 'shop/_row.html' %}</html>\n",
        "shop/templates/shop/page.html": '{% extends "shop/base.html" %}\n',
        "shop/templates/shop/item_detail.html": "a generic view's default name\n",
        "shop/templates/registration/login.html": "auth's login view renders it\n",
        "shop/templates/admin/base_site.html": "overrides the admin's\n",
        "shop/templates/shop/forgotten.html": "<p>old</p>\n",
        "shop/static/shop/templates/x.html": "a static file, not a template\n",
        "shop/render.py": 'def show(request):\n    return render(request, "shop/page.html")\n',
    }
    repo = python_repo(tmp_path / "shop", files, config=PROJECT)

    done = scan(register(repo))

    found = Finding.objects.filter(tool="django", rule="template-never-rendered")
    assert len(found) == 1, [f.path for f in found]
    (stale,) = found
    assert (stale.rule, stale.path, stale.kind, stale.confidence) == (
        "template-never-rendered",
        "shop/templates/shop/forgotten.html",
        "stale",
        "medium",
    )
    assert stale.anchor == "template shop/forgotten.html"
    assert stale.evidence[-1] == "last changed 0 days ago"
    assert done.tool_runs.get(tool="django").status == "ok"


NAMED_PROJECT = {
    **WIRED_PROJECT,
    "site_config/settings.py": """\
        from pathlib import Path

        BASE_DIR = Path(__file__).parent
        DEBUG = False
        INSTALLED_APPS = ["shop.apps.ShopConfig"]
        ROOT_URLCONF = "site_config.urls"
        REST_FRAMEWORK = {"PAGE_SIZE": 10}
        Q_CLUSTER = {"name": "shop"}
        SHOP_GREETING = "hello"
        SHOP_PAGE_SIZE = 20
        SHOP_ROOT = BASE_DIR / "shop"
        SHOP_MEDIA = SHOP_ROOT / "media"
        SHOP_FORGOTTEN = 3
        """,
    "shop/urls.py": """\
        from django.urls import path, re_path
        from django.views.generic import RedirectView

        from shop import views
        from shop.views import ItemDetailView

        app_name = "shop"
        urlpatterns = [
            path("", views.listing, name="listing"),
            path("items/<int:pk>/", ItemDetailView.as_view(), name="item-detail"),
            re_path(r"^old/$", RedirectView.as_view(pattern_name="shop:listing"), name="old"),
            path("export/", views.export, name="export"),
            path("forgotten/", views.listing, name="forgotten"),
        ]
        """,
    "site_config/urls.py": """\
        from django.urls import include, path

        from shop.views import health

        urlpatterns = [
            path("shop/", include("shop.urls")),
            path("health/", health, name="health"),
            path("blog/", include("blog.urls", namespace="blog")),
        ]
        handler404 = "shop.views.not_found"
        """,
    "shop/views.py": """\
        from django.shortcuts import redirect, render
        from django.views import View
        from django.views.generic import DetailView
        from rest_framework import viewsets


        def listing(request):
            return render(request, "shop/listing.html", {"items": []})


        def not_found(request, exception):
            return render(request, "shop/listing.html", status=404)


        def health(request):
            return redirect("health")


        def export(request):
            return redirect("shop:export")


        def _helper(request):
            return request


        def called_elsewhere(request):
            return request


        class ShopBaseView(View):
            pass


        class ItemDetailView(ShopBaseView, DetailView):
            pass


        class StockViewSet(viewsets.ViewSet):
            pass


        def stale_view(request):
            return render(request, "shop/listing.html")
        """,
    "shop/router.py": """\
        from rest_framework.routers import SimpleRouter

        from shop.views import StockViewSet

        router = SimpleRouter()
        router.register("stock", StockViewSet, basename="stock")
        """,
    "shop/links.py": """\
        from django.conf import settings
        from django.urls import reverse, reverse_lazy

        from shop.views import called_elsewhere

        # A comment naming stale_view routes nothing.
        ITEM = reverse_lazy("shop:item-detail", args=[1])
        GREETING = getattr(settings, "SHOP_GREETING", "hi")


        def page_size():
            return settings.SHOP_PAGE_SIZE, settings.SHOP_MEDIA, called_elsewhere(None)
        """,
    "shop/templates/shop/listing.html": "<a href=\"{% url 'shop:listing' %}\">all</a>\n",
    "blog/__init__.py": "",
    "blog/views/__init__.py": "",
    "blog/views/posts.py": """\
        def post_list(request):
            return request


        def about(request):
            return request
        """,
    "blog/urls.py": """\
        from django.urls import path

        from blog.views import posts

        urlpatterns = [
            path("", posts.post_list, name="posts"),
            path("about/", "blog.views.posts.about", name="about"),
        ]
        """,
    "blog/templates/blog/menu.html": '<a href="{% url "blog:posts" %}">posts</a>\n',
    "static/blog.js": 'const links = {about: "about"};\n',
    "tests/test_shop_urls.py": """\
        from django.urls import reverse


        def test_old():
            assert reverse("shop:old")
        """,
}


@pytest.mark.django_db
def test_only_url_names_views_and_settings_nothing_reaches_are_stale(tmp_path: Path) -> None:
    files = {path: textwrap.dedent(text) for path, text in NAMED_PROJECT.items()}
    repo = python_repo(tmp_path / "shop", files, config=PROJECT)

    done = scan(register(repo))

    found = {
        f.rule: f
        for f in Finding.objects.filter(tool="django").exclude(rule="template-never-rendered")
    }
    assert {rule: f.anchor for rule, f in found.items()} == {
        "url-name-never-reversed": "url name shop:forgotten",
        "view-never-routed": "view stale_view",
        "setting-never-read": "setting SHOP_FORGOTTEN",
    }
    url = found["url-name-never-reversed"]
    assert (url.path, url.line, url.kind, url.confidence) == ("shop/urls.py", 13, "stale", "medium")
    assert "'shop:forgotten'" in url.evidence[0]
    view = found["view-never-routed"]
    assert (view.path, view.line) == ("shop/views.py", 43)
    setting = found["setting-never-read"]
    assert (setting.path, setting.line) == ("site_config/settings.py", 13)
    assert setting.evidence[-1] == "last changed 0 days ago"
    assert done.tool_runs.get(tool="django").status == "ok"
