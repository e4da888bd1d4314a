"""Django-level stale checks read from the tree's Python: URL names never reversed, views
never routed, settings never read.

Each is found by reading the tree, never by loading it: a definition (``path(...,
name="x")``, a view in a ``views`` module, an upper-case name in the settings module) that
no other text names. Names are reached by strings (``reverse("shop:list")``, ``{% url %}``,
``getattr(settings, "X")``), which a search sees unless they are built at run time: each
item is medium confidence. A name a search finds anywhere counts as used: these checks
would rather miss a stale item than report a used one.
"""

from __future__ import annotations

import ast
import re
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache, cached_property

from django.conf import global_settings

URL_CALLS = frozenset({"path", "re_path", "url"})
VIEW_BASES = re.compile(r"(?:View|ViewSet|APIView|Consumer)$")
# Settings read by name by the packages this server installs (besides Django's own,
# `django.conf.global_settings`): kept short and conservative, a prefix covers a family.
PACKAGE_SETTINGS = re.compile(
    r"^(?:REST_FRAMEWORK|SPECTACULAR_SETTINGS|Q_CLUSTER|CHANNEL_LAYERS|ASGI_APPLICATION"
    r"|WSGI_APPLICATION|ROOT_URLCONF|AUTH_USER_MODEL|CORS_\w+|CSRF_\w+|SESSION_\w+"
    r"|CELERY_\w+|DEBUG_TOOLBAR_\w+|STORAGES|STATICFILES_\w+|WHITENOISE_\w+|SENTRY_\w+"
    r"|SIMPLE_JWT|OAUTH2_PROVIDER|ACCOUNT_\w+|SOCIALACCOUNT_\w+|CRISPY_\w+|GRAPHENE"
    r"|DJANGO_\w+|TEST_RUNNER|FIXTURE_DIRS|SILENCED_SYSTEM_CHECKS|BASE_DIR)$"
)


@dataclass(frozen=True)
class Stale:
    rule: str
    path: str
    line: int
    anchor: str
    message: str
    evidence: tuple[str, ...]


WORD = re.compile(r"[A-Za-z_]\w*")
QUOTED = re.compile(r"""["']([\w:.-]+)["']""")


class Mentions:
    """Each text's words and short quoted literals, counted once: every check asks these."""

    def __init__(self, texts: Mapping[str, str]) -> None:
        self.texts = texts
        self.words = {path: Counter(WORD.findall(text)) for path, text in texts.items()}
        self.quoted = {path: Counter(QUOTED.findall(text)) for path, text in texts.items()}

    @cached_property
    def code(self) -> dict[str, Counter[str]]:
        """Each Python file's references: names, attributes, imports and the parts of its
        dotted strings, not its definitions, comments or prose."""
        code = {}
        for path, text in self.texts.items():
            if path.endswith(".py") and (tree := _parse(text)) is not None:
                code[path] = Counter(_references(tree))
        return code

    def referenced(self, name: str) -> bool:
        return any(names[name] for names in self.code.values())

    def word(
        self, name: str, path: str = "", own: int = 0, skip: frozenset[str] = frozenset()
    ) -> bool:
        """Whether `name` occurs as a word in a text but `path` (and `skip`), or more than
        `own` times in `path`."""
        return any(
            words[name] > (own if other == path else 0)
            for other, words in self.words.items()
            if other not in skip
        )

    def literal(self, name: str, path: str, own: int) -> bool:
        return any(
            quoted[name] > (own if other == path else 0) for other, quoted in self.quoted.items()
        )

    def namespaced(self, name: str) -> bool:
        """Whether some quoted literal is ``<namespace>:name``."""
        suffix = f":{name}"
        return any(
            literal.endswith(suffix) for quoted in self.quoted.values() for literal in quoted
        )


def _references(tree: ast.Module) -> Iterator[str]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            yield node.id
        elif isinstance(node, ast.Attribute):
            yield node.attr
        elif isinstance(node, ast.alias):
            yield from node.name.split(".")
            if node.asname:
                yield node.asname
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and len(node.value) < 200
            and " " not in node.value
        ):
            yield from node.value.split(".")


def _parse(text: str) -> ast.Module | None:
    try:
        return ast.parse(text)
    except (SyntaxError, ValueError):
        return None


def _callee(node: ast.Call) -> str:
    func = node.func
    if isinstance(func, ast.Attribute):
        return func.attr
    return func.id if isinstance(func, ast.Name) else ""


def _app_name(tree: ast.Module) -> str:
    for node in tree.body:
        if (
            isinstance(node, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == "app_name" for t in node.targets)
            and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)
        ):
            return node.value.value
    return ""


def _url_names(tree: ast.Module) -> Iterator[tuple[str, int]]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and _callee(node) in URL_CALLS:
            for keyword in node.keywords:
                value = keyword.value
                if (
                    keyword.arg == "name"
                    and isinstance(value, ast.Constant)
                    and isinstance(value.value, str)
                ):
                    yield value.value, node.lineno


