"""Root template: nested stacks wired by parameters and outputs, nothing else."""

from __future__ import annotations

from automl_cfn.evaluate import Evaluation
from automl_cfn.parameters import PARAMETERS, parameter_values
from automl_cfn.settings import with_overrides
from automl_cfn.stacks import CHILD_CONDITIONS, CHILD_FALLBACKS, CHILDREN

OPERATOR_OUTPUTS = {
    "ClusterName", "TaskSubnets", "PrivateSubnets", "PublicSubnets", "TaskSecurityGroupId", "AssignPublicIp",
    "DataBucketName", "OptimizeRepositoryUri", "TrainRepositoryUri", "PredictRepositoryUri",
    "PipelineRepositoryUri", "OptimizeTaskFamily", "TrainTaskFamily", "PredictTaskFamily", "StateMachineArn",
    "OptimizeRunTaskCommand", "TrainRunTaskCommand", "PredictRunTaskCommand", "QuickStartCommands",
    "OptimizeLogGroupName", "TrainLogGroupName", "PredictLogGroupName",
}


def test_one_nested_stack_per_concern(templates):
    stacks = {k: v for k, v in templates["root"]["Resources"].items() if v["Type"] == "AWS::CloudFormation::Stack"}
    assert sorted(stacks) == sorted(f"{c.capitalize()}Stack" for c in CHILDREN)
    assert len(templates["root"]["Resources"]) == len(stacks)


def test_template_urls_come_from_the_templates_bucket_and_prefix(templates):
    for name in CHILDREN:
        url, variables = templates["root"]["Resources"][f"{name.capitalize()}Stack"]["Properties"]["TemplateURL"][
            "Fn::Sub"]
        assert url == (f"https://${{TemplatesBucket}}.s3.${{BucketRegion}}.${{AWS::URLSuffix}}/"
                       f"${{TemplatesPrefix}}{name}.json")
        # The bucket's region: this stack's, unless TemplatesRegion names another (StackSets instances).
        assert variables == {"BucketRegion": {"Fn::If": ["TemplatesInAnotherRegion", {"Ref": "TemplatesRegion"},
                                                         {"Ref": "AWS::Region"}]}}
    assert templates["root"]["Conditions"]["TemplatesInAnotherRegion"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "TemplatesRegion"}, ""]}]}


def test_every_child_parameter_is_wired(templates):
    root = templates["root"]
    outputs_so_far = set()
    for name in CHILDREN:
        child = templates[name]
        passed = root["Resources"][f"{name.capitalize()}Stack"]["Properties"]["Parameters"]
        assert set(passed) == set(child["Parameters"]), name
        for param, value in passed.items():
            if param in PARAMETERS:
                assert value == {"Ref": param}
                continue
            if "Fn::If" in value:   # a conditional producer: its output, or the fallback where it is absent
                condition, value, fallback = value["Fn::If"]
                producer_name = value["Fn::GetAtt"][0].removesuffix("Stack").lower()
                assert condition == CHILD_CONDITIONS[producer_name]
                kind, what = CHILD_FALLBACKS[producer_name][param]
                assert fallback == ({"Ref": what} if kind == "parameter" else what)
            producer, attribute = value["Fn::GetAtt"]
            assert attribute == f"Outputs.{param}" and param in outputs_so_far, (name, param)
        outputs_so_far |= set(child.get("Outputs", {}))


def test_compute_runs_in_the_network_stacks_subnets_or_the_existing_ones(templates, dev):
    passed = templates["root"]["Resources"]["ComputeStack"]["Properties"]["Parameters"]
    assert passed["TaskSubnets"] == {"Fn::If": ["CreatesVpc", {"Fn::GetAtt": ["NetworkStack", "Outputs.TaskSubnets"]},
                                                {"Ref": "ExistingPrivateSubnetIds"}]}
    assert passed["ExecutionRoleArn"] == {"Fn::GetAtt": ["IamStack", "Outputs.ExecutionRoleArn"]}


def test_pipeline_stack_only_when_step_functions_are_enabled(templates, dev):
    for enabled in (True, False):
        root = Evaluation(templates["root"], parameter_values(with_overrides(dev, enable_stepfunctions=enabled)))
        assert ("PipelineStack" in root.resources()) is enabled
        assert ("StateMachineArn" in root.outputs()) is enabled


def test_outputs_have_what_an_operator_types(templates, dev):
    outputs = Evaluation(templates["root"], parameter_values(with_overrides(dev, enable_stepfunctions=True))).outputs()
    assert OPERATOR_OUTPUTS <= set(outputs)
    command = outputs["OptimizeRunTaskCommand"]["Fn::Sub"][0]
    assert command.startswith("aws ecs run-task --cluster ${Cluster} --task-definition ${Family}")
    assert "awsvpcConfiguration={subnets=[${Subnets}],securityGroups=[${Group}],assignPublicIp=${PublicIp}}" in command


def test_root_declares_every_registry_parameter_with_its_constraints(templates):
    params = templates["root"]["Parameters"]
    assert set(params) == set(PARAMETERS)
    assert params["OptimizeCpu"]["AllowedValues"] == ["256", "512", "1024", "2048", "4096", "8192", "16384"]
    assert params["NatGateways"]["AllowedValues"] == ["per_az", "single", "none"]
    assert params["LogRetentionDays"]["Type"] == "Number"
    assert "TemplatesBucket" in params and "Default" not in params["TemplatesBucket"]
