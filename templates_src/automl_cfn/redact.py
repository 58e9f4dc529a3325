"""Credentials never reach the terminal.

An endpoint URL may carry them (`http://user:secret@host`, or a presigned
`?X-Amz-Signature=...`), and a message may quote such a URL: botocore's
"Could not connect to the endpoint URL" does.  What we print goes through
`redact`: an http(s) URL keeps its scheme, host, port and path; its userinfo
and the values of query parameters named like credentials become `***`.  The
values of the secret AWS environment variables are masked wherever they
appear.  Where a URL's parts are unclear (an unencoded `/` in a password, an
`@` in a path), more is masked rather than less.
"""

from __future__ import annotations

import os
import re

MASK = "***"
# An endpoint URL in running text, up to whitespace or a quote (botocore quotes the URLs it names).  Other
# schemes (s3://bucket/key) carry no credentials and may hold an @ in a key.
URL_IN_TEXT = re.compile(r"(?i)\bhttps?://[^\s'\"<>`]+")
# Query parameters whose values are credentials: SigV4's presigned ones (X-Amz-Credential, X-Amz-Signature,
# X-Amz-Security-Token) and the usual names for tokens, keys and passwords.
SECRET_PARAMETER = re.compile(r"(?i)signature|credential|token|secret|password|passwd|pwd|auth|key|session")
SECRET_VARIABLES = ("AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN")
SHORTEST_MASKED = 16   # shorter values are words, not keys (the local endpoint's secret is "testing")


def redact_url(url: str) -> str:
    """One URL (or what was meant as one, scheme or not) without its credentials."""
    scheme, separator, rest = url.partition("://")
    if not separator:
        scheme, rest = "", url
    userinfo_end = re.split(r"[?#]", rest, maxsplit=1)[0].rfind("@")
    if userinfo_end >= 0:
        rest = MASK + rest[userinfo_end:]
    path, question, query = rest.partition("?")
    if question:
        query, hash_mark, fragment = query.partition("#")
        query = "&".join(_redact_parameter(p) for p in query.split("&")) + hash_mark + fragment
    return scheme + separator + path + question + query


def _redact_parameter(parameter: str) -> str:
    name, equals, value = parameter.partition("=")
    return f"{name}={MASK}" if equals and value and SECRET_PARAMETER.search(name) else parameter


def redact(text: str) -> str:
    """Text with every URL in it redacted and the secret AWS environment variables' values masked."""
    text = URL_IN_TEXT.sub(lambda m: redact_url(m.group(0)), text) if "://" in text else text
    for name in SECRET_VARIABLES:
        secret = os.environ.get(name, "")
        if len(secret) >= SHORTEST_MASKED and secret in text:
            text = text.replace(secret, MASK)
    return text
