"""upload, download and destroy --backup on the local endpoint: a sync never deletes what it could not read,
never leaves a torn object behind exit 0, converges when keys collide, and ends in one line instead of a
traceback when a key cannot be a file here."""

from __future__ import annotations

import os

import pytest

from automl_cfn.ops import data as data_ops

from .conftest import stack_names
from .test_ops import ops, prod  # noqa: F401  (the fixture)


def keys(clients, bucket: str, prefix: str) -> set[str]:
    return {o["Key"] for o in clients("s3").list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])}


def tree(root):
    for relative in ("a.csv", "gone.csv", "sub/x.csv", "sub/y.csv", "real/z.csv"):
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(relative)


def test_upload_delete_keeps_what_it_could_not_read(aws, prod, cli, clients, tmp_path, monkeypatch):
    source = tmp_path / "data"
    tree(source)
    assert ops(cli, "upload", "--source", str(source))[0] == 0
    (source / "gone.csv").unlink()
    os.symlink(source / "real", source / "link")          # a symlinked directory: not followed
    unreadable = source / "sub"
    real_scandir = os.scandir

    def scandir(path="."):
        if os.fspath(path) == os.fspath(unreadable):      # tests run as root, where chmod 0 stops nothing
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    code, out, err = ops(cli, "upload", "--source", str(source), "--delete", "--yes")
    assert code == 3
    assert f"skipped {unreadable}: cannot be read (Permission denied)" in err
    assert f"skipped {source / 'link'}: is a symbolic link (not followed)" in err
    assert "pass --delete-skipped" in err.strip().splitlines()[-1]
    bucket = prod["DataBucketName"]
    assert keys(clients, bucket, "data/") == {"data/a.csv", "data/gone.csv", "data/sub/x.csv", "data/sub/y.csv",
                                              "data/real/z.csv"}
    code, out, err = ops(cli, "upload", "--source", str(source), "--delete", "--yes", "--delete-skipped")
    assert code == 0, err
    assert "1 deleted" in out
    # gone.csv is gone; sub/ (unread) is kept.
    assert keys(clients, bucket, "data/") == {"data/a.csv", "data/sub/x.csv", "data/sub/y.csv", "data/real/z.csv"}
    code, out, err = ops(cli, "upload", "--source", str(source), "--delete-skipped")
    assert code == 2 and "--delete-skipped only goes with --delete" in err


def test_a_file_that_changes_while_it_is_uploaded(aws, prod, cli, clients, tmp_path, monkeypatch):
    source = tmp_path / "data"
    source.mkdir()
    growing = source / "log.csv"
    growing.write_text("a\n")
    real = data_ops.run_transfers
    writes = {"left": 1}

    def transfer_while_written(s3, entries, start, label):
        real(s3, entries, start, label)
        if writes["left"]:
            writes["left"] -= 1
            with growing.open("a") as handle:     # written to while it was read
                handle.write("b\n")
            os.utime(growing, ns=(growing.stat().st_atime_ns, growing.stat().st_mtime_ns + 1))

    monkeypatch.setattr(data_ops, "run_transfers", transfer_while_written)
    code, out, err = ops(cli, "upload", "--source", str(source))
    assert code == 0 and "changed while they were uploaded; uploading them again" in err
    body = clients("s3").get_object(Bucket=prod["DataBucketName"], Key="data/log.csv")["Body"].read()
    assert body == b"a\nb\n"
    writes["left"] = 99                            # it never stops changing
    growing.write_text("c\n")
    code, out, err = ops(cli, "upload", "--source", str(source))
    assert code == 1 and "changed while it was uploaded" in err and "may be torn" in err


def test_download_reports_keys_that_cannot_be_files_and_converges(aws, prod, cli, clients, tmp_path):
    s3, bucket = clients("s3"), prod["DataBucketName"]
    for key in ("models/a//b.txt", "models/a/b.txt", "models/f", "models/f/g", "models/ctl\x01.txt",
                "models/ok.txt"):
        s3.put_object(Bucket=bucket, Key=key, Body=key.encode())
    dest = tmp_path / "models"
    for _ in range(2):   # the same answer every run: no two keys fight over one file
        code, out, err = ops(cli, "download", "models", "--dest", str(dest))
        assert code == 1 and "Traceback" not in err
        assert "4 object(s) under" in err.strip().splitlines()[-1]
        assert "is the same file as 'a/b.txt'" in err and "names a file where other keys need a directory" in err
        assert "control character" in err
        assert sorted(p.relative_to(dest).as_posix() for p in dest.rglob("*") if p.is_file()) == ["f/g", "ok.txt"]


def test_download_where_local_files_are_in_the_way(aws, prod, cli, clients, tmp_path, monkeypatch):
    s3, bucket = clients("s3"), prod["DataBucketName"]
    s3.put_object(Bucket=bucket, Key="models/dir/file.txt", Body=b"x")
    s3.put_object(Bucket=bucket, Key="models/same.txt", Body=b"y")
    dest = tmp_path / "models"
    dest.mkdir()
    (dest / "dir").write_text("a file where a directory belongs")
    (dest / "same.txt").write_text("z")                    # same size as the remote copy
    real_etag = data_ops.local_etag

    def unreadable(path, size):
        if path.name == "same.txt":
            raise PermissionError(13, "Permission denied", str(path))
        return real_etag(path, size)

    monkeypatch.setattr(data_ops, "local_etag", unreadable)
    code, out, err = ops(cli, "download", "models", "--dest", str(dest))
    assert code == 1 and "Traceback" not in err
    assert "needs" in err and "as a directory, but it is a file here" in err
    assert "cannot be read (Permission denied)" in err
    code, out, err = ops(cli, "download", "models", "--dest", str(dest / "dir"))
    assert code == 2 and "is a file; expected a directory" in err


def test_backup_that_would_be_incomplete_destroys_nothing(aws, cli, clients, tmp_path):
    assert cli("deploy", "--env", "dev", "--yes")[0] == 0
    s3 = clients("s3")
    bucket = [b["Name"] for b in s3.list_buckets()["Buckets"] if b["Name"].startswith("automl-dev-data")][0]
    s3.put_object(Bucket=bucket, Key="data/f", Body=b"1")
    s3.put_object(Bucket=bucket, Key="data/f/g", Body=b"2")
    code, out, err = cli("destroy", "--env", "dev", "--yes", "--backup", str(tmp_path / "backup"))
    assert code == 1 and "Traceback" not in err
    assert "the backup of s3://" in err and "nothing was deleted" in err
    assert stack_names(clients("cloudformation"))["automl-dev"] in ("CREATE_COMPLETE", "UPDATE_COMPLETE")
    s3.delete_object(Bucket=bucket, Key="data/f")
    code, out, err = cli("destroy", "--env", "dev", "--yes", "--backup", str(tmp_path / "backup"))
    assert code == 0, err
    assert (tmp_path / "backup" / "data" / "f" / "g").read_bytes() == b"2"


@pytest.mark.parametrize("relative", ["x//y", "./x", "x/./y", "../x", "/abs"])
def test_layout_names_every_key_it_cannot_place(tmp_path, relative):
    from automl_cfn.keys import layout

    placed = layout(["x/y", relative], tmp_path)
    assert relative in placed.problems or placed.paths.get(relative) == tmp_path / relative.strip("/")
