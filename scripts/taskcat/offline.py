"""Run taskcat with its HTML report working offline.

taskcat 0.9.58 downloads its report stylesheet from GitHub while writing the
report; with no internet that fails the run.  This wrapper, run by the
taskcat virtual environment's Python, serves report.css from beside it
instead, then hands the command line to taskcat unchanged.
"""

import sys
from pathlib import Path

import requests

STYLESHEET = Path(__file__).with_name("report.css")
_online_get = requests.get


def _offline_get(url, *args, **kwargs):
    if url.endswith("taskcat_reporting.css"):
        response = requests.models.Response()
        response.status_code = 200
        response._content = STYLESHEET.read_bytes()
        response.encoding = "utf-8"
        response.url = url
        return response
    return _online_get(url, *args, **kwargs)


requests.get = _offline_get

if __name__ == "__main__":
    from taskcat._cli import main

    sys.argv = ["taskcat", *sys.argv[1:]]
    sys.exit(main())
