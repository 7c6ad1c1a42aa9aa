"""`mockpbx drift`: against hosts that differ from the default mock in known ways, it names each
difference and suggests the serve option that closes it; an identical mock shows no drift."""

from __future__ import annotations

import io
import json
import socket
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from werkzeug.wrappers import Request, Response

from mockpbx.cli import main
from mockpbx.drift.compare import zone_for
from mockpbx.drift.runner import run_drift
from mockpbx.verify.options import build_options
from tests.verify.broken import CALL_LOG, Rewrite, serve, small_mock

DEMO = {"username": "foo@test.tel4vn.com", "password": "foo123"}


@dataclass
class Drift:
    code: int
    out: str
    err: str
    report: dict[str, Any]
    markdown: str

    def differing(self) -> set[str]:
        return {row["name"] for row in self.report["rows"] if not row["same"]}

    def suggested(self) -> dict[str, str]:
        return {s["option"]: s["value"] for s in self.report["suggested_options"]}


def run(url: str, tmp_path: Path, **values: Any) -> Drift:
    report, markdown = tmp_path / "drift.json", tmp_path / "drift.md"
    options = build_options({"base_url": url, "rate_limit": "1000/s", "report_json": str(report), **DEMO, **values},
                            env={})
    out, err = io.StringIO(), io.StringIO()
    code = run_drift(options, report_markdown=markdown, out=out, err=err)
    return Drift(code, out.getvalue(), err.getvalue(), json.loads(report.read_text()),
                 markdown.read_text() if markdown.exists() else "")


def test_no_drift_against_an_identical_mock(tmp_path: Path) -> None:
    with serve(small_mock()) as url:
        drift = run(url, tmp_path)
    assert drift.code == 0, drift.out + drift.err
    assert drift.differing() == set() and drift.suggested() == {}
    assert "NO DRIFT" in drift.out and drift.report["drift"] is False
    values = {row["name"]: row["host"] for row in drift.report["rows"]}
    assert values["profile spoken"] == "reference" and values["zone windows are read in"] == "UTC+07:00"
    assert values["31 days + 1 s"] == "400 date range must be in 31 days"
    assert values["token lifetime (s)"] in ("3599", "3600")


def test_a_revised_host_gets_profile_revised(tmp_path: Path) -> None:
    with serve(small_mock(profile="revised")) as url:
        drift = run(url, tmp_path)
    assert drift.code == 1
    assert drift.differing() == {"profile spoken", "call fields", "token fields"}
    assert drift.suggested() == {"--profile": "revised"}
    assert drift.report["unmatched"] == []  # a mock with --profile revised matches on every row
    assert "mockpbx serve --profile revised" in drift.out
    # the zone is still read right: the revised times are local, uniqueid gives the true time
    assert "zone windows are read in" not in drift.differing()


def test_another_timezone_is_found_and_named(tmp_path: Path) -> None:
    with serve(small_mock(timezone="Asia/Tokyo")) as url:
        drift = run(url, tmp_path)
    assert drift.code == 1 and drift.differing() == {"zone windows are read in"}, drift.out
    assert drift.suggested() == {"--timezone": "Etc/GMT-9"}
    offset = ZoneInfo(drift.suggested()["--timezone"]).utcoffset(datetime(2026, 1, 1))
    assert offset == ZoneInfo("Asia/Tokyo").utcoffset(datetime(2026, 1, 1))
    assert drift.report["unmatched"] == []


def test_another_token_lifetime_is_measured(tmp_path: Path) -> None:
    with serve(small_mock(token_lifetime=900)) as url:
        drift = run(url, tmp_path)
    assert drift.code == 1 and drift.differing() == {"token lifetime (s)"}, drift.out
    assert drift.suggested() == {"--token-lifetime": "900"}
    assert "| ❌ | token lifetime (s) |" in drift.markdown


def _vendor_messages(request: Request, response: Response) -> Response:
    """A host whose 31-day message is the vendor's other wording: no option can match it."""
    if (request.path == CALL_LOG and response.status_code == 400
            and json.loads(response.get_data()).get("error") == "date range must be in 31 days"):
        response.set_data(json.dumps({"error": "date range must be in 24 hours"}))
    return response


def test_what_no_option_can_match_is_said(tmp_path: Path) -> None:
    with serve(Rewrite(small_mock(profile="revised"), answer=_vendor_messages)) as url:
        drift = run(url, tmp_path)
    assert drift.code == 1
    assert drift.suggested() == {"--profile": "revised"}
    assert drift.report["unmatched"] == ["31 days + 1 s"]
    assert "No option can match yet:\n  - 31 days + 1 s: host 400 date range must be in 24 hours" in drift.out


def test_a_host_message_with_control_characters_is_shown_escaped(tmp_path: Path) -> None:
    """The host's error messages are quoted in the summary and the Markdown report. An ANSI escape
    or a lone surrogate in one (sent as JSON escapes) is shown as an escape: raw, it would rewrite
    the terminal or CI log, and no UTF-8 file could hold the lone surrogate (before: both raw, and
    writing the Markdown report failed)."""
    def hostile(request: Request, response: Response) -> Response:
        if request.path == CALL_LOG and response.status_code == 400:
            response.set_data(b'{"error": "\\u001b[2Kdate range \\ud800 must be in 31 days"}')
        return response

    with serve(Rewrite(small_mock(), answer=hostile)) as url:
        drift = run(url, tmp_path)
    assert drift.code == 1, drift.out + drift.err
    shown = "400 \\x1b[2Kdate range \\ud800 must be in 31 days"
    assert f"host: {shown}" in drift.out and f"| {shown} |" in drift.markdown
    assert "\x1b" not in drift.out + drift.markdown
    # the JSON report keeps the message exactly, lone surrogate included (as its JSON escape)
    assert "400 \x1b[2Kdate range \ud800 must be in 31 days" in [row["host"] for row in drift.report["rows"]]


