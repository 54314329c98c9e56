"""Bedrock credentials: a Bedrock API key (Bearer) or AWS keys (SigV4, service ``bedrock``).

Resolution, as botocore does it for Bedrock: a Bedrock API key (``api_key=`` or
``AWS_BEARER_TOKEN_BEDROCK``) wins; otherwise the access key pair (``aws_access_key_id=`` /
``aws_secret_access_key=`` or ``AWS_ACCESS_KEY_ID`` / ``AWS_SECRET_ACCESS_KEY``, with
``AWS_SESSION_TOKEN`` for temporary credentials) signs every attempt.
"""

from __future__ import annotations

import re
from dataclasses import replace

from ...config import ProviderSettings
from ...exceptions import AuthenticationError, BadRequestError
from ...transport import encode_body
from ..base import HTTPRequest
from .sigv4 import sign_request

SIGNING_NAME = "bedrock"  # botocore's signingName for bedrock-runtime (not the endpoint prefix)
SETTINGS_ENV = {
    "aws_access_key_id": "AWS_ACCESS_KEY_ID",
    "aws_secret_access_key": "AWS_SECRET_ACCESS_KEY",
    "aws_session_token": "AWS_SESSION_TOKEN",
    "aws_region_name": "AWS_REGION",
    "aws_default_region": "AWS_DEFAULT_REGION",
}
SECRET_OPTIONS = ("aws_secret_access_key", "aws_session_token")
REGION = re.compile(r"[a-z0-9-]{1,32}")


def region_of(settings: ProviderSettings) -> str | None:
    region = settings.options.get("aws_region_name") or settings.options.get("aws_default_region")
    return str(region) if region else None


def finish_settings(settings: ProviderSettings) -> ProviderSettings:
    """Credentials checked (``AuthenticationError`` naming what is missing) and the endpoint
    derived from the region, before any request is made."""
    options = settings.options
    if not settings.api_key:
        key_id, secret = options.get("aws_access_key_id"), options.get("aws_secret_access_key")
        if not key_id or not secret:
            missing = " and ".join(
                name for name, value in (("AWS_ACCESS_KEY_ID", key_id),
                                         ("AWS_SECRET_ACCESS_KEY", secret)) if not value)
            raise AuthenticationError(
                f"No credentials for bedrock ({missing} not set): set AWS_ACCESS_KEY_ID and "
                "AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for temporary credentials), or "
                "AWS_BEARER_TOKEN_BEDROCK for a Bedrock API key; or pass aws_access_key_id= "
                "and aws_secret_access_key=, or api_key=",
                provider="bedrock",
            )
    region = region_of(settings)
    if region is not None and not REGION.fullmatch(region):
        raise BadRequestError(f"Not an AWS region: {region!r}", provider="bedrock")
    if region is None and (not settings.base_url or not settings.api_key):
        # SigV4 scopes every signature to a region, also behind a custom endpoint.
        raise BadRequestError(
            "No AWS region for bedrock: pass aws_region_name= or set AWS_REGION or "
            "AWS_DEFAULT_REGION", provider="bedrock",
        )
    if not settings.base_url:
        return replace(settings, base_url=f"https://bedrock-runtime.{region}.amazonaws.com")
    return settings


def sign(request: HTTPRequest, settings: ProviderSettings) -> HTTPRequest:
    """The request as sent on this attempt: SigV4-signed over its exact body bytes (a fresh
    timestamp each time). With a Bedrock API key it already carries its Bearer header."""
    if settings.api_key:
        return request
    options = settings.options
    body = request.content if request.content is not None else encode_body(request.json)
    headers = sign_request(
        request.method, request.url, request.headers, body,
        access_key=str(options["aws_access_key_id"]),
        secret_key=str(options["aws_secret_access_key"]),
        session_token=options.get("aws_session_token") or None,
        region=str(region_of(settings)),
        service=SIGNING_NAME,
    )
    return HTTPRequest(request.method, request.url, headers, request.json, request.stream, body)
