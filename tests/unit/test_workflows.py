"""The GitHub workflows promote one release from dev to prod, each stage in its own approval environment."""

from __future__ import annotations

import yaml


def load(project_root, name: str) -> dict:
    return yaml.safe_load((project_root / ".github" / "workflows" / name).read_text())


def test_prod_deploys_the_release_dev_published_after_dev(project_root):
    jobs = load(project_root, "deploy.yml")["jobs"]
    publish = jobs["publish"]
    assert publish["environment"] == "dev" and set(publish["outputs"]) == {"release", "bucket"}
    assert any("automl-cfn publish --env dev --format json" in step.get("run", "") for step in publish["steps"])
    for env, needs in (("dev", "publish"), ("prod", ["publish", "deploy-dev"])):
        job = jobs[f"deploy-{env}"]
        assert job["needs"] == needs and job["uses"] == "./.github/workflows/deploy-release.yml"
        assert job["with"] == {"env": env, "release": "${{ needs.publish.outputs.release }}",
                               "bucket": "${{ needs.publish.outputs.bucket }}"}


def test_a_release_deploys_in_its_environment_with_its_region(project_root):
    called = load(project_root, "deploy-release.yml")
    [job] = called["jobs"].values()
    assert job["environment"] == "${{ inputs.env }}" and job["concurrency"] == "deploy-${{ inputs.env }}"
    runs = " ".join(step.get("run", "") for step in job["steps"])
    assert "--release ${{ inputs.release }} --release-bucket ${{ inputs.bucket }}" in runs
    assert "automl-cfn settings --env ${{ inputs.env }} aws_region" in runs


def test_every_aws_region_comes_from_the_settings(project_root):
    """A fixed AWS_REGION would contradict config/prod.yaml's aws_region, which the CLI refuses."""
    for name in ("deploy.yml", "deploy-release.yml"):
        for job in load(project_root, name)["jobs"].values():
            for step in job.get("steps", []):
                if "configure-aws-credentials" in step.get("uses", ""):
                    assert step["with"]["aws-region"] == "${{ steps.region.outputs.region }}", name
            assert "AWS_REGION" not in str(job.get("env", {}))


def test_pull_requests_diff_with_each_environments_read_only_role(project_root):
    """The deploy roles trust no pull request: the diff job assumes the environment's diff role."""
    job = load(project_root, "deploy.yml")["jobs"]["diff"]
    [step] = [s for s in job["steps"] if "configure-aws-credentials" in s.get("uses", "")]
    assert step["with"]["role-to-assume"] == "${{ secrets[format('AUTOML_CFN_DIFF_ROLE_ARN_{0}', matrix.env)] }}"
