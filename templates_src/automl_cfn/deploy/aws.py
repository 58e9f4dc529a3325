"""AWS access for every verb: one session, retrying clients, one-line errors.

Endpoint, profile and region come from the command line, else the usual
AWS environment (AWS_ENDPOINT_URL, AWS_PROFILE, AWS_REGION), else the
settings file's aws_region.  The same code reaches the local endpoint and
real AWS.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from ..errors import AwsError, UserError

USER_AGENT = "automl-cfn"
# botocore's standard retry mode: exponential backoff with jitter on
# throttling and transient errors, shared retry quota.
RETRIES = {"mode": "standard", "max_attempts": 6}
CONNECT_TIMEOUT = 10
READ_TIMEOUT = 60


@dataclass
class AwsOptions:
    endpoint_url: str | None = None
    profile: str | None = None
    region: str | None = None

    @classmethod
    def from_flags(cls, endpoint_url: str | None, profile: str | None, region: str | None) -> "AwsOptions":
        """The options of a verb, the endpoint checked once here: the flag, else the AWS_ENDPOINT_URL variables
        botocore reads (the global one and the per-service ones, AWS_ENDPOINT_URL_S3...)."""
        check_environment()
        if endpoint_url is not None:
            check_endpoint_url(endpoint_url, "--endpoint-url")
        elif os.environ.get("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "").lower() != "true":
            for name, value in sorted(os.environ.items()):
                if name.startswith("AWS_ENDPOINT_URL") and value:
                    check_endpoint_url(value, name)
        if profile is not None and not profile.strip():
            raise UserError("--profile is empty; name a profile of the AWS config files (aws configure "
                            "list-profiles shows them), or leave the flag out")
        return cls(endpoint_url, profile, region)


CREDENTIAL_VARIABLES = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")
RETRY_MODES = ("legacy", "standard", "adaptive")   # boto3 guide/retries.html, "Available retry modes"


def check_environment() -> None:
    """The AWS variables botocore reads as numbers or as true/false (its own table of them,
    botocore.configprovider), the retry mode, and the credentials: a value botocore would fail on deep in a
    request, or read silently as false, is one line here.  A credential's value is never shown."""
    from botocore.configprovider import BOTOCORE_DEFAUT_SESSION_VARIABLES
    from botocore.utils import ensure_boolean

    for _, variables, _, convert in BOTOCORE_DEFAUT_SESSION_VARIABLES.values():
        for variable in (variables,) if isinstance(variables, str) else variables or ():
            value = os.environ.get(variable, "")
            if value and convert is int and not (value.strip().isascii() and value.strip().isdigit() and
                                                 int(value) >= 1):
                raise UserError(f"{variable}={value[:40]!r} is not allowed; allowed: a whole number from 1")
            if value and convert is ensure_boolean and value.lower() not in ("true", "false"):
                raise UserError(f"{variable}={value[:40]!r} is not allowed; allowed: true or false")
    mode = os.environ.get("AWS_RETRY_MODE", "")
    if mode and mode not in RETRY_MODES:
        raise UserError(f"AWS_RETRY_MODE={mode[:40]!r} is not allowed; allowed: {', '.join(RETRY_MODES)}")
    for variable in CREDENTIAL_VARIABLES:
        value = os.environ.get(variable, "")
        if value and not (value.isascii() and value.isprintable() and " " not in value):
            raise UserError(f"{variable} holds characters AWS credentials never have (they are printable ASCII "
                            "without spaces); set it again from where the keys came from")


ENDPOINT_ALLOWED = ("allowed: http:// or https://, a host name or IP address and an optional port from 1 to 65535, "
                    "e.g. http://localhost:4566")


