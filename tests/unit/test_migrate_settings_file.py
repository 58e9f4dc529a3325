"""The settings block `migrate apply` writes: only a well-formed, unique block is rewritten, in place, with the
file's own line endings; anything else is refused naming file:line, and the file is not touched."""

from __future__ import annotations

import os
import stat

import pytest
import yaml

from automl_cfn.errors import RefusedError
from automl_cfn.migrate import files, settings_file
from automl_cfn.migrate.settings_file import BEGIN, END

SHOWN = "config/dev.yaml"
WANTED = {"adopted_names": {"data_bucket": "automl-tf-data"}, "api_key_secret": "arn:aws:secretsmanager:x"}
USER = "# dev settings\nproject_name: automl   # keep\nenvironment: dev\napi_key_secret: \"\"  # none yet\n"
AFTER = "\n# the user's own, after the block\nlog_retention_days: 7   # a week\nalarm_email: ops@example.com\n"


def block(wanted=WANTED) -> str:
    return f"{BEGIN}\n{yaml.safe_dump(wanted, sort_keys=False, default_flow_style=False)}{END}\n"


def test_a_block_in_the_middle_is_rewritten_in_place_and_what_follows_is_kept():
    text = USER + "\n" + block({"adopted_names": {"data_bucket": "old"}}) + AFTER
    result = settings_file.updated(text, {"adopted_names": {"data_bucket": "new-name"}}, SHOWN)
    assert result == USER + "\n" + block({"adopted_names": {"data_bucket": "new-name"}}) + AFTER
    assert settings_file.updated(result, {"adopted_names": {"data_bucket": "new-name"}}, SHOWN) == result


REFUSED = [
    # (file text, line named, words in the message)
    (USER + BEGIN + "\nadopted_names:\n  data_bucket: old\n" + AFTER, 5, "opens here and never closes"),
    (USER + block() + "\n" + block(), 11, "a second opening"),
    (USER + block() + "x: 1\n" + END + "\n", 11, "a second closing"),
    (USER + END + "\n" + AFTER, 5, "closes here without opening"),
    (USER + END + "\n" + BEGIN + "\n", 5, "closes here without opening"),
    (USER + "  " + BEGIN + "\n" + END + "\n", 5, "looks like an automl-cfn migrate marker"),
    (USER + "# note: " + END + " goes below\n", 5, "looks like an automl-cfn migrate marker"),
    (USER + BEGIN + "  # mine\n" + END + "\n", 5, "looks like an automl-cfn migrate marker"),
    (USER + block().replace("data_bucket: automl-tf-data", "data_bucket: automl-tf-data  # kept"), 7,
     "edited by hand"),
    (USER + block().replace(END, "# my note\n" + END), 9, "edited by hand"),
    (USER + block().replace(END, "alarm_email: ops@example.com\n" + END), 9, "a setting the migration does not"),
    (USER + block().replace("adopted_names:", "adopted_names: [\n"), 6, "not YAML the migration wrote"),
    (USER.replace("\n", "\r\n", 2), 3, "ends in LF but line 1 ends in CRLF"),
    (USER + "log_retention_days: 7\rmore: 1\n", 5, "a carriage return that does not end the line"),
    (USER + "trailing: 1\r", 5, "a carriage return that does not end the line"),
]


@pytest.mark.parametrize("text, line, words", REFUSED, ids=[f"{w} (line {n})" for _, n, w in REFUSED])
def test_a_block_that_is_not_one_to_rewrite_is_refused_naming_the_line(text, line, words):
    with pytest.raises(RefusedError) as refused:
        settings_file.updated(text, WANTED, SHOWN)
    message = str(refused.value)
    assert message.startswith(f"{SHOWN}:{line}: ") and words in message and "\n" not in message, message


