"""An installed (non-editable) wheel finds its contract and default fixtures."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

PROBE = """
import json, mockpbx.resources as r
from mockpbx.web.app import create_app
from mockpbx.settings import Settings
client = create_app(Settings.load({}, days=1, calls_per_day=5)).test_client()
login = client.post("/v1/auth", json={"username": "foo@test.tel4vn.com", "password": "foo123"})
print(json.dumps({"module": r.__file__, "contract": str(r.contract_path()),
                  "fixtures": str(r.default_fixtures_path()), "login": login.status_code,
                  "openapi": client.get("/openapi.json").get_json()["info"]["title"],
                  "pages": {p: client.get(p).status_code for p in ("/docs", "/docs/assets/docs.js",
                            "/docs/assets/swagger-ui-bundle.js", "/_mock/ui", "/_mock/ui/assets/dashboard.js",
                            "/_mock/ui/assets/dashboard.css")}}))
"""


@pytest.mark.slow
def test_installed_wheel_carries_contract_and_fixtures(tmp_path: Path) -> None:
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(tmp_path / "dist"),
                    str(ROOT)], check=True, timeout=300)
    wheel, = (tmp_path / "dist").glob("mockpbx-*.whl")
    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--quiet", "--target", str(site),
                    str(wheel)], check=True, timeout=300)
    env = {**os.environ, "PYTHONPATH": str(site)}
    result = subprocess.run([sys.executable, "-c", PROBE], cwd=tmp_path, env=env, capture_output=True,
                            text=True, timeout=120, check=True)
    import json
    found = json.loads(result.stdout)
    assert found["module"].startswith(str(site))
    assert found["contract"] == str(site / "mockpbx" / "_bundled" / "contracts" / "pbx-api.yaml")
    assert found["fixtures"] == str(site / "mockpbx" / "_bundled" / "fixtures" / "default.json")
    assert found["login"] == 200 and found["openapi"] == "TEL4VN PBX billing API"
    assert set(found["pages"].values()) == {200}, found["pages"]  # the pages' files are in the wheel
