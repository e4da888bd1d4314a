"""The names a Django project reaches without naming them in Python: its wiring.

Dead-code tools see a name as used only when Python code loads it. A Django project also
reaches code through strings (dotted paths in settings, django-q2 schedules, `list_display`,
serializer `fields`, Channels message types), templates, decorators that register things,
and the hooks its frameworks call (a model's ``Meta``, a command's ``handle``, a consumer's
``receive_json``). This module collects those names from the checkout (by reading its
Python and templates, never by importing it) and from the frameworks installed beside this
server (by introspection), so that vulture is told they are used.
"""

from __future__ import annotations

import importlib
import keyword
import re
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any

# Decorators that register what they decorate: what they wrap is called by the framework.
REGISTERING_DECORATORS = (
    "@receiver",
    "@*register*",
    "@admin.register",
    "@admin.action",
    "@admin.display",
    "@register.*",
    "@*.register",
    "@action",
    "@api_view",
    "@database_sync_to_async",
    "@pytest.fixture",
    "@pytest.hookimpl",
    "@extend_schema_field",
    "@extend_schema_serializer",
    "@override_settings",
)
# Module-level names Django, ASGI servers and pytest look up by name.
MODULE_HOOKS = (
    "urlpatterns",
    "app_name",
    "handler400",
    "handler403",
    "handler404",
    "handler500",
    "register",
    "application",
    "websocket_urlpatterns",
    "default_app_config",
    "Migration",
    "Command",
    "pytestmark",
    "pytest_plugins",
    "pytest_configure",
    "pytest_collection_modifyitems",
    # Middleware hooks (Django calls them by name), and what DRF's router reads by name.
    "process_request",
    "process_response",
    "process_view",
    "process_exception",
    "process_template_response",
    "lookup_value_regex",
    "lookup_value_converter",
    # What Django looks up on a model when it is there.
    "get_absolute_url",
    "natural_key",
    "get_by_natural_key",
)
# Bases whose subclasses register themselves (found by Django, or kept by a metaclass).
SELF_REGISTERING_BASES = frozenset(
    {
        "AppConfig",
        "OpenApiAuthenticationExtension",
        "OpenApiSerializerFieldExtension",
        "OpenApiSerializerExtension",
        "OpenApiViewExtension",
        "OpenApiFilterExtension",
    }
)
# The methods Django, DRF and the admin look up from a field's or a permission's name.
NAMED_HOOKS = ("get_{}", "clean_{}", "validate_{}", "has_{}_permission")
# Framework classes whose attributes a subclass overrides for the framework to call.
FRAMEWORK_CLASSES = (
    "django.db.models:Model",
    "django.db.models:Field",
    "django.db.models:Manager",
    "django.db.models:QuerySet",
    "django.db.models:Lookup",
    "django.db.models:Func",
    "django.contrib.admin:ModelAdmin",
    "django.contrib.admin:TabularInline",
    "django.contrib.admin:SimpleListFilter",
    "django.contrib.auth.backends:ModelBackend",
    "django.forms:Form",
    "django.forms:ModelForm",
    "django.forms:Field",
    "django.forms:Widget",
    "django.views.generic:View",
    "django.views.generic:TemplateView",
    "django.views.generic:ListView",
    "django.views.generic:DetailView",
    "django.views.generic:FormView",
    "django.views.generic:CreateView",
    "django.views.generic:UpdateView",
    "django.views.generic:DeleteView",
    "django.views.generic:RedirectView",
    "django.contrib.auth.views:LoginView",
    "django.apps:AppConfig",
    "django.core.management.base:BaseCommand",
    "django.db.migrations:Migration",
    "django.template:Node",
    "django.core.checks:CheckMessage",
    "django.test:TestCase",
    "django.test:LiveServerTestCase",
    "django.utils.deprecation:MiddlewareMixin",
    "rest_framework.serializers:ModelSerializer",
    "rest_framework.serializers:Field",
    "rest_framework.views:APIView",
    "rest_framework.viewsets:ModelViewSet",
    "rest_framework.permissions:BasePermission",
    "rest_framework.pagination:CursorPagination",
    "rest_framework.pagination:PageNumberPagination",
    "rest_framework.throttling:SimpleRateThrottle",
    "rest_framework.authentication:BaseAuthentication",
    "rest_framework.renderers:BaseRenderer",
    "rest_framework.parsers:BaseParser",
    "rest_framework.filters:BaseFilterBackend",
    "rest_framework.negotiation:BaseContentNegotiation",
    "django.contrib.auth.models:AnonymousUser",
    "django.contrib.auth.models:AbstractBaseUser",
    "requests:Session",
    "drf_spectacular.openapi:AutoSchema",
    "drf_spectacular.extensions:OpenApiAuthenticationExtension",
    "drf_spectacular.extensions:OpenApiSerializerFieldExtension",
    "drf_spectacular.extensions:OpenApiSerializerExtension",
    "channels.generic.websocket:AsyncJsonWebsocketConsumer",
    "channels.generic.websocket:JsonWebsocketConsumer",
    "channels.generic.http:AsyncHttpConsumer",
    "channels.layers:BaseChannelLayer",
    "factory.django:DjangoModelFactory",
    "logging:Handler",
    "logging:Filter",
    "logging:Formatter",
    "json:JSONEncoder",
    "asyncio:DatagramProtocol",
    "asyncio:Protocol",
    "http.server:BaseHTTPRequestHandler",
    "socketserver:BaseRequestHandler",
    "unittest:TestCase",
    "ast:NodeVisitor",
    "ast:NodeTransformer",
    "abc:ABC",
)
# Options of the ``Meta`` classes Django, DRF and factory_boy read.
META_OPTIONS = (
    "fields",
    "exclude",
    "model",
    "read_only_fields",
    "extra_kwargs",
    "widgets",
    "labels",
    "help_texts",
    "error_messages",
    "field_classes",
    "depth",
    "list_serializer_class",
    "django_get_or_create",
    "skip_postgeneration_save",
)
_IDENTIFIER = re.compile(r"^[A-Za-z_]\w*$")
_NAME_STRING = re.compile(r"""(["'])([A-Za-z_]\w*(?:[.:][A-Za-z_]\w*)*)\1""")
_TEMPLATE_CODE = re.compile(r"\{\{(.*?)\}\}|\{%(.*?)%\}", re.DOTALL)
_WORD = re.compile(r"[A-Za-z_]\w*")
# Class-body assignments of these are schema (model, form, serializer fields), not code.
_FIELD_CALL = re.compile(r"^[\w.]*(Field|ForeignKey|OneToOneField|ManyToManyField|Relation)\(")
_CLASS = re.compile(r"^class\s+(?P<name>\w+)\s*(?:\((?P<bases>[^)]*)\))?\s*:")
_ASSIGNMENT = re.compile(r"^(?P<target>[A-Za-z_]\w*)\s*(?::[^=]+)?=\s*(?P<value>.*)$")
_CHOICE_BASES = frozenset(
    {"TextChoices", "IntegerChoices", "Choices", "Enum", "IntEnum", "StrEnum", "Flag"}
)
TEMPLATE_SUFFIXES = (".html", ".txt", ".xml", ".jinja", ".j2")


