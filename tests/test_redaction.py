"""One redaction for the journal, the access log and verify: secret-looking names in query
strings, headers, JSON bodies at any depth, form and text bodies; JWT-shaped values anywhere."""

from __future__ import annotations

import json
from urllib.parse import quote_plus, unquote_plus

import pytest
import requests
from hypothesis import given, settings
from hypothesis import strategies as st

from mockpbx.redaction import (
    JWT,
    REDACTED,
    Redactor,
    _redact_jwts,
    is_secret_name,
    redact_body,
    redact_header,
    redact_query_string,
    redact_query_string_json,
    redact_query_string_raw,
    redact_text,
)
from mockpbx.testing import MockPBX

JWT_LIKE = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"


@pytest.mark.parametrize("name", ["password", "PASSWD", "secret", "token", "access_token", "api_key", "apikey",
                                  "api-key", "Api-Key", "apiKey", "Authorization", "cookie", "Set-Cookie",
                                  "X-Auth-Token", "client_secret", "refresh-token", "X_API_KEY", "pass_wd"])
def test_secret_names_in_any_case_and_separator(name: str) -> None:
    assert is_secret_name(name)


@pytest.mark.parametrize("name", ["username", "start_date", "source", "limit", "Content-Type", "domain_uuid", "Host"])
def test_ordinary_names_are_shown(name: str) -> None:
    assert not is_secret_name(name)


def test_bodies_of_every_kind() -> None:
    escaped = b'{"user": {"p\\u0061ssword": "hunter2", "list": [{"Api-Key": "k1"}]}, "n": 1}'
    assert redact_body(escaped, "application/json") == {"user": {"password": REDACTED, "list": [{"Api-Key": REDACTED}]},
                                                        "n": 1}
    assert redact_body(b"a=b&password=hunter2&apiKey=k2", "application/x-www-form-urlencoded") == \
        f"a=b&password={REDACTED}&apiKey={REDACTED}"
    text = redact_body(b"user=a&password=hunter2\nsecret: s3 with spaces\n{\"token\": \"t0\"}", "text/plain")
    assert isinstance(text, str) and "hunter2" not in text and "s3" not in text and "t0" not in text and "user=a" in text
    cut_json = b'{"p\\u0061ssword": "hunter2", "pad": "' + b"x" * 50  # cut short: no longer JSON
    assert "hunter2" not in str(redact_body(cut_json, "application/json"))
    assert redact_text(f"see {JWT_LIKE} here") == f"see {REDACTED} here"


def test_query_strings() -> None:
    shown = redact_query_string(f"access_token=a1&api-key=a2&apiKey=a3&source=0281&x={JWT_LIKE}")
    assert shown == {"access_token": [REDACTED], "api-key": [REDACTED], "apiKey": [REDACTED], "source": ["0281"],
                     "x": [REDACTED]}


def test_verify_uses_the_same_rules() -> None:
    redactor = Redactor(["given-secret"])
    assert redactor.url("http://h/v1/call/log?apiKey=zz9&source=1") == "http://h/v1/call/log?apiKey=%3Credacted%3E&source=1"
    assert redactor.header("X-Auth-Token", "abc") == REDACTED
    assert redactor.body(b'{"p\\u0061ssword": "given-secret2"}', "application/json") == f'{{"password": "{REDACTED}"}}'
    assert redactor.redact(f"a {JWT_LIKE} b given-secret") == f"a {REDACTED} b {REDACTED}"


SECRETS = ["qs-secret-1", "qs-secret-2", "qs-secret-3", "hdr-secret-1", "hdr-secret-2", "form-secret", "text-secret",
           "escaped-secret"]


