"""Benchmark: a full code-health scan of this checkout, and a rescan of the same commit.

    .venv/bin/python bench/codehealth_scan.py [--repo PATH] [--ref REF] [--runs 3]

Runs in a scratch SQLite database and work folder (nothing of yours is touched), with the
demo repository's settings (ruff with its extra rules, mypy through the project's own
configuration), and every registered scanner (vulture for stale code, the contract probe
when the JavaScript makes calls with literal paths). It measures, on the commit `--ref`
(default HEAD) of `--repo` (default this checkout):

- **baseline**: `ruff check` alone over the same tree (git archive of the commit, the same
  rules), best of `--runs`;
- **first full scan**: `scan_now` with no cache of our own (mypy's first run; it starts from
  the checkout's own `.mypy_cache` when there is one, as a first scan of a developer's
  checkout does: the output says which);
- **warm full scan**: every scanner run again on the same commit, mypy's cache kept (what a
  daily scan of a new commit costs), best of `--runs`;
- **rescan**: the same commit with the same tools and configuration, which reuses the
  earlier scan (no tool runs), best of `--runs`.

Goals: a full scan under 15 s, a rescan under 1 s. The last line is one JSON object:
{"ours": first full scan seconds, "baseline": ruff seconds, "ratio": ours / baseline, ...}.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _setup(scratch: Path) -> None:
    os.environ["JUGGERNAUT_VAR_DIR"] = str(scratch / "var")
    os.environ["CODEHEALTH_WORK_DIR"] = str(scratch / "work")
    os.environ.pop("DATABASE_URL", None)
    os.environ.setdefault("SECRET_KEY", "bench-only-secret-key")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ["LOG_LEVEL"] = "WARNING"
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0, interactive=False)


def ruff_alone(repo: Path, commit: str, rules: list[str], runs: int) -> float:
    archive = subprocess.run(
        ["git", "archive", "--format=tar", commit], cwd=repo, capture_output=True, check=True
    ).stdout
    best = float("inf")
    with tempfile.TemporaryDirectory() as tree:
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(tree, filter="data")
        ruff = Path(sys.executable).parent / "ruff"
        argv = [str(ruff), "check", "--no-cache", "--output-format", "json"]
        argv += ["--extend-select", ",".join(rules), "."]
        for _ in range(runs):
            started = time.perf_counter()
            subprocess.run(argv, cwd=tree, capture_output=True, check=False)
            best = min(best, time.perf_counter() - started)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", default=str(ROOT))
    parser.add_argument("--ref", default="HEAD")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="codehealth-bench-") as scratch:
        _setup(Path(scratch))
        from codehealth.models import Repository, RepositoryKind, Scan
        from codehealth.services import scan_now
        from codehealth.services.demo import DEMO_EXTRA_RULES, DEMO_SCAN_ENVIRONMENT
        from engine.services.history import system_actor

        repository = Repository.objects.create(
            name="bench",
            kind=RepositoryKind.LOCAL,
            path=args.repo,
            default_branch=args.ref,
            lint_extend_select=DEMO_EXTRA_RULES,
            scan_environment=DEMO_SCAN_ENVIRONMENT,
        )
        actor = system_actor("bench")

        def timed_scan() -> tuple[float, Scan]:
            started = time.perf_counter()
            scan = scan_now(repository=repository, actor=actor)
            elapsed = time.perf_counter() - started
            if scan.status != "done":
                sys.exit(f"the scan failed: {scan.error}")
            return elapsed, scan

        cold, first = timed_scan()
        tools = {r.tool: r.duration_ms / 1000 for r in first.tool_runs.all()}
        findings = first.occurrences.count()
        warm = float("inf")
        for _ in range(args.runs):
            Scan.objects.all().delete()  # nothing to reuse: every scanner runs again
            elapsed, _ = timed_scan()
            warm = min(warm, elapsed)
        rescan = float("inf")
        for _ in range(args.runs):
            elapsed, again = timed_scan()
            assert again.reused_from_id is not None, "the rescan did not reuse the scan"
            rescan = min(rescan, elapsed)
        baseline = ruff_alone(Path(args.repo), first.commit, DEMO_EXTRA_RULES, args.runs)

    borrowed = (Path(args.repo) / ".mypy_cache").is_dir()
    print(f"commit {first.commit[:12]} of {args.repo}: {findings} findings")
    print(f"  the checkout's own .mypy_cache: {'borrowed' if borrowed else 'none'}")
    print(f"  tools in the cold scan: {', '.join(f'{t} {s:.2f} s' for t, s in tools.items())}")
    print(f"  first full scan:               {cold:.2f} s   (goal < 15 s)")
    print(f"  warm full scan (mypy cache):   {warm:.2f} s")
    print(f"  rescan of the same commit:     {rescan:.3f} s   (goal < 1 s)")
    print(f"  baseline, ruff alone:          {baseline:.3f} s")
    print(
        json.dumps(
            {
                "ours": round(cold, 3),
                "baseline": round(baseline, 3),
                "ratio": round(cold / baseline, 1),
                "warm_full_scan_s": round(warm, 3),
                "rescan_s": round(rescan, 3),
                "tools_s": tools,
                "findings": findings,
                "borrowed_mypy_cache": borrowed,
                "goals": {"full_scan_s": 15, "rescan_s": 1},
            }
        )
    )


if __name__ == "__main__":
    main()
