"""Django-level stale checks on a small Django project made by the test: a template no
code names is stale; one reached by name, by convention or as an override is not."""

from __future__ import annotations

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

    found = Finding.objects.filter(tool="django")
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