@pytest.mark.parametrize("workers", ["in-process"])
def test_journal_and_access_log_keep_no_secret(capsys: pytest.CaptureFixture[str], workers: str) -> None:
    with MockPBX(days=0, access_log=True) as pbx:
        session = requests.Session()
        session.get(pbx.url + "/healthz", params={"access_token": "qs-secret-1", "api-key": "qs-secret-2",
                                                  "apiKey": "qs-secret-3"}, timeout=10)
        session.get(pbx.url + "/healthz", headers={"Api-Key": "hdr-secret-1", "X-Auth-Token": "hdr-secret-2"}, timeout=10)
        session.post(pbx.url + "/v1/auth", data={"username": "u", "password": "form-secret"}, timeout=10)
        session.post(pbx.url + "/v1/auth", data="user=u&password=text-secret", timeout=10,
                     headers={"Content-Type": "text/plain"})
        session.post(pbx.url + "/v1/auth", data=b'{"username": "u", "p\\u0061ssword": "escaped-secret"}', timeout=10,
                     headers={"Content-Type": "application/json"})
        journal = json.dumps(pbx.requests())
    log = capsys.readouterr().err
    assert journal.count(REDACTED) >= len(SECRETS)
    for secret in SECRETS:
        assert secret not in journal and secret not in log, secret


def test_a_jwt_glued_to_other_text_or_in_a_path_is_redacted() -> None:
    """(Before: only a JWT standing alone was recognised.)"""
    assert redact_text(f"q=x{JWT_LIKE}") == f"q=x{REDACTED}"
    assert redact_query_string(f"q=x{JWT_LIKE}") == {"q": [f"x{REDACTED}"]}
    from mockpbx.redaction import redact_path
    assert redact_path(f"/v1/call/log/{JWT_LIKE}/x") == f"/v1/call/log/{REDACTED}/x"
    assert redact_path("/v1/call/log") == "/v1/call/log"


@pytest.mark.parametrize("secret", ["Hunter2Super", "A" * 20_000], ids=["cut-inside", "longer-than-the-cut"])
def test_a_body_cut_inside_a_secret_shows_none_of_it(secret: str) -> None:
    """The journal cuts a body at 16 KiB; where the cut falls inside a secret value, the value has
    no closing quote. (Before: its first characters, or 16 KiB of a long one, were shown.)"""
    from mockpbx.control.journal import FIELD_BYTES, RawEntry, bounded, materialize
    body = json.dumps({"note": "x" * (FIELD_BYTES - 32), "password": secret}).encode()  # cut 6 characters in
    entry = bounded(RawEntry(0.0, "POST", "/v1/auth", "", {}, body, "application/json", 401, 1.0, None))
    shown = json.dumps(materialize(entry))
    assert len(entry.body) == FIELD_BYTES and secret[:4] not in shown and REDACTED in shown


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-32-be"])
def test_json_bodies_are_read_in_the_encoding_the_api_reads_them_in(encoding: str) -> None:
    """The API takes UTF-16 and UTF-32 JSON (detected by its first bytes, as json.loads does);
    the journal reads it the same way. (Before: as UTF-8, so the password showed.)"""
    body = '{"username": "u", "password": "foo123"}'.encode(encoding)
    assert redact_body(body, "application/json") == {"username": "u", "password": REDACTED}


def test_nan_and_infinity_are_not_json() -> None:
    """Python's parser takes NaN and Infinity; no client's does. (Before: a login with NaN got 401,
    a fault's body with NaN was kept, and both were echoed as JSON a client cannot parse.)"""
    with MockPBX(days=0) as pbx:
        for constant in ("NaN", "Infinity", "-Infinity"):
            answer = requests.post(pbx.url + "/v1/auth", data=f'{{"username": "u", "password": "p", "n": {constant}}}',
                                   headers={"Content-Type": "application/json"}, timeout=10)
            assert (answer.status_code, answer.json()["error"][:36]) == (400, "the request body is not valid JSON"[:36])
        fault = requests.post(pbx.url + "/_mock/faults", data='{"path": "/healthz", "body": {"a": NaN}}',
                              headers={"Content-Type": "application/json"}, timeout=10)
        assert fault.status_code == 400
        journal = requests.get(pbx.url + "/_mock/requests", timeout=10)
        json.loads(journal.text, parse_constant=lambda name: pytest.fail(f"the journal holds {name}"))
        assert journal.json()["data"][0]["body"]["n"] == "NaN"  # shown as valid JSON: the constant as a string


