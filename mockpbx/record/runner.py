"""Runs a recording end to end: log in, read the windows, anonymise, shift, write, summarise."""

from __future__ import annotations

import json
import os
import secrets
import sys
import time
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from mockpbx import __version__
from mockpbx.data.fixtures import parse_fixtures
from mockpbx.domain.calls import Call
from mockpbx.domain.errors import DataError
from mockpbx.record import shape
from mockpbx.record.document import WEEK, build_document, recorded_account, shift_call, shift_weeks
from mockpbx.record.fetch import CallLogReader, RecordError, WindowRecords, split_windows
from mockpbx.record.options import RecordOptions
from mockpbx.record.pseudonyms import PseudonymError, pseudonymise
from mockpbx.redaction import Redactor
from mockpbx.verify.client import BudgetedClient, BudgetExhausted, ClientStopped, describe_target
from mockpbx.verify.runner import Progress

DONE, INCOMPLETE, CANNOT_RUN = 0, 1, 2
NOT_ANONYMISED = ("warning: --no-anonymize: the file will hold the host's real phone numbers; "
                  "keep it out of version control and shared fixtures")


def _read(recorded: list[WindowRecords], profile: str, options: RecordOptions) -> list[Call]:
    """Every recorded call in true UTC, oldest window first, each window oldest call first."""
    calls: list[Call] = []
    for number, part in enumerate(recorded, 1):
        for index, record in enumerate(reversed(part.records)):
            try:
                calls.append(shape.read_call(record, profile, options.zone))
            except shape.ShapeError as error:
                position = len(part.records) - 1 - index
                raise RecordError(f"window {number} ({part.window.start} .. {part.window.end}), call {position} "
                                  f"of the listing: {error}") from None
    return calls


def _anonymise(calls: list[Call], key: bytes) -> tuple[list[Call], int]:
    mapping = pseudonymise((n for c in calls for n in (c.source, c.destination)), key)
    return [Call(c.start_time, c.duration, mapping[c.source], mapping[c.destination], c.amount)
            for c in calls], sum(real != fake for real, fake in mapping.items())


def _header(options: RecordOptions, recorded: list[WindowRecords], profile: str, calls: int, numbers: int,
            weeks: int, sent: int, complete: bool, now: float) -> dict[str, object]:
    def span(start: datetime, end: datetime) -> dict[str, str]:
        return {"start": str(start + weeks * WEEK), "end": str(end + weeks * WEEK)}
    first, last = recorded[0].window, recorded[-1].window
    return {
        "tool": f"mockpbx record {__version__}",
        "recorded_at": datetime.fromtimestamp(int(now), UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "host": options.base_url,  # --base-url never holds credentials (options refuse them)
        "profile": profile,
        "timezone": options.timezone,
        "window": {"start": str(first.start), "end": str(last.end)},
        "shifted_by_weeks": weeks,
        "windows": [span(r.window.start, r.window.end) | {"calls": len(r.records)} for r in recorded],
        "complete": complete,
        "calls": calls,
        "anonymized": options.anonymize,
        "distinct_numbers_mapped": numbers,
        "salt": ("given with --salt, not stored" if options.salt else "random, not stored")
        if options.anonymize else None,
        "requests": sent,
    }


class _Run:
    """One recording: the client, the progress lines and what has been read so far."""

    def __init__(self, options: RecordOptions, client: BudgetedClient, redactor: Redactor, err: TextIO) -> None:
        self.options, self.client, self.redactor, self.err = options, client, redactor, err
        self.progress = Progress(err, client, redactor)
        credentials = options.credentials
        self.reader = CallLogReader(client, credentials.username, credentials.password, credentials.api_key,
                                    self.progress)
        self.recorded: list[WindowRecords] = []
        self.stopped: str | None = None

    def fetch(self) -> None:
        """Log in and read every window; stops early (keeping whole windows) when the client stops."""
        options = self.options
        windows = split_windows(options.window_start, options.window_end)
        self.progress(f"logging in to {describe_target(options.base_url)}")
        self.reader.authenticate()
        for number, window in enumerate(windows, 1):
            try:
                self.recorded.append(self.reader.read_window(window, f"window {number}/{len(windows)}"))
            except (BudgetExhausted, ClientStopped) as stop:
                self.stopped = (f"{stop}; recorded {len(self.recorded)} of {len(windows)} windows "
                                f"(a window is kept only when read to its end)")
                return

    def write(self, now: float) -> tuple[dict[str, object], int]:
        """Build the document and write it; the document and the count of numbers mapped."""
        options = self.options
        profile = shape.detect_profile(self.reader.token_fields,
                                       next((r.records for r in self.recorded if r.records), []))
        calls = _read(self.recorded, profile, options)
        numbers = 0
        if options.anonymize:
            key = options.salt.encode() if options.salt else secrets.token_bytes(32)
            calls, numbers = _anonymise(calls, key)
        weeks = shift_weeks(options.window_end, options.shift_to)
        calls = [shift_call(c, weeks, options.zone) for c in calls]
        account = recorded_account(options.as_username)
        header = _header(options, self.recorded, profile, len(calls), numbers, weeks, self.client.sent,
                         self.stopped is None, now)
        kind = "anonymised" if options.anonymize else "NOT anonymised (real phone numbers)"
        description = (f"Recorded by mockpbx record from {header['host']} ({kind}); log in as "
                       f"{account['login']} / {account['password']}. Generation is off: these calls only.")
        document = build_document(calls, account, header, description)
        try:  # what `serve --fixtures` will do with it: a file it refuses is not written
            parse_fixtures(document, options.output)
        except DataError as error:
            raise RecordError(f"the recording does not make a valid fixture file: {error}") from None
        _write(options.output, json.dumps(document, ensure_ascii=False, indent=1) + "\n")
        return document, numbers


def _check_writable(output: Path) -> None:
    """Raise RecordError now if the file could not be written at the end: its directory is made if
    missing (as verify does for its reports), and must take a new file."""
    target = output.resolve() if output.is_symlink() else output
    if target.exists() and not target.is_file():
        if not os.access(target, os.W_OK):
            raise RecordError(f"{output} cannot be written")
        return
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise RecordError(f"{output} cannot be written: {error.strerror or error}") from None
    if not os.access(target.parent, os.W_OK | os.X_OK) or (target.exists() and not os.access(target, os.W_OK)):
        raise RecordError(f"{output} cannot be written: {target.parent} takes no new file")


def _write(output: Path, text: str) -> None:
    """Write the file whole or not at all: a partial file next to it, then renamed over it (through
    a symlink, over its target). Something else that exists there, a device, a FIFO or
    /dev/stdout, is written in place: renaming over it would replace the device node itself."""
    target = output.resolve() if output.is_symlink() else output
    if target.exists() and not target.is_file():
        with open(target, "w", encoding="utf-8") as handle:
            handle.write(text)
        return
    temporary = target.with_name(target.name + ".partial")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, target)