def check_endpoint_url(url: str, given: str) -> str:
    """An endpoint botocore can reach: http(s), a host it accepts (its own check), a TCP port.  What botocore
    would otherwise meet as a ValueError deep in client creation, or a port it cannot parse, is one line here;
    the URL is shown without its credentials."""
    from urllib.parse import urlsplit

    from botocore.utils import is_valid_endpoint_url, is_valid_ipv6_endpoint_url

    from ..redact import redact_url

    def refuse(why: str) -> UserError:
        return UserError(f"{given} {redact_url(url)[:120]!r} is not an endpoint URL ({why}); {ENDPOINT_ALLOWED}")

    if not url.strip():
        raise refuse("it is empty")
    if not url.isprintable() or " " in url:
        raise refuse("it holds spaces or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:   # "Port out of range 0-65535", "Port could not be cast to integer value"
        raise refuse("its port is not a number from 1 to 65535" if "port" in str(exc).lower() else
                     str(exc).lower()) from None
    if parts.scheme.lower() not in ("http", "https"):
        raise refuse(f"the scheme is {parts.scheme!r}" if parts.netloc else "no scheme: it needs http:// or https://")
    if not (is_valid_endpoint_url(url) or is_valid_ipv6_endpoint_url(url)):
        raise refuse("no valid host name")
    if port == 0:
        raise refuse("its port is not a number from 1 to 65535")
    return url


@dataclass
class Aws:
    options: AwsOptions
    default_region: str
    _clients: dict[str, Any] = field(default_factory=dict)
    _identity: dict | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    @cached_property
    def session(self):
        from ..batch_gc import collector_paused

        with collector_paused():   # boto3's modules and endpoint data live as long as the process
            import boto3
            from botocore.exceptions import ProfileNotFound

            try:
                return boto3.Session(profile_name=self.options.profile, region_name=self.region)
            except ProfileNotFound:
                raise profile_not_found(self.options.profile) from None

    @property
    def region(self) -> str:
        """--region, else the settings' aws_region: an exported AWS_REGION never moves an environment
        silently (check_region refuses a mismatch that --region does not confirm)."""
        return self.options.region or self.default_region

    def check_region(self, source: str) -> None:
        """The region is one AWS has, and an ambient AWS_REGION that disagrees was confirmed by --region."""
        import difflib

        # The session the clients come from: botocore reads its endpoint data once (40 ms a session).
        known = {r for partition in self.session.get_available_partitions()
                 for r in self.session.get_available_regions("cloudformation", partition)}
        if known and self.region not in known:
            close = difflib.get_close_matches(self.region, sorted(known), n=1)
            hint = f"; did you mean {close[0]}?" if close else ""
            given = "--region" if self.options.region else f"aws_region in {source}"
            raise UserError(f"{given} {self.region!r} is not an AWS region{hint}")
        variable = "AWS_REGION" if os.environ.get("AWS_REGION") else "AWS_DEFAULT_REGION"
        ambient = os.environ.get(variable)
        if not self.options.region and ambient and ambient != self.default_region:
            raise UserError(f"{variable} is {ambient} but {source} says aws_region: {self.default_region}; pass "
                            f"--region {self.default_region} (or --region {ambient}) to say which, or unset {variable}")

    @property
    def endpoint_url(self) -> str | None:
        return self.options.endpoint_url or os.environ.get("AWS_ENDPOINT_URL") or None

    def client(self, service: str):
        with self._lock:   # boto3 sessions are not thread-safe, and the template upload runs in threads
            return self._client(service)

    def _client(self, service: str):
        if service not in self._clients:
            from botocore.config import Config

            from ..batch_gc import collector_paused

            config = Config(retries=RETRIES, user_agent_extra=USER_AGENT, connect_timeout=CONNECT_TIMEOUT,
                            read_timeout=READ_TIMEOUT)
            session = self.session
            # A client's service model is a large tree of dicts kept until the process ends: the collector
            # would walk it again and again (with the session, 0.1 s of a first deploy).
            with collector_paused():
                try:
                    self._clients[service] = session.client(
                        service, region_name=self.region, endpoint_url=self.options.endpoint_url, config=config,
                    )
                except ValueError as exc:   # an endpoint_url in the AWS config file that botocore refuses
                    from ..redact import redact

                    raise UserError(f"cannot make a {service} client: {redact(str(exc))[:200]}; check endpoint_url "
                                    "and the other settings of the profile in the AWS config file") from None
        return self._clients[service]

    def identity(self) -> dict:
        """The credentials' identity, asked once: a deploy needs it in several places."""
        if self._identity is None:
            self._identity = self.client("sts").get_caller_identity()   # a race asks twice: harmless
        return self._identity

    def account_id(self) -> str:
        return self.identity()["Account"]

    def partition(self) -> str:
        return self.identity()["Arn"].split(":")[1]

    def caller_role(self) -> str | None:
        """The role the credentials are a session of (arn:...:assumed-role/NAME/SESSION), else None."""
        kind, _, rest = self.identity()["Arn"].split(":", 5)[5].partition("/")
        return rest.split("/", 1)[0] if kind == "assumed-role" else None


EXPIRED = {"ExpiredToken", "ExpiredTokenException", "RequestExpired", "TokenRefreshRequired"}
DENIED = {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "AuthorizationError"}
BAD_CREDENTIALS = {"InvalidClientTokenId", "UnrecognizedClientException", "SignatureDoesNotMatch",
                   "InvalidAccessKeyId", "AuthFailure"}
THROTTLED = {"Throttling", "ThrottlingException", "TooManyRequestsException", "RequestLimitExceeded",
             "SlowDown"}


def profile_not_found(flag: str | None) -> UserError:
    """Name the profile where the user set it: --profile, or AWS_PROFILE in the environment."""
    if flag is not None:
        given = f"--profile {flag or repr(flag)}"
    else:
        variable = "AWS_PROFILE" if "AWS_PROFILE" in os.environ else "AWS_DEFAULT_PROFILE"
        given = f"{variable}={os.environ.get(variable) or repr(os.environ.get(variable, ''))}"
    return UserError(f"{given}: no such profile in the AWS config files (aws configure list-profiles shows them)")


def explain(exc: Exception, region: str | None = None) -> UserError:
    """A botocore failure as one line a person can act on (exit code 1)."""
    from botocore import exceptions as bx

    from ..redact import redact

    where = f" in {region}" if region else ""
    if isinstance(exc, bx.NoCredentialsError):
        return AwsError("no AWS credentials found: set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, "
                        "or run 'aws configure' / 'aws sso login'")
    if isinstance(exc, bx.ProfileNotFound):
        return profile_not_found(None)
    if isinstance(exc, (bx.TokenRetrievalError, bx.SSOTokenLoadError, bx.UnauthorizedSSOTokenError)):
        return AwsError("AWS SSO session has expired: run 'aws sso login' and try again")
    if isinstance(exc, (bx.InvalidConfigError, bx.ConfigParseError, bx.PartialCredentialsError, bx.InvalidDefaultsMode,
                        bx.InvalidSTSRegionalEndpointsConfigError, bx.InvalidChecksumConfigError,
                        bx.InvalidRetryConfigurationError, bx.InvalidS3AddressingStyleError,
                        bx.InvalidEndpointDiscoveryConfigurationError, bx.InvalidProxiesConfigError)):
        # the local AWS configuration (environment, config files), not AWS: bad input, exit 2
        return UserError(f"the AWS configuration is refused: {redact(str(exc))}")
    if isinstance(exc, bx.ProxyConnectionError):
        return AwsError(f"cannot reach the proxy {redact(str(exc.kwargs.get('proxy_url')))}: check HTTPS_PROXY and "
                        "HTTP_PROXY (and NO_PROXY), and that the proxy is running")
    if isinstance(exc, bx.EndpointConnectionError):
        return AwsError(f"cannot reach {redact(str(exc.kwargs.get('endpoint_url')))}: check the region name{where} "
                        "and the network (or that the local endpoint is running)")
    if isinstance(exc, (bx.ConnectionClosedError, bx.ReadTimeoutError, bx.ConnectTimeoutError)):
        return AwsError(f"the AWS endpoint stopped answering ({type(exc).__name__}); nothing was lost: "
                        "run the same command again to resume")
    if isinstance(exc, bx.InvalidRegionError):
        return UserError(f"region {exc.kwargs.get('region_name')!r} is not a valid AWS region name")
    if isinstance(exc, bx.ClientError):
        error = exc.response.get("Error", {})
        code, message = error.get("Code", ""), error.get("Message", "")
        operation = getattr(exc, "operation_name", "the request")
        if code in EXPIRED:
            return AwsError("AWS credentials have expired: refresh them (aws sso login, or new session keys)")
        if code in DENIED:
            return AwsError(f"access denied to {operation}{where}: {message}".rstrip(": "))
        if code in BAD_CREDENTIALS:
            return AwsError(f"AWS rejected the credentials ({code}){where}: check the profile, and that the "
                            "region is one your account has enabled")
        if code in THROTTLED:
            return AwsError(f"AWS kept throttling {operation} after retries; wait a minute and run it again")
        return AwsError(f"{operation} failed{where}: {code}: {message}")
    return AwsError(f"AWS request failed: {type(exc).__name__}: {redact(str(exc))}")


def is_botocore_error(exc: Exception) -> bool:
    return type(exc).__module__.startswith("botocore")


def error_code(exc: Exception) -> str:
    return (getattr(exc, "response", None) or {}).get("Error", {}).get("Code", "")


def error_message(exc: Exception) -> str:
    return (getattr(exc, "response", None) or {}).get("Error", {}).get("Message", str(exc))