def test_a_token_in_a_path_stays_out_of_the_journal_and_access_log(capsys: pytest.CaptureFixture[str]) -> None:
    with MockPBX(days=0, access_log=True) as pbx:
        token = pbx.token()
        requests.get(f"{pbx.url}/v1/call/log/{token}", timeout=10)
        requests.get(f"{pbx.url}/nope", params={"q": "x" + token}, timeout=10)
        journal = json.dumps(pbx.requests())
    assert token not in journal and token not in capsys.readouterr().err
    assert f"/v1/call/log/{REDACTED}" in journal


def test_a_non_ascii_path_is_shown_as_utf8() -> None:
    """(Before: the journal and the access log showed `/cafÃ©` for `/café`.)"""
    from mockpbx.redaction import redact_path
    assert redact_path("/caf\u00c3\u00a9") == "/café"  # WSGI's Latin-1 form of the UTF-8 bytes
    assert redact_path("/café") == "/café"


@pytest.mark.parametrize(("body", "mimetype", "secret"), [
    # (Before, each showed its secret in the journal. The first is a regression of the NaN change:
    # a body no longer JSON fell back to text, which hid only string values.)
    (b'{"username": "u", "password": ["S01x"], "x": NaN}', "application/json", "S01x"),
    (b'{"a": "' + b"x" * 40 + b'", "password": {"v": "S02x"}', "application/json", "S02x"),  # cut short
    (b'{"a": 1, "password":\n"S03x"', "application/json", "S03x"),
    (b'{"' + b"a" * 70 + b'_password": "S04x", "b": 2', "application/json", "S04x"),
    (b'{"api_key": "S05x"}', "application/x-www-form-urlencoded", "S05x"),  # JSON sent as a form (curl -d)
    (b'--B\r\nContent-Disposition: form-data; name="password"\r\n\r\nS06x\r\n--B--\r\n', "multipart/form-data",
     "S06x"),
    (b"<login><password>S07x</password></login>", "application/xml", "S07x"),
    (b'{"note": "password=S08x"}', "application/json", "S08x"),
])
def test_secrets_are_found_in_every_shape_of_body(body: bytes, mimetype: str, secret: str) -> None:
    assert secret not in json.dumps(redact_body(body, mimetype))


def test_secrets_in_ordinary_headers_query_values_and_path_parameters() -> None:
    from mockpbx.redaction import redact_header, redact_path
    assert "S09x" not in redact_header("Referer", "http://app/login?password=S09x&a=1")
    assert "S10x" not in json.dumps(redact_query_string("q=password%3DS10x"))
    assert "S11x" not in json.dumps(redact_query_string("x=1;password=S11x"))
    assert redact_path("/v1/call/log;password=S12x") == f"/v1/call/log;password={REDACTED}"


def test_what_workers_write_to_disk_holds_no_token_from_a_path() -> None:
    """`--workers N` keeps the journal in files (0600, removed at stop) scrubbed of secrets.
    (Before: a token in the path was written as it came.)"""
    from mockpbx.control.journal import RawEntry, scrub
    entry = RawEntry(0.0, "GET", f"/v1/call/log/{JWT_LIKE}", f"q={JWT_LIKE}",
                     {"HTTP_REFERER": "http://a/?password=S13x"}, b"", "", 404, 1.0, None)
    assert "eyJ" not in str(scrub(entry)) and "S13x" not in str(scrub(entry))


def test_control_requests_and_pages_are_in_the_access_log_too(capsys: pytest.CaptureFixture[str]) -> None:
    """Not journaled, but logged like every request. (Before: a reset, a fault added, a refused
    control token and a page load left no line.)"""
    with MockPBX(days=0, access_log=True, control_token="CtlTok-S14x") as pbx:
        pbx.reset()
        requests.get(pbx.url + "/_mock/clock", timeout=10)  # without the token: 401
        requests.get(pbx.url + "/docs", timeout=10)
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")]
    assert [(e["method"], e["path"], e["status"]) for e in lines] == [
        ("POST", "/_mock/reset", 200), ("GET", "/_mock/clock", 401), ("GET", "/docs", 200)]
    assert "CtlTok-S14x" not in json.dumps(lines)


