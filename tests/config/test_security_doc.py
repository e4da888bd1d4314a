"""docs/security.md's nginx configuration is valid nginx, and its body limits are the
application's own."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]


def nginx_snippet() -> str:
    text = (ROOT / "docs" / "security.md").read_text()
    match = re.search(r"```nginx\n(.*?)```", text, re.DOTALL)
    assert match, "docs/security.md has no nginx configuration"
    return match.group(1)


def megabytes(directive: str, snippet: str) -> list[int]:
    return [int(size) * 1024 * 1024 for size in re.findall(rf"{directive}\s+(\d+)m;", snippet)]


def test_the_proxys_body_limits_are_the_applications() -> None:
    sizes = megabytes("client_max_body_size", nginx_snippet())

    assert sizes[0] == settings.REQUEST_MAX_BODY_BYTES
    assert settings.LOGCRAWLER_INGEST_MAX_BYTES <= sizes[1] < settings.REQUEST_MAX_BODY_BYTES


@pytest.mark.skipif(not shutil.which("nginx") or not shutil.which("openssl"), reason="no nginx")
def test_the_nginx_configuration_is_valid(tmp_path: Path) -> None:
    key, certificate = tmp_path / "privkey.pem", tmp_path / "fullchain.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-keyout", str(key), "-out", str(certificate), "-subj", "/CN=ops.example.com"),
        ],
        check=True,
        capture_output=True,
    )
    server = nginx_snippet().replace("/etc/ssl/juggernaut/", f"{tmp_path}/")
    temp = " ".join(
        f"{kind}_temp_path {tmp_path};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\nevents {{}}\n"
        f"http {{\naccess_log off;\n{temp}\n{server}\n}}\n"
    )

    checked = subprocess.run(
        ["nginx", "-t", "-c", str(tmp_path / "nginx.conf")], capture_output=True, text=True
    )

    assert checked.returncode == 0, checked.stderr
