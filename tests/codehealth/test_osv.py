"""OSV snapshots: imported (zip, folder, file) and matched with each ecosystem's rules."""

from __future__ import annotations

import zipfile
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from codehealth.dependencies.manifests import Locked
from codehealth.dependencies.osv import import_osv, in_range, parse_version
from codehealth.dependencies.sources import OsvSnapshot
from codehealth.models import Advisory, AffectedPackage, OsvImport

DATA = Path(__file__).parent / "data" / "osv"


def osv_zip(tmp_path: Path) -> Path:
    path = tmp_path / "all.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for record in sorted(DATA.glob("*.json")):
            archive.write(record, record.name)
    return path


@pytest.mark.parametrize(
    ("ecosystem", "version", "events", "affected"),
    [
        ("PyPI", "2.30.0", [{"introduced": "2.3.0"}, {"fixed": "2.31.0"}], True),
        ("PyPI", "2.31.0", [{"introduced": "2.3.0"}, {"fixed": "2.31.0"}], False),
        ("PyPI", "2.2.1", [{"introduced": "2.3.0"}, {"fixed": "2.31.0"}], False),
        ("PyPI", "2.31.0rc1", [{"introduced": "2.3.0"}, {"fixed": "2.31.0"}], True),
        ("PyPI", "1.0", [{"introduced": "0"}, {"last_affected": "1.0"}], True),
        ("PyPI", "1.0.post1", [{"introduced": "0"}, {"last_affected": "1.0"}], False),
        # Two ranges in one: 1.x fixed in 1.5, 2.x fixed in 2.1.
        (
            "PyPI",
            "2.0.5",
            [{"introduced": "1.0"}, {"fixed": "1.5"}, {"introduced": "2.0"}, {"fixed": "2.1"}],
            True,
        ),
        (
            "PyPI",
            "1.7",
            [{"introduced": "1.0"}, {"fixed": "1.5"}, {"introduced": "2.0"}, {"fixed": "2.1"}],
            False,
        ),
        ("npm", "4.17.11", [{"introduced": "0"}, {"fixed": "4.17.12"}], True),
        ("npm", "4.17.12-beta.1", [{"introduced": "0"}, {"fixed": "4.17.12"}], True),
        ("npm", "4.17.21", [{"introduced": "0"}, {"fixed": "4.17.12"}], False),
    ],
)
def test_ranges_follow_each_ecosystems_version_order(
    ecosystem: str, version: str, events: list[dict[str, str]], affected: bool
) -> None:
    assert in_range(ecosystem, parse_version(ecosystem, version), events) is affected


@pytest.mark.django_db
def test_an_osv_zip_is_imported_with_its_source_and_age(tmp_path: Path) -> None:
    out = StringIO()
    call_command("import_osv", str(osv_zip(tmp_path)), stdout=out)

    assert "4 advisories (PyPI, npm)" in out.getvalue()
    run = OsvImport.objects.get()
    assert run.records == 4 and run.newest_modified is not None
    assert run.newest_modified.year == 2024
    assert set(AffectedPackage.objects.values_list("ecosystem", "name")) == {
        ("PyPI", "requests"),
        ("PyPI", "django"),
        ("npm", "lodash"),
    }
    assert Advisory.objects.get(osv_id="GHSA-j8r2-6x86-q33q").severity == "moderate"


@pytest.mark.django_db
def test_a_second_import_replaces_records_rather_than_doubling_them(tmp_path: Path) -> None:
    import_osv(DATA)
    import_osv(DATA / "GHSA-jf85-cpcp-j695.json")

    assert Advisory.objects.count() == 4
    assert AffectedPackage.objects.filter(name="lodash").count() == 1
    assert OsvImport.objects.count() == 2


@pytest.mark.django_db
def test_a_missing_snapshot_is_a_command_error(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="no such file"):
        call_command("import_osv", str(tmp_path / "nothing.zip"))


@pytest.mark.django_db
def test_twin_records_are_one_advisory_and_withdrawn_ones_none() -> None:
    import_osv(DATA)
    source = OsvSnapshot()
    state = source.state()
    packages = [
        Locked("PyPI", "requests", "2.30.0", ["requirements.txt"]),
        Locked("PyPI", "django", "5.2.9", ["requirements.txt"]),
        Locked("npm", "lodash", "4.17.21", ["package-lock.json"]),
    ]

    (match,) = source.matches(packages, state)

    assert match.advisory_id == "GHSA-j8r2-6x86-q33q"
    assert set(match.ids) == {"PYSEC-2023-74", "GHSA-j8r2-6x86-q33q", "CVE-2023-32681"}
    assert (match.severity, match.fixed) == ("medium", ["2.31.0"])
    assert match.source.startswith("OSV snapshot imported ")