_QUERY_PARTS = st.sampled_from(["&", "=", "+", "%3A", "%", "%ZZ", "%C3%A9", "é", "\u00e0", '"', "\\", "\x01", "a",
                                "limit", "password", "api_key", "token", "x", "1", " ", "eyJhbGciOiJIUzI1NiJ9.e30.sig",
                                "?", ";", "\u2028", "\ud800"])


@settings(max_examples=400, deadline=None)
@given(st.lists(_QUERY_PARTS, max_size=24).map("".join))
def test_the_access_logs_query_json_is_json_dumps_of_the_redacted_query(query: str) -> None:
    """The access log writes the query's JSON itself (`redact_query_string_json`): the text
    `json.dumps` gives for the redacted query, for repeated names, escapes, secrets and JWTs."""
    raw = query.encode("utf-8", "surrogatepass").decode("latin-1")  # as a WSGI environ holds it
    for text in (query, raw):
        assert redact_query_string_json(text) == json.dumps(redact_query_string(text), separators=(",", ":"))


def test_a_secret_pair_url_encoded_inside_an_ordinary_form_value_is_redacted() -> None:
    """(Before: a form value holding `password=...` percent-encoded (a Referer-like URL, or a note)
    was shown as sent: the form's rules looked only for secret names and JWTs, and the text rules
    do not see `password%3Dhunter2` as a pair.)"""
    for body in (b"ref=http%3A%2F%2Fx%2Fcb%3Fpassword%3Dhunter2&n=1", b"note=a%3Bapi_key%3Dhunter2"):
        shown = redact_body(body, "application/x-www-form-urlencoded")
        assert isinstance(shown, str) and "hunter2" not in shown and "redacted" in shown, shown
    assert redact_body(b"a=1&b=x%3Ay", "application/x-www-form-urlencoded") == "a=1&b=x%3Ay"  # nothing to hide
    # ... and once a body is shown decoded, a secret elsewhere in it is still caught (the review of
    # the first fix: XML and JSON in another value showed `hunter2`).
    for body in (b"a=password%3D1&note=<password>hunter2</password>", b'a=password%3D1&note={"password":"hunter2"}',
                 b"a=x%3Fpassword%3D1&note=%3Ctoken%3Ehunter2%3C%2Ftoken%3E"):
        shown = redact_body(body, "application/x-www-form-urlencoded")
        assert isinstance(shown, str) and "hunter2" not in shown, shown


@pytest.mark.parametrize("name", ["api.key", "api key", "pass\x00word", "API.KEY", "x.auth.token", "Pass Word"])
def test_secret_names_with_any_separator_are_secret(name: str) -> None:
    """(Before: only `-` and `_` were read as separators, so `api.key=...`, `api+key=...` (a space
    once decoded) and `pass%00word=...` were shown in the access log and the journal.)"""
    assert is_secret_name(name)
    assert redact_query_string(f"{name}=hunter2".replace(" ", "+").replace("\x00", "%00")) == {name: [REDACTED]}


def test_a_url_in_a_json_string_with_a_lone_surrogate_still_has_its_secret_redacted() -> None:
    """(Before: `"http://x/?password=hunter2&a=\\ud800"` made urlencode raise while the URL's query
    was redacted, and the body fell back to the text rules, which showed `hunter2`: found by the
    access log's property test.)"""
    shown = redact_body(b'{"u": "http://x/?password=hunter2&a=\\ud800"}', "application/json")
    assert isinstance(shown, dict) and "hunter2" not in json.dumps(shown), shown


@pytest.mark.parametrize("value", ["token: hunter2", "x; api_key:hunter2", "Password : hunter2", "'secret': hunter2",
                                   "note\ttoken:\thunter2",
                                   # after a harmless pair, which took the rest as its value (the review):
                                   "note: token: hunter2", "see http://wiki/x token: hunter2", "a=1 token: hunter2",
                                   "Fwd: password: hunter2", "user: bob token: hunter2", "x:token: hunter2",
                                   "note: Authorization: Bearer hunter2",
                                   # names and spacing the text rules did not read as a pair (the review):
                                   "_token: hunter2", "9password: hunter2", "token\u00a0: hunter2", "token:\nhunter2"])