@cache
def framework_hooks() -> frozenset[str]:
    """Every attribute of the framework classes installed here (their hooks), plus Django's
    ``Meta`` options: found by introspection, so a new framework version brings its own."""
    names: set[str] = set(META_OPTIONS)
    try:
        from django.db.models.options import DEFAULT_NAMES

        names.update(DEFAULT_NAMES)
    except ImportError:
        pass
    for dotted in FRAMEWORK_CLASSES:
        module_name, _, class_name = dotted.partition(":")
        try:
            cls = getattr(importlib.import_module(module_name), class_name)
        except (ImportError, AttributeError):
            continue
        names.update(n for n in dir(cls) if not n.startswith("__"))
    return frozenset(names)


def string_wiring(source: str) -> set[str]:
    """Names a module's string literals reach: identifiers (getattr, `list_display`,
    serializer `fields`), dotted paths (settings, schedules) and Channels message types."""
    names: set[str] = set()
    for match in _NAME_STRING.finditer(source):
        text = match[2]
        if _IDENTIFIER.match(text):
            names.add(text)
            names.update(hook.format(text) for hook in NAMED_HOOKS)
        else:
            parts = re.split(r"[.:]", text)
            names.update(parts)
            names.add("_".join(parts))  # Channels: "chat.events" calls chat_events()
    return names


def class_wiring(source: str) -> set[str]:
    """The schema (model, form, serializer fields), choices and self-registering classes a
    module declares. Read line by line (a parser costs ten times as much on a large tree):
    each class statement, then the assignments indented directly under it."""
    names: set[str] = set()
    # The classes the current line is inside: [class indent, body indent, is choices].
    open_classes: list[list[Any]] = []
    for line in source.splitlines():
        stripped = line.lstrip()
        if not stripped or stripped.startswith(("#", ")", "]", "}")):
            continue
        indent = len(line) - len(stripped)
        while open_classes and indent <= open_classes[-1][0]:
            open_classes.pop()
        declared = _CLASS.match(stripped)
        if declared:
            bases = {b.rsplit(".", 1)[-1].strip() for b in (declared["bases"] or "").split(",")}
            if bases & SELF_REGISTERING_BASES:
                names.add(declared["name"])
            open_classes.append([indent, None, bool(bases & _CHOICE_BASES)])
            continue
        if not open_classes:
            continue
        current = open_classes[-1]
        if current[1] is None:
            current[1] = indent
        assigned = _ASSIGNMENT.match(stripped) if indent == current[1] else None
        if assigned and (current[2] or _FIELD_CALL.search(assigned["value"])):
            names.add(assigned["target"])
            names.update(hook.format(assigned["target"]) for hook in NAMED_HOOKS)
    return names


def template_wiring(text: str) -> set[str]:
    """Every name a template's tags and variables mention (``{{ obj.method }}``)."""
    names: set[str] = set()
    for match in _TEMPLATE_CODE.finditer(text):
        names.update(_WORD.findall(match.group(1) or match.group(2) or ""))
    return names


def collect_wiring(root: Path, paths: Iterable[str], *, declarations: bool = True) -> set[str]:
    """The wiring of `paths`; `declarations=False` reads only their strings (tests: their
    own classes are never reported, but what they name by string is used)."""
    names: set[str] = set(MODULE_HOOKS)
    for path in paths:
        try:
            text = (root / path).read_text(errors="replace")
        except OSError:
            continue
        if path.endswith(".py"):
            names |= string_wiring(text)
            if declarations:
                names |= class_wiring(text)
        elif path.endswith(TEMPLATE_SUFFIXES):
            names |= template_wiring(text)
    return names


def whitelist_module(names: Iterable[str]) -> str:
    """A vulture whitelist: a module that uses each name (as an attribute, which vulture
    counts as a use of any definition with that name)."""
    lines = ["# Generated by Juggernaut's stale-code scanner: the project's wiring.", "_ = None"]
    usable = (n for n in sorted(names) if _IDENTIFIER.match(n) and not keyword.iskeyword(n))
    lines += [f"_.{name}" for name in usable]
    return "\n".join(lines) + "\n"
