"""What the code host reported becomes one tool run per name, never one of our scanners'."""

from __future__ import annotations

from codehealth.normal_form import RawFinding, ReportedRun
from codehealth.services.reported import tool_runs


def finding(tool: str, rule: str) -> RawFinding:
    return RawFinding(tool=tool, rule=rule, kind="lint", severity="low", message="m", path="a")


def test_a_host_tool_named_like_a_scanner_is_kept_apart() -> None:
    (run,) = tool_runs(
        [ReportedRun(tool="Ruff", findings=[finding("Ruff", "F401")])], reserved={"ruff"}
    )
    assert run.tool == "ci:Ruff"
    assert [f.tool for f in run.findings] == ["ci:Ruff"]


def test_two_reports_under_one_name_become_one_run() -> None:
    check = ReportedRun(tool="CodeQL", findings=[finding("CodeQL", "a")], partial="capped")
    upload = ReportedRun(tool="CodeQL", version="2.20", findings=[finding("CodeQL", "b")])
    skipped = ReportedRun(tool="slow", skip_reason="in progress")

    merged, slow = tool_runs([check, upload, skipped], reserved=set())

    assert (merged.tool, merged.version, merged.partial) == ("CodeQL", "2.20", "capped")
    assert [f.rule for f in merged.findings] == ["a", "b"]
    assert merged.skip_reason == ""
    assert (slow.tool, slow.skip_reason) == ("slow", "in progress")


def test_a_name_is_cut_to_what_a_tool_run_holds() -> None:
    (run,) = tool_runs([ReportedRun(tool="x" * 80)], reserved=set())
    assert run.tool == "x" * 50