def test_a_secret_pair_written_with_a_colon_inside_an_ordinary_value_is_redacted(value: str) -> None:
    """`name: value` inside a query value, a form value, a header or a JSON string is read as in a
    text body. (Before: only a value holding `=` went to the pair rules, so `?note=token: hunter2`
    was shown whole in the access log and the journal.)"""
    encoded = value.replace(" ", "+").replace("\t", "%09")
    for shown in (json.dumps(redact_query_string(f"note={encoded}")), redact_query_string_json(f"note={encoded}"),
                  unquote_plus(redact_query_string_raw(f"note={encoded}")),  # (the journal's form: still a query)
                  str(redact_body(f"a=1&note={encoded}".encode(), "application/x-www-form-urlencoded")),
                  json.dumps(redact_body(json.dumps({"note": value}).encode(), "application/json")),
                  redact_header("X-Note", value)):
        assert "hunter2" not in shown and REDACTED in shown, shown


@pytest.mark.parametrize("value", ["2026-11-30 10:00:00", "2026-11-30T10:00:00+07:00", "http://pbx.example:8080/a",
                                   "localhost:8080", "ratio 3:2", "Source: 0901234567", "[::1]:8080", "fe80::1%eth0",
                                   "sip:0901234567@pbx", "Note: call back at 10:00",
                                   "C:\\u00e9t\\u00e9", "x:\\ud800", "a:\\u0022b"])
def test_colons_in_ordinary_values_are_shown_as_sent(value: str) -> None:
    """Dates, URLs, hosts and `name: value` under names that hold no secret are not touched, and
    `\\uXXXX` in a value is not decoded (the review of the first fix: `C:\\u00e9t\\u00e9` was
    shown as `C:été`, and ASCII `x:\\ud800` as a lone surrogate)."""
    assert redact_query_string(f"note={quote_plus(value)}") == {"note": [value]}
    assert redact_header("X-Note", value) == value


def test_a_colon_pair_in_a_query_value_is_redacted_by_a_real_server(capsys: pytest.CaptureFixture[str]) -> None:
    """End to end: a query value and a header value, through the journal and the access log."""
    with MockPBX(days=0, access_log=True) as pbx:
        requests.get(pbx.url + "/v1/call/log", params={"note": "token: colon-secret-1"}, timeout=10)
        requests.get(pbx.url + "/healthz", headers={"X-Note": "api_key: colon-secret-2"}, timeout=10)
        requests.get(pbx.url + "/v1/call/log", params={"note": "note: token: colon-secret-3",
                                                       "next": "http://bob:colon-secret-4@host/"}, timeout=10)
        requests.get(pbx.url + "/healthz", headers={"X-Note": "<password>colon-secret-5</password>"}, timeout=10)
        nested = requests.get(pbx.url + "/healthz", params={"n": "a?b=" * 400 + "password=colon-secret-6"}, timeout=30)
        assert nested.status_code == 200  # (before: RecursionError, a 500, and a journal that answered 500)
        journal = json.dumps(pbx.requests())
    log = capsys.readouterr().err
    assert "note" in journal and "note" in log  # (the request was journaled and logged)
    for secret in ("colon-secret-1", "colon-secret-2", "colon-secret-3", "colon-secret-4", "colon-secret-5",
                   "colon-secret-6"):
        assert secret not in journal and secret not in log, secret


@pytest.mark.parametrize(("value", "secret"), [("<token>hunter2</token>", "hunter2"),
                                               ("http://bob:hunter2@host/", "hunter2"),
                                               ('{\\"password\\": \\"hunter2\\"}', "hunter2")])
