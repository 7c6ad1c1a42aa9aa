"""Which API profile a host speaks, from its token response and a call-log page."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from mockpbx.profiles import DEFAULT_PROFILE, Profile, get_profile, profile_names
from mockpbx.verify.contract import for_profile
from mockpbx.verify.probes import ProbeContext, check_token, window_query

AUTO = "auto"


@dataclass(frozen=True)
class Detection:
    """The profile to check a host against, whether the host fits it, and what differs if not."""

    profile: Profile
    fits: bool
    differences: tuple[str, ...] = ()

    def describe(self) -> str:
        """One line for the report."""
        if self.fits:
            return f"host speaks profile {self.profile.name}"
        return (f"host fits no profile; checked against {self.profile.name}, which differs in: "
                + "; ".join(self.differences))


def _differences(what: str, expected: frozenset[str], seen: set[str]) -> list[str]:
    found = []
    if expected - seen:
        found.append(f"{what} lacks {', '.join(sorted(expected - seen))}")
    if seen - expected:
        found.append(f"{what} has {', '.join(sorted(seen - expected))}, not in the contract")
    return found


def differences(profile: Profile, token: Mapping[str, object] | None,
                call: Mapping[str, object] | None) -> list[str]:
    """The fields of the token data and of one call that `profile`'s contract does not expect."""
    found: list[str] = []
    if token is not None:
        found += _differences("the token response", profile.schema_keys("Token"), set(token))
    if call is not None:
        found += _differences("a call", profile.schema_keys("Call"), set(call))
    return found


def detect(token: Mapping[str, object] | None, call: Mapping[str, object] | None,
           asked: str = AUTO) -> Detection:
    """The profile whose fields fit `token` (the token's `data`) and `call` (a record of the
    first page, None if it was empty); with `asked` a profile name, that one is used as is."""
    if asked != AUTO:
        chosen = get_profile(asked)
        return Detection(chosen, not differences(chosen, token, call), tuple(differences(chosen, token, call)))
    for name in profile_names():
        if not differences(get_profile(name), token, call):
            return Detection(get_profile(name), True)
    fallback = get_profile(DEFAULT_PROFILE)
    return Detection(fallback, False, tuple(differences(fallback, token, call)))


def first_call(ctx: ProbeContext) -> tuple[dict[str, object] | None, bool]:
    """A record of the first call-log page of the sample window (None if the page is empty),
    and whether the page could be read at all."""
    options = ctx.options
    exchange = ctx.get_calls("profile", window_query(options.window_start, options.window_end, limit=1))
    body = exchange.json()
    if exchange.status != 200 or not isinstance(body, dict) or not isinstance(body.get("data"), list):
        return None, False
    record = next((r for r in body["data"] if isinstance(r, dict)), None)
    return record, True


def identify(ctx: ProbeContext, contract_given: bool) -> Detection:
    """Decide the profile from the token and the first page; check the token's lifetime by it;
    switch to that profile's contract (unless --contract was given)."""
    call, readable = first_call(ctx)
    found = detect(ctx.token_data, call, ctx.options.profile)
    ctx.profile = found.profile
    line = found.describe() if ctx.options.profile == AUTO else (
        f"checked against profile {found.profile.name} (as asked)"
        + ("" if found.fits else "; the host differs in: " + "; ".join(found.differences)))
    if call is None and ctx.options.profile == AUTO:
        line += (" (from the token response; the first page had no calls)" if readable
                 else " (from the token response; the first page could not be read)")
    ctx.results.profile, ctx.results.profile_line = found.profile.name, line
    if not contract_given:
        ctx.contract = for_profile(found.profile)
        ctx.results.contract_label = ctx.contract.label
    check_token(ctx)
    return found
