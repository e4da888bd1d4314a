"""The stale-code scanner on small repositories made by the tests: a Django project with
every kind of wiring (none of it may be reported), truly dead code (reported, with its
evidence and confidence), identities across moves, and false positives fed back."""

from __future__ import annotations

from pathlib import Path

import pytest

from codehealth.models import Finding, FindingKind, FindingState
from codehealth.processes import clean_environment
from codehealth.scanners import ScanContext
from codehealth.scanners.vulture import VultureScanner, parse_vulture, stale_name
from codehealth.services import mark_false_positive, scan_to_sarif
from engine.services.history import system_actor
from tests.codehealth.conftest import register, scan
from tests.codehealth.gitrepo import GitRepo, python_repo
from tests.codehealth.test_sarif import validate
from tests.codehealth.test_tools import call

# A Django project wired every way a dead-code tool misses: none of these may be reported.
WIRED_PROJECT = {
    "manage.py": """\
        import os
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "site_config.settings")
        """,
    "site_config/__init__.py": "",
    "site_config/settings.py": """\
        INSTALLED_APPS = ["shop.apps.ShopConfig"]
        MIDDLEWARE = ["shop.middleware.AuditMiddleware"]
        ROOT_URLCONF = "site_config.urls"
        Q_CLUSTER = {"name": "shop"}
        SHOP_GREETING = "hello"
        """,
    "site_config/urls.py": """\
        from django.urls import include, path

        urlpatterns = [path("shop/", include("shop.urls"))]
        handler404 = "shop.views.not_found"
        """,
    "shop/__init__.py": "",
    "shop/apps.py": """\
        from django.apps import AppConfig


        class ShopConfig(AppConfig):
            name = "shop"
            verbose_name = "Shop"

            def ready(self):
                from django_q.models import Schedule

                from shop import signals  # noqa: F401

                Schedule.objects.get_or_create(func="shop.tasks.nightly_cleanup")
        """,
    "shop/middleware.py": """\
        class AuditMiddleware:
            def __init__(self, get_response):
                self.get_response = get_response

            def __call__(self, request):
                return self.get_response(request)

            def process_view(self, request, view, args, kwargs):
                return None
        """,
    "shop/models.py": """\
        from django.db import models


        class Colour(models.TextChoices):
            RED = "red", "Red"
            BLUE = "blue", "Blue"


        class Item(models.Model):
            title = models.CharField(max_length=50)
            colour = models.CharField(max_length=8, choices=Colour.choices)
            added_at = models.DateTimeField(auto_now_add=True)

            class Meta:
                ordering = ["title"]
                verbose_name_plural = "items"

            def __str__(self):
                return self.title

            def shout(self):
                return self.title.upper()

            def get_absolute_url(self):
                return f"/shop/{self.pk}/"
        """,
    "shop/admin.py": """\
        from django.contrib import admin

        from shop.models import Item


        @admin.register(Item)
        class ItemAdmin(admin.ModelAdmin):
            list_display = ["title", "badge"]
            list_filter = ["colour"]
            actions = ["mark_red"]

            def badge(self, item):
                return item.colour

            @admin.action(description="Mark red")
            def mark_red(self, request, queryset):
                queryset.update(colour="red")

            def has_delete_permission(self, request, obj=None):
                return False
        """,
    "shop/views.py": """\
        from django.shortcuts import render


        def listing(request):
            return render(request, "shop/listing.html", {"items": []})


        def not_found(request, exception):
            return render(request, "shop/listing.html", status=404)
        """,
    "shop/urls.py": """\
        from django.urls import path

        from shop import views
        from shop.use import ROUTES

        app_name = "shop"
        urlpatterns = [path("", views.listing, name="listing"), *ROUTES[:0]]
        """,
    "shop/signals.py": """\
        from django.db.models.signals import post_save
        from django.dispatch import receiver

        from shop.models import Item


        @receiver(post_save, sender=Item)
        def item_saved(sender, instance, created, **kwargs):
            return None
        """,
    "shop/tasks.py": """\
        def nightly_cleanup():
            return 0
        """,
    "shop/management/__init__.py": "",
    "shop/management/commands/__init__.py": "",
    "shop/management/commands/restock.py": """\
        from django.core.management.base import BaseCommand


        class Command(BaseCommand):
            help = "Restock the shop."

            def add_arguments(self, parser):
                parser.add_argument("--dry-run", action="store_true")

            def handle(self, *args, **options):
                return None
        """,
    "shop/templatetags/__init__.py": "",
    "shop/templatetags/shop_tags.py": """\
        from django import template

        register = template.Library()


        @register.filter
        def price(value):
            return f"{value} EUR"


        @register.simple_tag
        def shop_banner():
            return "Welcome"
        """,
    "shop/templates/shop/listing.html": """\
        {% load shop_tags %}{% shop_banner %}
        {% for item in items %}{{ item.shout }} {{ item.price|price }}{% endfor %}
        """,
    "shop/serializers.py": """\
        from rest_framework import serializers

        from shop.models import Item


        class ItemSerializer(serializers.ModelSerializer):
            loud = serializers.SerializerMethodField()

            class Meta:
                model = Item
                fields = ["title", "loud"]
                read_only_fields = fields

            def get_loud(self, item):
                return item.shout()
        """,
    "shop/api.py": """\
        from rest_framework import viewsets

        from shop.models import Item
        from shop.serializers import ItemSerializer


        class ItemViewSet(viewsets.ReadOnlyModelViewSet):
            serializer_class = ItemSerializer
            lookup_value_regex = "[0-9]+"

            def get_queryset(self):
                return Item.objects.all()
        """,
    "shop/consumers.py": """\
        from channels.generic.websocket import AsyncJsonWebsocketConsumer


        class ShopConsumer(AsyncJsonWebsocketConsumer):
            async def receive_json(self, content, **kwargs):
                await self.channel_layer.group_send("shop", {"type": "shop.restocked"})

            async def shop_restocked(self, event):
                await self.send_json(event)
        """,
    "shop/registry.py": """\
        _handlers = {}


        def register_handler(name):
            def wrap(func):
                _handlers[name] = func
                return func
            return wrap


        @register_handler("refund")
        def refund(order):
            return order
        """,
    "shop/use.py": """\
        from shop.registry import _handlers
        from shop.api import ItemViewSet
        from shop.consumers import ShopConsumer


        def dispatch(name, order):
            return _handlers[name](order)


        ROUTES = [ItemViewSet, ShopConsumer, dispatch]
        """,
    "tests/__init__.py": "",
    "tests/test_shop.py": """\
        def test_nothing():
            assert True
        """,
}
PROJECT = '[project]\nname = "shop"\n'
DEAD = """\
def forgotten_helper(value):
    return value * 2


def named_in_javascript():
    return 1
"""


