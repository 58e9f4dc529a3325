"""The CLI's contract: exit codes, one-line errors, lazy imports."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from automl_cfn.cli import main


def run(*args, cwd, env_extra=None):
    env = {**os.environ, **(env_extra or {})}
    return subprocess.run([sys.executable, "-m", "automl_cfn.cli", *args], cwd=cwd, capture_output=True, text=True,
                          env=env)


def test_params_prints_the_resolved_parameters(project_root, capsys):
    assert main(["params", "--env", "dev", "--project-dir", str(project_root), "--var", "train_cpu=4096",
                 "--var", "train_memory=8192"]) == 0
    params = {p["ParameterKey"]: p["ParameterValue"] for p in json.loads(capsys.readouterr().out)}
    assert params["TrainCpu"] == "4096" and params["TrainMemory"] == "8192" and params["Environment"] == "dev"


def test_params_map_format(project_root, capsys):
    assert main(["params", "--env", "prod", "--project-dir", str(project_root), "--format", "map"]) == 0
    assert json.loads(capsys.readouterr().out)["NatGateways"] == "per_az"


def test_params_with_a_config_file(tmp_path, capsys):
    path = tmp_path / "x.yaml"
    path.write_text("environment: qa\naz_count: 3\n")
    assert main(["params", "--config", str(path), "--format", "map"]) == 0
    assert json.loads(capsys.readouterr().out)["AzCount"] == "3"


def test_settings_prints_one_value_for_scripts_or_all_as_json(project_root, capsys):
    assert main(["settings", "--env", "prod", "aws_region", "--project-dir", str(project_root)]) == 0
    assert capsys.readouterr().out == "us-west-2\n"
    assert main(["settings", "--env", "dev", "--project-dir", str(project_root), "--var", "az_count=3"]) == 0
    everything = json.loads(capsys.readouterr().out)
    assert everything["az_count"] == 3 and everything["environment"] == "dev"


@pytest.mark.parametrize("args, fragment", [
    (["settings", "--env", "dev", "aws_regoin"], "'aws_regoin' is not a setting"),
    (["lint", "--force", "--jobs", "-1"], "argument --jobs: '-1' is not allowed; allowed: 1 to 64"),
    (["pipeline", "history", "--env", "dev", "--limit", "0"], "'0' is not allowed; allowed: 1 to 1000"),
    (["pipeline", "start", "--env", "dev", "--wait", "--poll", "nan"], "'nan' is not allowed; allowed: 0 to 3600"),
    (["pipeline", "schedule", "--env", "dev", "--count", "many"], "'many' is not allowed; allowed: 1 to 100"),
    (["settings", "--env", "dev", "--var", "organization_id=o-1"], "organization_id: 'o-1' is not an AWS "
                                                                    "Organizations ID"),
    (["params", "--env", "dev", "--var", "optimize_cpu=3"], "optimize_cpu: 3 is not allowed"),
    (["params", "--env", "dev", "--var", "load_balancer=public", "--var",
      "certificate_arn=arn:aws:acm:us-east-1:123456789012:certificate/11111111-2222-3333-4444-555555555555"],
     "load_balancer: public needs api_key_secret"),
    (["params", "--env", "dev", "--var", "load_balancer=internal", "--var", "api_key_secret=create"],
     "certificate_arn: needed with api_key_secret behind load_balancer: internal"),
    (["params", "--env", "dev", "--var", "optimise_cpu=1024"], "did you mean 'optimize_cpu'"),
    (["params", "--env", "nope"], "config/nope.yaml: settings file not found"),
    (["params"], "no environment given"),
    (["nonsense"], "invalid choice"),
    (["params", "--env", "dev", "--format", "xml"], "invalid choice"),
])
def test_bad_input_is_one_line_exit_2_no_traceback(project_root, args, fragment):
    result = run(*args, "--project-dir", str(project_root), cwd=project_root) if args != ["nonsense"] else run(
        *args, cwd=project_root)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("automl-cfn: error: ") and fragment in lines[0], result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_templates_verb_writes_generated(tmp_path, project_root):
    result = run("templates", "--project-dir", str(project_root), "--out", str(tmp_path), cwd=project_root)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "templates" / "root.json").exists() and (tmp_path / "parameters" / "prod.json").exists()
    assert result.stdout.startswith("wrote ") and (tmp_path / "diagrams" / "dev.mmd").exists()


def test_generating_templates_does_not_import_boto3_or_deploy_code(project_root):
    code = (
        "import sys; from automl_cfn.cli import main; main(['templates', '--out', sys.argv[1]]);"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('boto3', 'botocore', 'moto')"
        " or m.startswith('automl_cfn.deploy')); print(bad)"
    )
    import tempfile

    with tempfile.TemporaryDirectory() as out:
        result = subprocess.run([sys.executable, "-c", code, out], cwd=project_root, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"


def test_generating_templates_leaves_out_modules_only_mistakes_need(project_root, tmp_path):
    """difflib serves did-you-mean hints; shutil came in through argparse's terminal-width lookup.
    (Drawing an SVG anew uses a temporary directory, and with it shutil: the drawings are copied in.)"""
    import shutil

    shutil.copytree(project_root / "generated", tmp_path, dirs_exist_ok=True)
    code = ("import sys; from automl_cfn.cli import main; main(['templates', '--out', sys.argv[1]]);"
            "print(sorted(m for m in ('difflib', 'shutil') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code, str(tmp_path)], cwd=project_root, capture_output=True,
                            text=True)
    assert result.stdout.strip().splitlines()[-1] == "[]", result.stderr


def test_the_console_script_leaves_what_the_verb_kept_out_of_the_exit_collection(project_root):
    # atexit hooks run before the interpreter's last collection: by then everything is frozen, and the
    # verb's output and exit code are what main() gave.
    code = ("import atexit, gc, sys; atexit.register(lambda: print('frozen', gc.get_freeze_count() > 10000)); "
            "from automl_cfn.cli import run; run()")
    good = subprocess.run([sys.executable, "-c", code, "settings", "--env", "prod", "aws_region"],
                          cwd=project_root, capture_output=True, text=True)
    assert (good.returncode, good.stdout.split()) == (0, ["us-west-2", "frozen", "True"]), good.stderr
    bad = subprocess.run([sys.executable, "-c", code, "settings", "--env", "nope"], cwd=project_root,
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr and bad.stdout.split() == ["frozen", "True"]


def test_help_wraps_at_the_terminal_width_it_is_given(project_root):
    narrow = run("templates", "--help", cwd=project_root, env_extra={"COLUMNS": "50"})
    wide = run("templates", "--help", cwd=project_root, env_extra={"COLUMNS": "200"})
    assert max(map(len, narrow.stdout.splitlines())) <= 50 < max(map(len, wide.stdout.splitlines()))


def test_params_does_not_import_troposphere(project_root):
    code = ("import sys; from automl_cfn.cli import main; main(['params', '--env', 'dev']);"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('troposphere', 'awacs', 'boto3')))")
    result = subprocess.run([sys.executable, "-c", code], cwd=project_root, capture_output=True, text=True)
    assert result.stdout.strip().splitlines()[-1] == "[]"


def test_deploy_verbs_do_not_import_troposphere(project_root):
    code = ("import sys; import automl_cfn.cli, automl_cfn.deploy.engine, automl_cfn.deploy.destroy;"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('troposphere', 'awacs')))")
    result = subprocess.run([sys.executable, "-c", code], cwd=project_root, capture_output=True, text=True)
    assert result.stdout.strip().splitlines()[-1] == "[]", result.stderr


def test_every_verb_and_option_explains_itself():
    import argparse

    from automl_cfn.cli import build_parser

    verbs = [a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)][0]
    for name, parser in verbs.choices.items():
        assert parser.description, name
        silent = [a.option_strings or a.dest for a in parser._actions
                  if not a.help and not isinstance(a, argparse._HelpAction)]
        assert silent == [], (name, silent)


def test_a_broken_pipe_ends_quietly(project_root, monkeypatch, capsys):
    class Closed:
        def write(self, text):
            raise BrokenPipeError(32, "Broken pipe")

        def flush(self):
            raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr(sys, "stdout", Closed())
    assert main(["params", "--env", "dev", "--project-dir", str(project_root)]) == 0
    assert "Traceback" not in capsys.readouterr().err


def test_a_real_pipe_closed_early_leaves_no_traceback(project_root):
    process = subprocess.Popen([sys.executable, "-m", "automl_cfn.cli", "cost", "--env", "prod", "--format",
                                "json", "--project-dir", str(project_root)], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
    process.stdout.read(1)
    process.stdout.close()       # `| head -c1`
    _, err = process.communicate()
    assert process.returncode == 0 and b"Traceback" not in err and b"BrokenPipe" not in err


def test_ctrl_c_in_a_stack_verb_says_how_to_follow_what_goes_on(project_root, monkeypatch, capsys):
    from automl_cfn.deploy import engine

    def interrupted(target, options):
        raise KeyboardInterrupt

    monkeypatch.setattr(engine, "deploy", interrupted)
    assert main(["deploy", "--env", "dev", "--yes", "--project-dir", str(project_root)]) == 130
    err = capsys.readouterr().err
    assert err.strip() == ("automl-cfn: interrupted; what CloudFormation started goes on: follow it with "
                           "'automl-cfn status --env dev --watch'")


def test_output_prints_arns_as_they_are(capsys):
    """rich would turn ':secret:' in a Secrets Manager ARN into an emoji."""
    from automl_cfn import ui

    ui.reset_consoles()
    arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:automl/api-key-AbCdEf"
    ui.info(arn)
    ui.out().print(arn)
    captured = capsys.readouterr()
    ui.reset_consoles()
    assert captured.err.strip() == arn and captured.out.strip() == arn