def test_xml_a_urls_password_and_escaped_json_in_an_ordinary_value_are_redacted(value: str, secret: str) -> None:
    """As in a text body (the review: an XML element in a query value or header, and a URL's
    password, were shown), and JSON held in a JSON string cut short (`\\"password\\": \\"x\\"`),
    which no rule read, in a text body too."""
    for shown in (json.dumps(redact_query_string(f"next={quote_plus(value)}")), redact_header("X-Note", value),
                  str(redact_text(f'{{"payload": "{value}')), str(redact_body(value.encode(), "text/plain"))):
        assert secret not in shown and REDACTED in shown, shown


def test_a_secret_after_a_harmless_pair_in_a_text_body_is_redacted() -> None:
    """(Before: `note: token: x` showed `x`: the first pair took the rest of the line as its value.)"""
    for body in (b"note: token: hunter2", b"a=1 password=hunter2", b"Subject: re: api_key: hunter2\r\nok"):
        shown = redact_body(body, "text/plain")
        assert isinstance(shown, str) and "hunter2" not in shown and REDACTED in shown, shown
    assert redact_body(b"Subject: re: api_key: hunter2\r\nok", "text/plain").endswith("\r\nok")  # type: ignore[union-attr]


def test_urls_nested_in_query_values_are_read_once_per_level_and_never_raise() -> None:
    """(The second review: each level of `?next=...?back=...` read its inner value twice, so the
    time doubled per level (16 levels: 0.6 s a request, and again on every journal read), and
    about 300 levels raised RecursionError: a 500, then a journal that answered 500 for good.)"""
    assert "hunter2" not in redact_query_string_raw("n=" + quote_plus("a?b=" * 16 + "token: hunter2"))
    deep = "n=" + quote_plus("a?b=" * 400 + "password=hunter2")
    for shown in (redact_query_string_raw(deep), redact_query_string_json(deep), json.dumps(redact_query_string(deep))):
        assert "hunter2" not in unquote_plus(shown), shown[-80:]
    # The pairs keep the order they were sent in.
    assert redact_query_string_raw("a=1&note=token:+x&a=2") == "a=1&note=token%3A+%3Credacted%3E&a=2"


@pytest.mark.parametrize("body", [b'note={"password":["a","hunter2"]}', b'note={"password":{"a":1,"b":"hunter2"}}',
                                  b'next=http://h/?q={"password":["hunter2"]}'])
def test_json_arrays_and_objects_in_a_form_value_are_redacted_whole(body: bytes) -> None:
    """(The second review: only the `[` was replaced, and the rest of the array was shown.)"""
    shown = redact_body(body, "application/x-www-form-urlencoded")
    assert "hunter2" not in unquote_plus(str(shown)), shown


@pytest.mark.parametrize("text", ['\\"password": ["a","hunter2"]', 'x\\"token":{"v":"hunter2"}', 'password:\\"hunter2\\"',
                                  'token: {"a": "hunter2"} tail'])
def test_a_bracketed_or_escaped_value_after_a_secret_name_in_text_is_redacted_whole(text: str) -> None:
    """(The second review: the pair rule replaced only `[` or a lone backslash.)"""
    shown = redact_text(text)
    assert "hunter2" not in shown and REDACTED in shown, shown


@pytest.mark.parametrize("value", ['{"hook":"https://pbx:8443","mail":"ops@example.com"}',
                                   "see http://pbx:5060;contact=100@pbx"])
def test_a_host_and_port_before_an_at_sign_is_not_a_urls_password(value: str) -> None:
    """(The second review: the password rule ran across quotes and `;` to a later `@`.)"""
    assert redact_text(value) == value and redact_header("X-Note", value) == value


@pytest.mark.parametrize(("body", "secrets"), [
    (b"note=token:\npassword: 'hunter1'", ["hunter1"]), (b'note=secret:\n\ntoken: "hunter2"', ["hunter2"]),
    (b"a=1&password=x&note=token:%0Apassword: 'hunter3'", ["hunter3"]),
    (b"b='password' : h1 and my.password : 'h2'", ["h1", "h2"])])