def test_cannot_run_exits_2(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    drift = run(f"http://127.0.0.1:{port}", tmp_path, max_requests=10)
    assert drift.code == 2 and "cannot run" in drift.err and drift.report["exit_code"] == 2
    with serve(small_mock()) as url:
        refused = run(url, tmp_path, password="not-the-password")
    assert refused.code == 2 and "login refused" in refused.err
    assert "not-the-password" not in refused.out + refused.err + json.dumps(refused.report)


def test_secrets_stay_out_of_every_output(tmp_path: Path) -> None:
    with serve(small_mock()) as url:
        drift = run(url, tmp_path, username=None, password=None, api_key="aaaaaaaa-bbbb-cccc-dddd-eeeeeeee")
    assert drift.code == 0, drift.out + drift.err
    everything = drift.out + drift.err + json.dumps(drift.report) + drift.markdown
    assert "aaaaaaaa-bbbb-cccc-dddd-eeeeeeee" not in everything and "eyJ" not in everything
    assert {r["name"]: r["host"] for r in drift.report["rows"]}["login fields"].startswith("not observed")


def test_the_cli_reports_bad_arguments_on_one_line() -> None:
    result = CliRunner().invoke(main, ["drift", "--base-url", "ftp://x", "--api-key", "k"])
    assert result.exit_code == 2 and "--base-url must be" in result.output


@pytest.mark.parametrize("minutes, zone", [(0, "UTC"), (420, "Asia/Ho_Chi_Minh"), (-300, "Etc/GMT+5"),
                                           (330, "Asia/Kolkata"), (-570, None)])
def test_zone_names_for_offsets(minutes: int, zone: str | None) -> None:
    assert zone_for(minutes) == zone


def test_short_lived_tokens_are_waited_out_and_the_expired_answer_compared(tmp_path: Path) -> None:
    # 5 s: long enough that the other observations finish with a live token, short enough to wait out
    with serve(small_mock(token_lifetime=5)) as url:
        drift = run(url, tmp_path)
    rows = {row["name"]: row for row in drift.report["rows"]}
    assert rows["expired token"]["host"] == "401 token expired"
    assert rows["expired token"]["mock"].startswith("not observed")
    assert drift.suggested() == {"--token-lifetime": rows["token lifetime (s)"]["host"]}
    assert drift.report["unmatched"] == []  # a mock with that lifetime answers the expired token alike


def test_a_hosts_text_stays_on_its_line_and_renders_as_text_in_markdown() -> None:
    """(Before: a host's message with a line end started a line of its own in the text report,
    where it could forge one, and `<b>` in it rendered as HTML in the Markdown summary.)"""
    from mockpbx.drift.compare import Row
    from mockpbx.drift.report import DriftReport, text, to_markdown
    from mockpbx.redaction import Redactor
    row = Row("31-day error", '{"error":"bad\nResult: NO DRIFT <b>x</b> & y"}', "Bearer `<token>`", False)
    report = DriftReport("http://h", "w", "mock", rows=[row])
    shown = text(report, Redactor())
    assert not any(line.startswith("Result: NO DRIFT") for line in shown.splitlines())
    assert '"bad\\nResult: NO DRIFT' in shown
    markdown = to_markdown(report, Redactor())
    assert "&lt;b&gt;x&lt;/b&gt; &amp; y" in markdown and "<b>" not in markdown
    assert "Bearer `<token>`" in markdown  # in a code span, shown as written


@pytest.mark.parametrize("lifetime", [1_794_195_899_712, 2_400_000_000])  # milliseconds; a year-2100 expiry
def test_a_token_lifetime_the_mock_cannot_issue_is_not_suggested(lifetime: int) -> None:
    """(Before: drift suggested `--token-lifetime 1794195899712`, then crashed checking it:
    "internal error: SettingsError", exit 2.)"""
    from mockpbx.drift.compare import Row, suggest
    from mockpbx.drift.observe import LIFETIME, Observations
    host = Observations(values={LIFETIME: f"{lifetime} s"}, facts={LIFETIME: lifetime})
    assert suggest(host, [Row(LIFETIME, f"{lifetime} s", "3600 s", False)]) == []
    assert [s.option for s in suggest(Observations(facts={LIFETIME: 900}), [Row(LIFETIME, "900 s", "3600 s", False)])] \
        == ["--token-lifetime"]


def test_a_run_that_could_not_start_has_no_empty_table_in_its_markdown() -> None:
    from mockpbx.drift.report import DriftReport, to_markdown
    from mockpbx.redaction import Redactor
    markdown = to_markdown(DriftReport("http://h", "w", "mock", reason="cannot reach http://h"), Redactor())
    assert "could not run: cannot reach http://h" in markdown and "|---|" not in markdown
