"""Django-level stale checks that no tool does: templates never rendered (here), URL names
never reversed, views never routed and settings never read (`django_names`).

A template is reached by its name (``render(request, "shop/list.html")``, ``{% include %}``,
``{% extends %}``, ``template_name = ...``) or by a convention (Django's own names, a
generic view's default, an override of an installed app's template). One that no text in
the tree names, by its name or its file name, and that no convention reaches, is stale:
medium confidence (a name built at run time is the one thing a search cannot see).
"""

from __future__ import annotations

import re
import sys
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

from codehealth.models import FindingKind, FindingSeverity
from codehealth.normal_form import RawFinding
from codehealth.scanners.base import Plan, ScanContext, Scanner, ScannerResult, config_hash
from codehealth.scanners.contract import settings_module
from codehealth.scanners.django_names import (
    Mentions,
    Stale,
    settings_never_read,
    url_names_never_reversed,
    views_never_routed,
)

# Bumped when a check is added or what counts as reaching a name changes: a rule-set change.
CHECK_RULES = 2
TEMPLATE_SUFFIXES = (".html", ".txt", ".xml")
MENTION_SUFFIXES = (".py", ".html", ".txt", ".xml", ".js", ".mjs", ".ts", ".json", ".toml")
# Names Django renders by convention (its error pages, auth's views).
CONVENTIONAL = re.compile(
    r"^(?:registration/.*|(?:400|403|404|500|403_csrf)\.html"
    r"|\w+/\w+_(?:list|detail|form|confirm_delete|archive\w*)\.html)$"
)
HELP_URL = "https://docs.djangoproject.com/en/stable/topics/templates/#template-loading"
NAMED_HELP = {
    "url-name-never-reversed": "https://docs.djangoproject.com/en/stable/topics/http/urls/#naming-url-patterns",
    "view-never-routed": "https://docs.djangoproject.com/en/stable/topics/http/urls/#example",
    "setting-never-read": "https://docs.djangoproject.com/en/stable/topics/settings/#using-settings-in-python-code",
}


@cache
def installed_template_names() -> frozenset[str]:
    """Template names the packages installed beside this server ship: one of the
    project's templates by such a name overrides it, and is rendered by that package."""
    names: set[str] = set()
    for entry in sys.path:
        base = Path(entry)
        if not base.is_dir() or "site-packages" not in base.parts:
            continue
        patterns = ("*/templates", "*/*/templates", "*/*/*/templates")
        for templates in [found for p in patterns for found in base.glob(p)]:
            for file in templates.rglob("*"):
                if file.is_file():
                    names.add(file.relative_to(templates).as_posix())
    return frozenset(names)


def template_name(path: str) -> str:
    """The name a template is loaded by: its path after the last ``templates/``."""
    return path.rsplit("templates/", 1)[-1]


def is_template(path: str) -> bool:
    parts = path.split("/")
    return (
        path.endswith(TEMPLATE_SUFFIXES)
        and "templates" in parts[:-1]
        and "static" not in parts
        and "node_modules" not in parts
    )


class DjangoChecksScanner(Scanner):
    name = "django"
    title = "Django-level stale checks (templates, URL names, views, settings)"

    def plan(self, context: ScanContext) -> Plan:
        module = settings_module(context)
        if not module:
            return self.skip("not a Django project (no settings module named in the tree)")
        version = f"checks {CHECK_RULES}"
        options = {"settings": module}
        return Plan(
            tool=self.name,
            version=version,
            config_hash=config_hash(self.name, version, {}, options),
            options=options,
        )

    def run(self, plan: Plan, root: Path, context: ScanContext) -> ScannerResult:
        started = datetime.now(tz=UTC)
        templates = [p for p in context.files if is_template(p)]
        texts: dict[str, str] = {}
        for path in context.files:
            if path.endswith(MENTION_SUFFIXES):
                try:
                    texts[path] = (root / path).read_text(errors="replace")
                except OSError:
                    continue
        shipped = installed_template_names()
        findings = []
        for path in templates:
            name = template_name(path)
            if CONVENTIONAL.match(name) or name in shipped:
                continue
            file_name = name.rsplit("/", 1)[-1]
            if any(file_name in text for other, text in texts.items() if other != path):
                continue
            findings.append(self._finding(path, name, context, started))
        python = {p: t for p, t in texts.items() if p.endswith(".py")}
        mentions = Mentions(texts)
        stale = [
            *url_names_never_reversed(python, mentions),
            *views_never_routed(python, mentions),
            *settings_never_read(plan.options["settings"], python, mentions),
        ]
        findings.extend(self._named(item, context, started) for item in stale)
        elapsed = int((datetime.now(tz=UTC) - started).total_seconds() * 1000)
        return ScannerResult(findings, 0, elapsed)

    def _finding(self, path: str, name: str, context: ScanContext, now: datetime) -> RawFinding:
        evidence = [
            f"no Python, template, JavaScript or configuration in the tree names {name!r} "
            "or its file name",
            "it overrides no installed app's template and is no name Django renders by convention",
        ]
        evidence.extend(_age(path, 1, context, now))
        return RawFinding(
            tool=self.name,
            rule="template-never-rendered",
            kind=FindingKind.STALE,
            severity=FindingSeverity.LOW,
            message=f"template {name!r} is never rendered, included or extended",
            path=path,
            anchor=f"template {name}",
            help_url=HELP_URL,
            evidence=evidence,
            confidence="medium",
        )

    def _named(self, item: Stale, context: ScanContext, now: datetime) -> RawFinding:
        return RawFinding(
            tool=self.name,
            rule=item.rule,
            kind=FindingKind.STALE,
            severity=FindingSeverity.LOW,
            message=item.message,
            path=item.path,
            line=item.line,
            anchor=item.anchor,
            help_url=NAMED_HELP[item.rule],
            evidence=[*item.evidence, *_age(item.path, item.line, context, now)],
            confidence="medium",
        )


def _age(path: str, line: int, context: ScanContext, now: datetime) -> list[str]:
    blamed = context.blame(path, [line]).get(line) if context.blame else None
    if blamed is None or blamed.committed_at is None:
        return []
    days = (now - blamed.committed_at).days
    return [f"last changed {days} day{'s' if days != 1 else ''} ago"]