def test_a_secret_pair_after_an_empty_or_unquoted_secret_value_keeps_its_own_value_hidden(body: bytes,
                                                                                         secrets: list[str]) -> None:
    """(The third review: `token:` with nothing after it took the next line's `password: ` as its
    value, and the quoted value after that was shown.)"""
    shown = str(redact_body(body, "application/x-www-form-urlencoded"))
    assert not [s for s in secrets if s in shown], shown


def test_an_unquoted_secret_value_ends_before_the_next_secret_pair() -> None:
    """(Before this stop: `token: a password: "x"` showed `"x"` in every view.)"""
    for shown in (redact_text('token: a password: "hunter2"'), redact_header("X-Note", 'token: a password: "hunter2"')):
        assert "hunter2" not in shown and shown.count(REDACTED) == 2, shown


def test_a_quoted_secret_name_of_64_characters_before_a_bracket_is_read() -> None:
    """(The third review: the inner-pair rule read back 64 characters, the closing quote among them.)"""
    assert "hunter2" not in redact_text("'password" + "A" * 56 + "': [hunter2]")


def test_a_password_in_a_redirect_chain_percent_encoded_nine_times_is_redacted() -> None:
    """(The third review: URLs were followed 8 deep, and the text rules do not decode `%3D`.)"""
    inner = "http://h/?password=hunter9"
    for _ in range(9):
        inner = "http://h/?n=" + quote_plus(inner)
    query = "n=" + quote_plus(inner)
    assert "hunter9" not in json.dumps(redact_query_string(query)) + redact_query_string_raw(query)


@pytest.mark.parametrize("text", ["note=see+https://pbx:8443+or+mail+ops@example.com",
                                  "x?next=https://pbx:8443%20contact%20ops@example.com"])
def test_a_host_and_port_then_a_space_written_as_a_form_or_url_writes_it_is_not_a_password(text: str) -> None:
    """(The third review: `+` and `%20` did not end the password rule's span.)"""
    assert redact_text(text) == text
    assert redact_text("http://bob:p%40ss@host/") == f"http://bob:{REDACTED}@host/"


@pytest.mark.parametrize(("text", "name"), [("password=Xtoken=", "password="), ("token: AbCpwdQ=", "token: "),
                                             ("token:Zq2qtoken:", "token:"), ("password: MySecret:123", "password: "),
                                             ("secret: abcPwDxyz==", "secret: ")])
def test_a_secret_value_holding_a_secret_word_and_a_separator_is_redacted_whole(text: str, name: str) -> None:
    """(The fourth review: the value's own first word, read as the name of a pair it ran into,
    ended it before it began, and a base64 `=` pad was enough to show it; `MySecret:` was shown.)"""
    for shown in (redact_text(text), redact_header("X-Note", text), str(redact_body(text.encode(), "text/plain")),
                  redact_query_string("n=" + quote_plus(text))["n"][0]):
        assert shown == name + REDACTED, (text, shown)


@pytest.mark.parametrize("body", [b'a=secret:"token":Zq2q', b"a=Password\\:password':Zq2q"])
def test_a_pair_right_after_a_replaced_quoted_value_in_a_form_is_read(body: bytes) -> None:
    """(The fourth review: the name of `"token":x` was read only after the value just replaced.)"""
    assert "Zq2q" not in str(redact_body(body, "application/x-www-form-urlencoded"))


@settings(max_examples=1000, deadline=None)
@given(st.lists(st.sampled_from(["e", "y", "J", "eyJ", "a", "Z", "0", "_", "-", ".", "/", " ", "="]), max_size=40).map("".join))
def test_jwts_are_found_as_the_jwt_pattern_finds_them(text: str) -> None:
    """`_redact_jwts` replaces exactly what `JWT.sub` would, without the regex's quadratic time on
    runs of `eyJ` (64 KiB took 1.4 s; a journal of such bodies took minutes to read)."""
    assert _redact_jwts(text) == JWT.sub(REDACTED, text)


def test_a_run_of_eyj_is_shown_and_a_jwt_after_it_is_not() -> None:
    text = "eyJ" * 5000 + " " + JWT_LIKE
    assert redact_text(text) == "eyJ" * 5000 + " " + REDACTED