def test_crlf_files_keep_crlf_and_their_empty_line_steps_aside():
    crlf = (USER + "\n" + AFTER).replace("\n", "\r\n")
    result = settings_file.updated(crlf, WANTED, SHOWN)
    assert result.count("\r\n") == result.count("\n"), "every line ends in CRLF"
    assert result.startswith(USER.split("api_key_secret")[0].replace("\n", "\r\n"))
    assert '# api_key_secret: ""  # none yet  (automl-cfn migrate: set below)\r\n' in result
    assert yaml.safe_load(result)["api_key_secret"] == WANTED["api_key_secret"]
    assert AFTER.replace("\n", "\r\n") in result
    assert settings_file.updated(result, WANTED, SHOWN) == result       # a re-run changes nothing


def test_a_file_without_a_final_line_break_gets_the_block_after_a_blank_line():
    result = settings_file.updated("environment: dev", {"adopted_names": {"data_bucket": "b-1"}}, SHOWN)
    assert result == "environment: dev\n\n" + block({"adopted_names": {"data_bucket": "b-1"}})


# -- writing: atomic, never through a link, the mode kept -----------------------------------------------------

def test_the_file_is_replaced_atomically_and_keeps_its_mode(tmp_path):
    path = tmp_path / "dev.yaml"
    path.write_text(USER)
    path.chmod(0o600)                      # a settings file someone keeps private stays private
    assert files.replace(path, b"new\n", "settings file", expected=USER.encode())
    assert path.read_bytes() == b"new\n" and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert not files.replace(path, b"new\n", "settings file", expected=b"new\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dev.yaml"]   # no temporary left behind


def test_a_file_changed_since_it_was_read_is_not_overwritten(tmp_path):
    path = tmp_path / "dev.yaml"
    path.write_text(USER + "alarm_email: added-meanwhile@example.com\n")
    with pytest.raises(RefusedError, match="changed while the migration ran"):
        files.replace(path, b"new\n", "settings file", expected=USER.encode())
    assert path.read_text().endswith("added-meanwhile@example.com\n")


@pytest.mark.parametrize("name", ["dev.yaml", "automl-cfn-removed.tf"])
def test_a_link_is_never_written_through(tmp_path, name):
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    link = tmp_path / name
    link.symlink_to(victim)
    with pytest.raises(RefusedError, match="is a symbolic link"):
        files.replace(link, b"overwritten\n", "file")
    with pytest.raises(RefusedError, match="is a symbolic link"):
        files.read(link, "file")
    assert victim.read_text() == "precious\n" and link.is_symlink()


def test_the_temporary_file_is_new_even_when_a_link_waits_at_the_old_temporary_name(tmp_path):
    """The first version wrote .dev.yaml.migrate with write_text, following a link planted there."""
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    (tmp_path / ".dev.yaml.migrate").symlink_to(victim)
    path = tmp_path / "dev.yaml"
    path.write_text(USER)
    assert files.replace(path, b"new\n", "settings file", expected=USER.encode())
    assert victim.read_text() == "precious\n" and path.read_bytes() == b"new\n"


@pytest.mark.parametrize("out, words", [
    ("/dev/null/sub", "(/dev/null is not a directory)"),
    ("/dev/null", "is not a directory"),
    ("{tmp}/dangling", "is a symbolic link to"),
])
def test_an_output_directory_that_cannot_be_written_is_refused(tmp_path, out, words):
    from pathlib import Path

    from automl_cfn.errors import UserError

    (tmp_path / "dangling").symlink_to(tmp_path / "nowhere")
    with pytest.raises(UserError) as refused:
        files.output_directory(Path(out.format(tmp=tmp_path)))
    assert words in str(refused.value)
    assert not (tmp_path / "nowhere").exists()


def test_an_output_directory_through_a_link_is_written_where_the_link_points(tmp_path):
    from pathlib import Path

    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    assert files.output_directory(tmp_path / "link" / "new") == Path(os.path.realpath(tmp_path)) / "real" / "new"
