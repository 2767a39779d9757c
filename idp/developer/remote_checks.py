"""The registration checks that need to fetch something the registrant pointed at: its
`jwks_uri` must serve usable public keys, and its `sector_identifier_uri` must list every redirect
URI (OIDC Core §8.1, OIDC Registration §5; oidcc-registration-sector-uri / -sector-bad). Every
fetch goes through :mod:`idp.fetch`."""

from __future__ import annotations

from urllib.parse import urlsplit

from .. import fetch
from ..oidc.client_jwks import ClientKeysError, parse_public_jwks
from ..settings import Settings
from .clients import ClientSpec, Problem


def _fetch_problem(field: str, exc: fetch.FetchError) -> Problem:
    code = "fetch_refused" if isinstance(exc, fetch.FetchRefused) else "fetch_failed"
    return Problem(field, code, exc.public)


def remote_problems(spec: ClientSpec, settings: Settings, *,
                    resolve: fetch.Resolver | None = None) -> list[Problem]:
    """Problems found by fetching; call only once :func:`problems_of` found none."""
    problems = []
    if spec.jwks_uri:
        try:
            parse_public_jwks(fetch.fetch_json(spec.jwks_uri, settings, resolve=resolve))
        except fetch.FetchError as exc:
            problems.append(_fetch_problem("jwks_uri", exc))
        except ClientKeysError as exc:
            problems.append(Problem("jwks_uri", exc.code))
    if spec.subject_type == "pairwise" and not spec.sector_identifier_uri:
        hosts = {urlsplit(uri).hostname for uri in spec.redirect_uris}
        if len(hosts) > 1:
            problems.append(Problem("sector_identifier_uri", "required",
                                    "required for pairwise clients with several hosts"))
    if spec.sector_identifier_uri:
        try:
            listed = fetch.fetch_json(spec.sector_identifier_uri, settings, resolve=resolve)
        except fetch.FetchError as exc:
            problems.append(_fetch_problem("sector_identifier_uri", exc))
        else:
            if not isinstance(listed, list) or not all(isinstance(u, str) for u in listed):
                problems.append(Problem("sector_identifier_uri", "sector_format",
                                        "must be a JSON array of URIs"))
            elif not set(spec.redirect_uris) <= set(listed):
                problems.append(Problem("sector_identifier_uri", "sector_mismatch",
                                        "does not list every redirect URI"))
    return problems