def url_names_never_reversed(python: Mapping[str, str], mentions: Mentions) -> list[Stale]:
    """A ``path(..., name="x")`` whose name no text quotes: ``"x"`` (or ``"ns:x"`` in a URLconf
    with ``app_name = "ns"``, whose names are only reversed with their namespace)."""
    found = []
    for path, text in python.items():
        if "name" not in text or not any(f"{call}(" in text for call in URL_CALLS):
            continue
        tree = _parse(text)
        if tree is None:
            continue
        namespace = _app_name(tree)
        for name, line in _url_names(tree):
            full = f"{namespace}:{name}" if namespace else name
            # Its own literal is one; an include's `namespace=` may prefix it elsewhere.
            used = mentions.namespaced(name)
            if used or (not namespace and mentions.literal(name, path, 1)):
                continue
            found.append(
                Stale(
                    rule="url-name-never-reversed",
                    path=path,
                    line=line,
                    anchor=f"url name {full}",
                    message=f"URL name {full!r} is never reversed or linked",
                    evidence=(
                        f"no reverse(), redirect(), {{% url %}}, JavaScript or test in the tree "
                        f"quotes {full!r}",
                        "the route may still be reached by its path (a link written out, an "
                        "API client): it has no known consumer by name",
                    ),
                )
            )
    return found


def _is_view_module(path: str) -> bool:
    parts = path.split("/")
    return parts[-1] == "views.py" or (len(parts) > 1 and parts[-2] == "views")


def _views(tree: ast.Module) -> Iterator[tuple[str, int]]:
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            args = node.args.posonlyargs + node.args.args
            if args and args[0].arg == "request" and not node.name.startswith("_"):
                yield node.name, node.lineno
        elif isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
            bases = [
                b.attr if isinstance(b, ast.Attribute) else getattr(b, "id", "") for b in node.bases
            ]
            if any(VIEW_BASES.search(base) for base in bases):
                yield node.name, node.lineno


def views_never_routed(python: Mapping[str, str], mentions: Mentions) -> list[Stale]:
    """A view (a function taking ``request``, a class deriving from a view) in a ``views``
    module whose name no other text mentions: no URLconf imports it or names its dotted
    path, and nothing else calls or subclasses it."""
    found = []
    for path, text in python.items():
        if not _is_view_module(path) or path.endswith("__init__.py"):
            continue
        tree = _parse(text)
        if tree is None:
            continue
        for name, line in _views(tree):
            if mentions.referenced(name):
                continue
            found.append(
                Stale(
                    rule="view-never-routed",
                    path=path,
                    line=line,
                    anchor=f"view {name}",
                    message=f"view {name!r} is never routed",
                    evidence=(
                        f"no URLconf, router or other code in the tree names {name!r} "
                        "(by import or dotted path)",
                    ),
                )
            )
    return found


@cache
def django_setting_names() -> frozenset[str]:
    return frozenset(name for name in dir(global_settings) if name.isupper())


def settings_module_paths(module: str, files: frozenset[str]) -> list[str]:
    """The settings module's files: ``a/settings.py``, or every module of ``a/settings/``."""
    as_path = module.replace(".", "/")
    if f"{as_path}.py" in files:
        return [f"{as_path}.py"]
    return sorted(f for f in files if f.startswith(f"{as_path}/") and f.endswith(".py"))


def _assigned_upper(tree: ast.Module) -> Iterator[tuple[str, int]]:
    for node in tree.body:
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AnnAssign):
            targets = [node.target]
        for target in targets:
            if isinstance(target, ast.Name) and target.id.isupper():
                yield target.id, node.lineno


def settings_never_read(module: str, python: Mapping[str, str], mentions: Mentions) -> list[Stale]:
    """An upper-case name the settings module assigns that neither Django nor a known
    package reads and no other text names (``settings.X``, ``getattr(settings, "X")``,
    ``override_settings(X=...)``), nor the settings themselves use to build another."""
    paths = settings_module_paths(module, frozenset(python))
    own = frozenset(paths)
    known = django_setting_names()
    assignments = [
        (path, name, line)
        for path in paths
        for name, line in _assigned_upper(_parse(python[path]) or ast.Module([], []))
    ]
    found = []
    seen: set[str] = set()
    for path, name, line in assignments:
        if name in seen or name in known or PACKAGE_SETTINGS.match(name):
            continue
        seen.add(name)
        elsewhere = mentions.word(name, skip=own)
        # Assigned once per settings file that assigns it; more is a use.
        within = sum(mentions.words[p][name] for p in paths)
        assigned = sum(1 for _, other, _ in assignments if other == name)
        if elsewhere or within > assigned:
            continue
        found.append(
            Stale(
                rule="setting-never-read",
                path=path,
                line=line,
                anchor=f"setting {name}",
                message=f"setting {name!r} is never read",
                evidence=(
                    f"no code in the tree reads {name!r} (settings.{name}, "
                    "getattr(settings, ...), override_settings)",
                    "it is none of Django's settings nor of a known installed package's",
                ),
            )
        )
    return found
