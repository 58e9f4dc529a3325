"""Errors a user can cause or meet, each printed as one line with an exit code.

Exit codes (documented in README.md):
  0  success (including "no changes")
  1  an AWS operation failed (stack rolled back, task failed, access denied)
  2  bad input or usage (settings, flags, files); nothing was sent to AWS
  3  refused for safety (a stateful resource would be replaced, no confirmation)
  130 interrupted (Ctrl-C); a deployment already started keeps running
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_AWS = 1
EXIT_USAGE = 2
EXIT_REFUSED = 3
EXIT_INTERRUPTED = 130


class UserError(Exception):
    """One line for the user, no traceback."""

    exit_code = EXIT_USAGE


class AwsError(UserError):
    exit_code = EXIT_AWS


class RefusedError(UserError):
    exit_code = EXIT_REFUSED