def _summary(document: dict[str, object], numbers: int, run: _Run) -> str:
    header = document["recording"]
    info = header if isinstance(header, dict) else {}
    mapped = f"{numbers} distinct numbers mapped" if run.options.anonymize else "numbers NOT anonymised"
    return (f"recorded {info['calls']} calls in {len(run.recorded)} window(s) from {info['host']} "
            f"(profile {info['profile']}), {mapped}, {run.client.sent} of {run.client.budget} requests "
            f"used -> {run.options.output}\n")


def record(options: RecordOptions, *, out: TextIO | None = None, err: TextIO | None = None,
           now: Callable[[], float] = time.time, client: BudgetedClient | None = None) -> int:
    """Record with `options`; print progress and the summary; return the exit code (0, 1 or 2)."""
    out, err = out or sys.stdout, err or sys.stderr
    redactor = Redactor(options.secrets())
    client = client or BudgetedClient(options.base_url, budget=options.max_requests, rate=options.rate_limit,
                                      timeout=options.timeout, redactor=redactor)
    for secret in options.secrets():  # a client given by the caller learns them too
        client.redactor.add(secret)
    if not options.anonymize:
        err.write(NOT_ANONYMISED + "\n")
    run = _Run(options, client, client.redactor, err)
    try:
        _check_writable(options.output)  # before the first request: not after the whole budget is spent
        run.fetch()
        if not run.recorded:
            raise RecordError(run.stopped or "nothing was recorded")
        document, numbers = run.write(now())
    except (RecordError, PseudonymError, OSError) as error:
        return _cannot_run(err, run, str(error))
    except (BudgetExhausted, ClientStopped) as error:
        return _cannot_run(err, run, f"could not log in: {error}")
    except Exception as error:  # noqa: BLE001 (a bug in record: show it, redacted, and exit 2)
        err.write(run.redactor.redact(traceback.format_exc()))
        return _cannot_run(err, run, f"internal error: {type(error).__name__}: {error}")
    finally:
        client.close()
    out.write(run.redactor.redact(_summary(document, numbers, run)))
    if run.stopped:
        err.write(run.redactor.redact(f"mockpbx record: incomplete: {run.stopped}") + "\n")
        return INCOMPLETE
    return DONE


def _cannot_run(err: TextIO, run: _Run, reason: str) -> int:
    err.write(run.redactor.redact(f"mockpbx record: cannot run: {reason}; no file written") + "\n")
    return CANNOT_RUN
