"""Every app's REST API has one shape, and the apps keep out of each other's.

`<app>/api/` holds the app's `urls.py`, its views and its serializers; config/urls.py mounts
`<app>.api.urls` under /api/ (routing's OpenAI-compatible gateway is `routing/gateway/`, under
/v1/). The DRF plumbing every API shares is `config/api/`, which stands on no app. An app
imports another's models, services and constants, never its views, API or consumers.
docs/architecture.md and docs/api.md state the same.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from django.apps import apps
from django.urls import URLResolver, get_resolver

ROOT = Path(__file__).resolve().parents[2]
APPS = sorted(c.name for c in apps.get_app_configs() if Path(c.path).parent == ROOT)
# An app's surfaces that other apps may not import: what it answers requests with.
SURFACES = {"api", "consumers", "gateway", "urls", "views"}
# An API that answers with a task it made answers with the engine's own serializer, so the
# schema describes a task once.
SHARED_ACROSS_APPS = {"engine.api.serializers.TaskSerializer"}
# Importing one of these makes a module a DRF view, serializer or route table.
DRF_API_MODULES = (
    "drf_spectacular",
    "rest_framework.decorators",
    "rest_framework.generics",
    "rest_framework.mixins",
    "rest_framework.response",
    "rest_framework.routers",
    "rest_framework.serializers",
    "rest_framework.views",
    "rest_framework.viewsets",
)
# The one app module the shared plumbing imports: the error base that service errors extend,
# which imports no app, so no cycle can pass through it.
PLUMBING_STANDS_ON = {"engine.services.errors"}


def modules(package: str) -> Iterator[tuple[str, Path]]:
    for path in sorted((ROOT / package).rglob("*.py")):
        if "migrations" not in path.parts:
            yield ".".join(path.relative_to(ROOT).with_suffix("").parts), path


def imported(path: Path) -> set[str]:
    """What the file imports, at the top or inside a function: `a.b` for `import a.b`, and
    `a.b.c` for `from a.b import c`."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0 and node.module, f"{path}: a relative import"
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def mounted() -> dict[str, str]:
    """config/urls.py's includes: the module of each, by the path it is mounted at."""
    return {
        str(entry.pattern): entry.urlconf_name.__name__
        for entry in get_resolver().url_patterns
        if isinstance(entry, URLResolver) and hasattr(entry.urlconf_name, "__name__")
    }


def test_the_apps_are_found() -> None:
    assert {"engine", "routing", "chat", "selfheal", "logcrawler", "codehealth"} <= set(APPS)


def test_config_mounts_each_apps_api_from_its_api_package() -> None:
    includes = mounted()
    under_api = {prefix: module for prefix, module in includes.items() if prefix.startswith("api/")}
    with_api = [app for app in APPS if (ROOT / app / "api").is_dir()]

    assert sorted(under_api.values()) == sorted(f"{app}.api.urls" for app in with_api)
    assert includes["v1/"] == "routing.gateway.urls"
    for app in with_api:
        assert (ROOT / app / "api" / "urls.py").is_file(), app


def test_no_app_keeps_its_api_at_its_top() -> None:
    stray = [
        f"{app}/{path.name}"
        for app in APPS
        for path in (ROOT / app).glob("*.py")
        if path.name == "serializers.py" or path.name.endswith("_urls.py")
    ]

    assert stray == [], "an app's API lives in <app>/api/ (urls.py, views, serializers.py)"


def test_drf_views_and_serializers_live_in_an_api_package() -> None:
    elsewhere = [
        module
        for app in APPS
        for module, path in modules(app)
        if module.split(".")[1] not in {"api", "gateway"}
        # Runs inside the project code health scans, asking its schema generator.
        and module != "codehealth.scanners.contract_probe"
        and any(name.startswith(DRF_API_MODULES) for name in imported(path))
    ]

    assert elsewhere == [], "DRF views, serializers and routes belong in <app>/api/"


def test_no_app_imports_another_apps_views_api_or_consumers() -> None:
    crossings = sorted(
        f"{module} imports {name}"
        for app in APPS
        for module, path in modules(app)
        for name in imported(path)
        if (parts := name.split("."))[0] in APPS
        and parts[0] != app
        and len(parts) > 1
        and parts[1] in SURFACES
        and name not in SHARED_ACROSS_APPS
    )

    assert crossings == []


def test_the_shared_plumbing_stands_on_no_app() -> None:
    reached = sorted(
        f"{module} imports {name}"
        for module, path in modules("config/api")
        for name in imported(path)
        if name.split(".")[0] in APPS and not name.startswith(tuple(PLUMBING_STANDS_ON))
    )
    under_it = [
        name
        for module in PLUMBING_STANDS_ON
        for name in imported(ROOT / f"{module.replace('.', '/')}.py")
        if name.split(".")[0] in APPS
    ]

    assert reached == []
    assert under_it == []