@pytest.fixture
def wired_repo(tmp_path: Path) -> GitRepo:
    files = {**WIRED_PROJECT, "shop/dead.py": DEAD}
    files["static/shop.js"] = 'const hook = "named_in_javascript";\n'
    return python_repo(tmp_path / "shop", files, config=PROJECT)


def _stale(**filters: object) -> dict[str, Finding]:
    # The `django` scanner's stale names (this project's URL name and setting nothing
    # reads) are its own tests' business.
    rows = Finding.objects.filter(kind=FindingKind.STALE, tool="vulture", **filters)
    return {stale_name(f.message): f for f in rows}


@pytest.mark.django_db
def test_django_wiring_is_never_reported_and_dead_code_is(wired_repo: GitRepo) -> None:
    done = scan(register(wired_repo))

    found = _stale()
    assert set(found) == {"forgotten_helper", "named_in_javascript"}, {
        n: f"{f.path}:{f.line}" for n, f in found.items()
    }
    dead = found["forgotten_helper"]
    assert (dead.tool, dead.rule, dead.path, dead.line) == (
        "vulture",
        "unused-function",
        "shop/dead.py",
        1,
    )
    assert dead.confidence == "high"
    assert dead.evidence[0].startswith("vulture: unused function 'forgotten_helper'")
    assert "occurs nowhere else" in dead.evidence[1]
    assert dead.evidence[2] == "last changed 0 days ago"
    # Mentioned in JavaScript: maybe reached by name, so only low confidence.
    assert found["named_in_javascript"].confidence == "low"
    assert "static/shop.js:1" in found["named_in_javascript"].evidence[1]
    run = done.tool_runs.get(tool="vulture")
    assert run.version.startswith("vulture ") and run.exit_code == 3

    (row,) = [r for r in call("code_findings", {"kind": "stale"})["findings"] if r["id"] == dead.pk]
    assert (row["confidence"], row["evidence"]) == ("high", dead.evidence)

    log = scan_to_sarif(done)
    validate(log)
    (stale,) = [r for r in log["runs"] if r["tool"]["driver"]["name"] == "vulture"]
    helper = next(r for r in stale["results"] if "forgotten_helper" in r["message"]["text"])
    assert helper["properties"]["kind"] == "stale"
    assert helper["properties"]["confidence"] == "high"
    assert helper["properties"]["evidence"] == dead.evidence


