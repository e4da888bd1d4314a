"""Each scanner on small repositories made by the tests: what it finds, in the normal
form, and why it skips when its tool or configuration is missing."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from codehealth.models import Finding, FindingOccurrence, ToolRun, ToolRunStatus
from codehealth.processes import clean_environment
from codehealth.scanners import ScanContext
from codehealth.scanners.eslint import EslintScanner, parse_eslint_json
from codehealth.scanners.mypy import MypyScanner
from codehealth.scanners.ruff import RuffScanner
from codehealth.scanners.typescript import TypeScriptScanner, parse_tsc
from tests.codehealth.conftest import register, scan
from tests.codehealth.gitrepo import GitRepo

DATA = Path(__file__).parent / "data"
CAPTURED_IN = Path("/tmp/tsdemo")  # noqa: S108 (where the golden outputs were made)
# A folder with typescript and eslint installed (node_modules), for the live runs.
NODE_MODULES = os.environ.get("CODEHEALTH_TEST_NODE_MODULES", "")


def context(files: dict[str, bytes], tmp_path: Path, **kwargs: object) -> ScanContext:
    return ScanContext(
        files=tuple(sorted(files)),
        read=files.get,
        environment=kwargs.pop("environment", None) or clean_environment(),  # type: ignore[arg-type]
        cache_dir=tmp_path,
        **kwargs,  # type: ignore[arg-type]
    )


@pytest.mark.django_db
def test_ruff_findings_carry_their_fix_and_its_applicability(
    make_repo: Callable[..., GitRepo],
) -> None:
    repo = make_repo({"app.py": "import os\n\n\ndef f():\n    unused = 1\n    return 2\n"})
    done = scan(register(repo))

    by_rule = {o.finding.rule: o for o in FindingOccurrence.objects.filter(scan=done)}
    assert set(by_rule) == {"F401", "F841"}
    assert by_rule["F401"].finding.fix_applicability == "safe"
    assert by_rule["F841"].finding.fix_applicability == "unsafe"
    assert by_rule["F401"].fix["edits"]  # type: ignore[index]
    assert by_rule["F401"].help_url.startswith("https://docs.astral.sh/ruff/rules/")
    run = done.tool_runs.get(tool="ruff")
    assert run.version.startswith("ruff ") and len(run.config_hash) == 64
    assert run.exit_code == 1 and run.status == ToolRunStatus.OK


def test_ruff_hashes_only_its_own_table_of_pyproject(tmp_path: Path) -> None:
    base = b'[project]\nname = "x"\ndependencies = []\n[tool.ruff]\nline-length = 90\n'
    more = base.replace(b"dependencies = []", b'dependencies = ["django"]')
    other = base.replace(b"90", b"80")
    plans = [
        RuffScanner().plan(context({"pyproject.toml": data, "a.py": b""}, tmp_path))
        for data in (base, more, other)
    ]

    assert plans[0].config_hash == plans[1].config_hash != plans[2].config_hash


@pytest.mark.django_db
def test_mypy_runs_where_the_repository_configures_it(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "typed")
    repo.write("mypy.ini", "[mypy]\nfiles = pkg\nstrict = True\n")
    repo.write("pkg/__init__.py", "")
    repo.write("pkg/core.py", "def total(x: int) -> str:\n    return x\n")
    repo.commit()

    done = scan(register(repo))

    finding = Finding.objects.get(tool="mypy")
    assert (finding.rule, finding.path, finding.line, finding.kind) == (
        "return-value",
        "pkg/core.py",
        2,
        "type",
    )
    assert finding.symbol == "total"
    assert done.tool_runs.get(tool="mypy").status == ToolRunStatus.OK


def test_mypy_is_skipped_with_a_reason(tmp_path: Path) -> None:
    unconfigured = MypyScanner().plan(context({"a.py": b""}, tmp_path))
    missing = MypyScanner().plan(
        context(
            {"mypy.ini": b"[mypy]\n"},
            tmp_path,
            environment={"PATH": str(tmp_path), "HOME": str(tmp_path)},
        )
    )

    assert unconfigured.skip_reason == "the repository does not configure mypy"
    assert "not installed" in missing.skip_reason


def test_typescript_and_eslint_say_why_they_did_not_run(tmp_path: Path) -> None:
    no_node = {"PATH": str(tmp_path), "HOME": str(tmp_path)}
    files = {"tsconfig.json": b"{}", "eslint.config.js": b"module.exports = [];"}

    assert TypeScriptScanner().plan(context({}, tmp_path)).skip_reason == (
        "no tsconfig.json at the repository's root"
    )
    assert "no eslint configuration" in EslintScanner().plan(context({}, tmp_path)).skip_reason
    for scanner in (TypeScriptScanner(), EslintScanner()):
        plan = scanner.plan(context(files, tmp_path, environment=no_node))
        assert plan.skip_reason == "Node.js is not on the search path"
    node_only = tmp_path / "bin"
    node_only.mkdir()
    (node_only / "node").symlink_to("/bin/true")
    plan = TypeScriptScanner().plan(
        context(files, tmp_path, environment={"PATH": str(node_only), "HOME": str(tmp_path)})
    )
    assert plan.skip_reason.startswith("tsc is not installed")


def test_tsc_output_becomes_type_findings() -> None:
    findings = parse_tsc((DATA / "tsc_output.txt").read_bytes(), CAPTURED_IN)

    assert [(f.rule, f.path, f.line, f.column, f.severity) for f in findings] == [
        ("TS2322", "src/cart.ts", 3, 11, "high"),
        ("TS2322", "src/cart.ts", 8, 3, "high"),
    ]
    assert findings[0].message == "Type 'string' is not assignable to type 'number'."


def test_eslint_json_becomes_lint_findings_with_their_fixes() -> None:
    findings = parse_eslint_json((DATA / "eslint_output.json").read_bytes(), CAPTURED_IN)

    assert [(f.rule, f.path, f.line, f.severity, f.fix_applicability) for f in findings] == [
        ("no-unused-vars", "app.js", 2, "medium", ""),  # a suggestion is not a fix
        ("prefer-const", "app.js", 2, "medium", "safe"),
        ("eqeqeq", "app.js", 3, "low", ""),
    ]


@pytest.mark.django_db
@pytest.mark.skipif(
    not NODE_MODULES or not Path(NODE_MODULES, ".bin", "tsc").exists(),
    reason="set CODEHEALTH_TEST_NODE_MODULES to a node_modules with typescript and eslint",
)
def test_tsc_and_eslint_run_on_a_javascript_repository(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "web")
    repo.write("tsconfig.json", '{"compilerOptions": {"strict": true}, "include": ["src"]}\n')
    repo.write(
        "src/cart.ts", "export function pay(amount: string): number {\n  return amount;\n}\n"
    )
    repo.write("eslint.config.js", 'module.exports = [{rules: {"prefer-const": "error"}}];\n')
    repo.write("app.js", "let x = 1;\nmodule.exports = x;\n")
    repo.commit()
    (repo.root / "node_modules").symlink_to(NODE_MODULES)

    done = scan(register(repo))

    runs = {r.tool: r for r in ToolRun.objects.filter(scan=done)}
    assert runs["tsc"].status == runs["eslint"].status == ToolRunStatus.OK
    assert set(Finding.objects.values_list("tool", "rule")) >= {
        ("tsc", "TS2322"),
        ("eslint", "prefer-const"),
    }
    assert Finding.objects.get(tool="tsc").symbol == "pay"
