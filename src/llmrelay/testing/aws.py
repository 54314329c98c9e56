"""What an AWS front end checks before a request reaches the service: SigV4 or a Bearer key.

The server side of Signature Version 4, written from the request as received (raw path,
received headers, body bytes), independently of llmrelay's signer; botocore's requests pass it
(tests/fidelity/test_bedrock_sdk.py). Failures are AWS's 403s with their real wording.
"""

from __future__ import annotations

import calendar
import hashlib
import hmac
import re
import time
from dataclasses import dataclass
from typing import Mapping
from urllib.parse import quote

SERVICE = "bedrock"
# Shared test credentials: long-term keys, and temporary ones that need their session token.
ACCESS_KEY_ID = "AKIAEMULATOR0EXAMPLE"
SECRET_ACCESS_KEY = "emulatorSecretAccessKey/K7MDENG+bPxRfiCYEXAMPLE"
TEMP_ACCESS_KEY_ID = "ASIAEMULATOR0EXAMPLE"
TEMP_SECRET_ACCESS_KEY = "emulatorTemporarySecret/K7MDENG+bPxRfiCYTEMP"
SESSION_TOKEN = "IQoJb3JpZ2luX2VjEEmulatorSessionToken//////////wEaCXVzLWVhc3QtMSJHMEUCIQ=="
CREDENTIALS = {
    ACCESS_KEY_ID: (SECRET_ACCESS_KEY, None),
    TEMP_ACCESS_KEY_ID: (TEMP_SECRET_ACCESS_KEY, SESSION_TOKEN),
}
REGIONS = frozenset({"us-east-1", "us-east-2", "us-west-2", "eu-west-1", "eu-central-1",
                     "ap-northeast-1", "ap-southeast-2"})
MAX_SKEW = 300  # seconds of clock difference AWS accepts

SIGNATURE_MISMATCH = (
    "The request signature we calculated does not match the signature you provided. Check "
    "your AWS Secret Access Key and signing method. Consult the service documentation for "
    "details."
)
AUTH_HEADER = re.compile(
    r"AWS4-HMAC-SHA256 Credential=(?P<key>[^/,\s]+)/(?P<day>\d{8})/(?P<region>[^/,\s]+)/"
    r"(?P<service>[^/,\s]+)/aws4_request,\s*SignedHeaders=(?P<signed>[a-z0-9;-]+),\s*"
    r"Signature=(?P<signature>[0-9a-f]{64})"
)


@dataclass(frozen=True)
class Refusal:
    """Why the front end refused a request: AWS's error type and message (always a 403)."""

    type: str
    message: str


def check_auth(method: str, path: str, query: Mapping[str, str], headers: Mapping[str, str],
               body: bytes, bearer_key: str, now: float | None = None) -> Refusal | None:
    """``None`` when the request is authenticated; ``headers`` have lower-case names."""
    authorization = headers.get("authorization", "")
    if not authorization:
        return Refusal("MissingAuthenticationTokenException", "Missing Authentication Token")
    if authorization.startswith("Bearer "):
        if authorization[7:] != bearer_key:
            return Refusal("UnrecognizedClientException",
                           "The security token included in the request is invalid.")
        return None
    match = AUTH_HEADER.fullmatch(authorization.strip())
    if match is None:
        return Refusal("IncompleteSignatureException",
                       f"Authorization header requires 'Credential', 'Signature' and "
                       f"'SignedHeaders' parameters. Authorization={authorization[:40]}...")
    found = CREDENTIALS.get(match["key"])
    token = headers.get("x-amz-security-token")
    if found is None or found[1] != token:
        return Refusal("UnrecognizedClientException",
                       "The security token included in the request is invalid.")
    if match["service"] != SERVICE:
        return Refusal("InvalidSignatureException",
                       f"Credential should be scoped to correct service: '{SERVICE}'. ")
    if match["region"] not in REGIONS:
        return Refusal("InvalidSignatureException", "Credential should be scoped to a valid region. ")
    signed = match["signed"].split(";")
    missing = [h for h in ("host", "x-amz-date") if h not in signed]
    missing += [h for h in signed if h not in headers]
    if token and "x-amz-security-token" not in signed:
        missing.append("x-amz-security-token")
    if missing:
        return Refusal("InvalidSignatureException",
                       f"'{missing[0]}' must be a signed header and be present in the request.")
    amz_date = headers["x-amz-date"]
    try:
        stamp = calendar.timegm(time.strptime(amz_date, "%Y%m%dT%H%M%SZ"))
    except ValueError:
        return Refusal("IncompleteSignatureException", f"Date must be in ISO-8601 'basic format'. "
                                                       f"Got '{amz_date}'.")
    current = time.time() if now is None else now
    if abs(current - stamp) > MAX_SKEW:
        when = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(current))
        return Refusal("InvalidSignatureException",
                       f"Signature expired: {amz_date} is now earlier than {when} - 5 min.")
    if match["day"] != amz_date[:8]:
        return Refusal("InvalidSignatureException", "Date in Credential scope does not match "
                                                    "YYYYMMDD from ISO-8601 version of date from HTTP")
    expected = signature(method, path, query, headers, signed, body, secret=found[0],
                         day=match["day"], region=match["region"], amz_date=amz_date)
    if not hmac.compare_digest(expected, match["signature"]):
        return Refusal("InvalidSignatureException", SIGNATURE_MISMATCH)
    return None


def signature(method: str, path: str, query: Mapping[str, str], headers: Mapping[str, str],
              signed: list[str], body: bytes, *, secret: str, day: str, region: str,
              amz_date: str) -> str:
    """The signature the request should carry, computed as the service does."""
    canonical_query = "&".join(
        f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in sorted(query.items()))
    canonical_headers = "".join(f"{name}:{' '.join(headers[name].split())}\n" for name in signed)
    canonical = "\n".join([
        method, canonical_uri(path), canonical_query, canonical_headers, ";".join(signed),
        hashlib.sha256(body).hexdigest(),
    ])
    scope = f"{day}/{region}/{SERVICE}/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope,
                         hashlib.sha256(canonical.encode()).hexdigest()])
    key = f"AWS4{secret}".encode()
    for part in (day, region, SERVICE, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()


def canonical_uri(path: str) -> str:
    """The received (percent-encoded) path, normalised, encoded a second time."""
    parts: list[str] = []
    for segment in path.split("/"):
        if segment == "..":
            if parts:
                parts.pop()
        elif segment not in ("", "."):
            parts.append(segment)
    normal = "/" + "/".join(parts) + ("/" if path.endswith("/") and parts else "")
    return quote(normal, safe="/~")
