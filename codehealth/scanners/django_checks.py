"""Django-level stale checks that no tool does: templates never rendered.

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

# Bumped when what counts as reaching a template changes: a rule-set change.
TEMPLATE_RULES = 1
TEMPLATE_SUFFIXES = (".html", ".txt", ".xml")
MENTION_SUFFIXES = (".py", ".html", ".txt", ".xml", ".js", ".mjs", ".ts", ".json", ".toml")
# Names Django renders by convention (its error pages, auth's views).
CONVENTIONAL = re.compile(
    r"^(?:registration/.*|(?:400|403|404|500|403_csrf)\.html"
    r"|\w+/\w+_(?:list|detail|form|confirm_delete|archive\w*)\.html)$"
)
HELP_URL = "https://docs.djangoproject.com/en/stable/topics/templates/#template-loading"


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
    title = "Django-level stale checks (templates never rendered)"

    def plan(self, context: ScanContext) -> Plan:
        if not any(is_template(p) for p in context.files):
            return self.skip("no templates")
        module = settings_module(context)
        if not module:
            return self.skip("not a Django project (no settings module named in the tree)")
        version = f"checks {TEMPLATE_RULES}"
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
        elapsed = int((datetime.now(tz=UTC) - started).total_seconds() * 1000)
        return ScannerResult(findings, 0, elapsed)

    def _finding(self, path: str, name: str, context: ScanContext, now: datetime) -> RawFinding:
        evidence = [
            f"no Python, template, JavaScript or configuration in the tree names {name!r} "
            "or its file name",
            "it overrides no installed app's template and is no name Django renders by convention",
        ]
        blamed = context.blame(path, [1]).get(1) if context.blame else None
        if blamed is not None and blamed.committed_at is not None:
            days = (now - blamed.committed_at).days
            evidence.append(f"last changed {days} day{'s' if days != 1 else ''} ago")
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
