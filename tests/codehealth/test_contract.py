"""The contract-drift scanner on a small Django project made by the test: its JavaScript's
calls against Django's own URL resolver and drf-spectacular's schema, loaded by the probe
in a checkout of the commit."""

from __future__ import annotations

from pathlib import Path

import pytest

from codehealth.models import Finding, FindingKind
from codehealth.processes import clean_environment
from codehealth.scanners import ScanContext
from codehealth.scanners.contract import ContractScanner, find_calls, settings_module
from tests.codehealth.conftest import register, scan
from tests.codehealth.gitrepo import GitRepo, python_repo

PROJECT = {
    "pyproject.toml": '[project]\nname = "storefront"\n',
    "manage.py": """\
        import os
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "storefront_site.settings")
        """,
    "storefront_site/__init__.py": "",
    "storefront_site/settings.py": """\
        SECRET_KEY = "test-only"
        INSTALLED_APPS = [
            "django.contrib.contenttypes",
            "django.contrib.auth",
            "rest_framework",
            "drf_spectacular",
        ]
        ROOT_URLCONF = "storefront_site.urls"
        DATABASES = {}
        REST_FRAMEWORK = {"DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema"}
        USE_TZ = True
        """,
    "storefront_site/urls.py": """\
        from django.http import HttpResponse
        from django.urls import path
        from drf_spectacular.utils import extend_schema
        from rest_framework.response import Response
        from rest_framework.views import APIView


        class Items(APIView):
            @extend_schema(responses={200: None})
            def get(self, request):
                return Response([])

            @extend_schema(responses={201: None})
            def post(self, request):
                return Response({}, status=201)


        class Hidden(APIView):
            @extend_schema(exclude=True)
            def get(self, request):
                return Response([])


        def page(request):
            return HttpResponse("page")


        urlpatterns = [
            path("api/items/", Items.as_view()),
            path("api/items/<int:pk>/", Items.as_view()),
            path("api/hidden/", Hidden.as_view()),
            path("page/", page),
        ]
        """,
    "static/app.js": """\
        import { api } from "./api.js";

        export function load(id) {
          fetch("/api/items/");
          fetch(`/api/items/${id}/`, { method: "POST" });
          api("/api/items/", { name: "x" }, "DELETE");
          fetch("/api/orders/" + id + "/");
          fetch("/api/hidden/?q=1");
          fetch("/page/");
          return "/0/".replace("/0/", "/1/");
        }
        """,
}


@pytest.fixture
def storefront(tmp_path: Path) -> GitRepo:
    files = dict(PROJECT)
    config = files.pop("pyproject.toml")
    return python_repo(tmp_path / "storefront", files, config=config)


def _contract() -> dict[str, Finding]:
    return {f.anchor: f for f in Finding.objects.filter(kind=FindingKind.CONTRACT)}


@pytest.mark.django_db
def test_calls_are_judged_by_djangos_resolver_and_the_schema(storefront: GitRepo) -> None:
    done = scan(register(storefront))

    found = _contract()
    assert {a: (f.rule, f.severity) for a, f in found.items()} == {
        "DELETE /api/items/": ("method-not-allowed", "high"),
        "GET /api/orders/{}/": ("unresolved-path", "high"),
        "GET /api/hidden/": ("undocumented", "medium"),
    }
    refused = found["DELETE /api/items/"]
    assert (refused.path, refused.line, refused.tool) == ("static/app.js", 6, "contract")
    assert "the view answers GET, OPTIONS, POST" in refused.evidence[-1]
    assert done.tool_runs.get(tool="contract").status == "ok"


@pytest.mark.django_db
def test_a_call_keeps_its_identity_when_the_javascript_moves(storefront: GitRepo) -> None:
    repository = register(storefront)
    scan(repository)
    before = _contract()["GET /api/orders/{}/"]

    text = (storefront.root / "static/app.js").read_text()
    storefront.write("static/app.js", "// Loading.\n\n" + text)
    storefront.move("static/app.js", "static/shop/load.js")
    storefront.commit("move the script")
    scan(repository)

    after = _contract()["GET /api/orders/{}/"]
    assert after.pk == before.pk and after.state == "open"
    assert (after.path, after.line) == ("static/shop/load.js", 9)


def test_calls_are_read_with_their_method_and_path_template() -> None:
    text = (
        'fetch(`/api/runs/${run.id}/stop/?force=1`, { method: "post" });\n'
        'client.patch("/api/runs/" + id, body);\n'
        'url.split("/api/");\n'
    )
    calls = [(c.method, c.template, c.line) for c in find_calls("a.js", text)]

    assert calls == [("POST", "/api/runs/{}/stop/", 1), ("PATCH", "/api/runs/{}", 2)]


def test_the_settings_module_is_found_where_the_project_names_it(tmp_path: Path) -> None:
    files = {
        "pyproject.toml": b'[tool.pytest.ini_options]\nDJANGO_SETTINGS_MODULE = "site.settings"\n',
        "site/settings.py": b"",
        "app.js": b"",
    }
    context = ScanContext(
        files=tuple(files), read=files.get, environment=clean_environment(), cache_dir=tmp_path
    )

    assert settings_module(context) == "site.settings"
    assert ContractScanner().plan(context).options["settings"] == "site.settings"
    without = {"app.js": b"", "a.py": b""}
    plain = ScanContext(
        files=tuple(without), read=without.get, environment=clean_environment(), cache_dir=tmp_path
    )
    assert ContractScanner().plan(plain).skip_reason.startswith("not a Django project")