@pytest.mark.django_db
def test_a_stale_finding_keeps_its_identity_when_code_moves(tmp_path: Path) -> None:
    repo = python_repo(
        tmp_path / "moves", {"pkg/__init__.py": "", "pkg/dead.py": DEAD}, config=PROJECT
    )
    repository = register(repo)
    scan(repository)
    before = _stale()["forgotten_helper"]

    repo.write("pkg/dead.py", '"""Helpers."""\n\nimport os\n\nPATH = os.sep\n\n\n' + DEAD)
    repo.move("pkg/dead.py", "pkg/old_helpers.py")
    repo.commit("move and grow")
    scan(repository)

    after = _stale()["forgotten_helper"]
    assert after.pk == before.pk
    assert (after.path, after.line, after.state) == ("pkg/old_helpers.py", 8, FindingState.OPEN)


@pytest.mark.django_db
def test_a_false_positive_feeds_the_whitelist(tmp_path: Path) -> None:
    repo = python_repo(
        tmp_path / "fp", {"pkg/__init__.py": "", "pkg/dead.py": DEAD}, config=PROJECT
    )
    repository = register(repo)
    first = scan(repository)
    finding = _stale()["forgotten_helper"]
    mark_false_positive(finding_id=finding.pk, reason="called by a plugin", actor=system_actor("t"))

    repo.write("pkg/more.py", "X = 1\n")
    second = scan(repository)

    runs = [s.tool_runs.get(tool="vulture") for s in (first, second)]
    assert runs[0].config_hash != runs[1].config_hash  # a rule-set change, not new findings
    finding.refresh_from_db()
    assert finding.state == FindingState.FALSE_POSITIVE
    assert set(_stale(state=FindingState.OPEN)) == {"named_in_javascript"}


def test_vulture_output_is_read_with_its_rule_name_and_confidence(tmp_path: Path) -> None:
    output = (
        b"pkg/a.py:3: unused function 'f' (60% confidence)\n"
        b"pkg/a.py:9: unreachable code after 'return' (100% confidence)\n"
        b"not a finding line\n"
    )
    items = parse_vulture(output, tmp_path)

    assert [(i["rule"], i["name"], i["vulture_confidence"]) for i in items] == [
        ("unused-function", "f", 60),
        ("unreachable-code", "", 100),
    ]


def test_vulture_is_skipped_without_python(tmp_path: Path) -> None:
    files = {"app.js": b""}
    context = ScanContext(
        files=tuple(files), read=files.get, environment=clean_environment(), cache_dir=tmp_path
    )
    plan = VultureScanner().plan(context)

    assert plan.skip_reason == "no Python files"
