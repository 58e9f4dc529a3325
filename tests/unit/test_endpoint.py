"""The prediction endpoint: load balancer modes and deployment strategies."""

from __future__ import annotations

import pytest

from automl_cfn.settings import SettingsError, validate
from tests.conftest import retained

CERT = "arn:aws:acm:us-east-1:123456789012:certificate/0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0"
# The settings refuse a public load balancer without HTTPS or without an API key.
PUBLIC = {"load_balancer": "public", "certificate_arn": CERT, "api_key_secret": "create"}
WIRED = {"BlueTargetGroupArn": "tg-blue", "GreenTargetGroupArn": "tg-green", "ProductionListenerRuleArn": "rule",
         "EcsInfrastructureRoleArn": "role", "LoadBalancerSecurityGroupId": "sg-lb",
         "LoadBalancerFullName": "app/x/1", "BlueTargetGroupFullName": "targetgroup/b/2"}


def service(stack, **settings):
    return stack("compute", wired=WIRED, image_tag="v1", **settings).resources()


def test_without_a_load_balancer_nothing_is_created(stack):
    assert stack("endpoint").resources() == {}
    assert stack("endpoint").outputs()["EndpointUrl"] == "none"
    props = service(stack)["PredictionService"]["Properties"]
    assert "LoadBalancers" not in props and props["DeploymentConfiguration"]["Strategy"] == "ROLLING"
    assert "Alarms" not in props["DeploymentConfiguration"]
    assert not any("DeploymentAlarm" in k for k in stack("monitoring").resources())


def test_public_rolling_endpoint(stack):
    endpoint = stack("endpoint", **PUBLIC).resources()
    balancer = endpoint["PredictionLoadBalancer"]["Properties"]
    assert balancer["Scheme"] == "internet-facing" and balancer["Subnets"] == {"Ref": "PublicSubnets"}
    assert sorted(k for k, v in endpoint.items() if v["Type"].endswith("TargetGroup")) == ["BlueTargetGroup"]
    assert {"HttpListener", "HttpsListener"} <= set(endpoint)
    assert endpoint["BlueTargetGroup"]["Properties"]["HealthCheckPath"] == "/health"
    forward = endpoint["ProductionListenerRule"]["Properties"]["Actions"][0]["ForwardConfig"]["TargetGroups"]
    assert forward == [{"TargetGroupArn": {"Ref": "BlueTargetGroup"}, "Weight": 1}]
    ingress = endpoint["LoadBalancerSecurityGroup"]["Properties"]["SecurityGroupIngress"]
    assert {r["CidrIp"] for r in ingress} == {"0.0.0.0/0"} and {r["FromPort"] for r in ingress} == {80, 443}
    compute = service(stack, **PUBLIC)
    props = compute["PredictionService"]["Properties"]
    assert props["LoadBalancers"] == [{"ContainerName": "predict", "ContainerPort": "8080",
                                       "TargetGroupArn": "tg-blue"}]
    deployment = props["DeploymentConfiguration"]
    assert deployment["Strategy"] == "ROLLING" and deployment["Alarms"]["Rollback"] is True
    assert [a["Fn::Sub"] for a in deployment["Alarms"]["AlarmNames"]] == [
        "${ProjectName}-${Environment}-predict-5xx", "${ProjectName}-${Environment}-predict-latency",
        "${ProjectName}-${Environment}-predict-unhealthy"]
    # Only the load balancer reaches the tasks, on the container port.
    ingress = compute["TaskIngressFromLoadBalancer"]["Properties"]
    assert ingress["SourceSecurityGroupId"] == "sg-lb" and ingress["FromPort"] == "8080"
    assert compute["PredictTaskDefinition"]["Properties"]["ContainerDefinitions"][0]["PortMappings"] == [
        {"ContainerPort": "8080", "Protocol": "tcp"}]
    tracking = compute["PredictionRequestScaling"]["Properties"]["TargetTrackingScalingPolicyConfiguration"]
    # Requests per healthy task over the group(s) that carry traffic: blue alone while rolling.
    queries = tracking["CustomizedMetricSpecification"]["Metrics"]
    assert [q["Id"] for q in queries] == ["r_blue", "h_blue", "per_task"]
    assert queries[-1]["Expression"] == "r_blue / h_blue" and queries[-1]["ReturnData"] is True
    shifting = service(stack, **PUBLIC, deployment_strategy="canary")[
        "PredictionRequestScaling"]["Properties"]["TargetTrackingScalingPolicyConfiguration"]
    ids = [q["Id"] for q in shifting["CustomizedMetricSpecification"]["Metrics"]]
    assert ids == ["r_blue", "h_blue", "r_green", "h_green", "per_task"]
    assert "FILL(r_green, 0)" in shifting["CustomizedMetricSpecification"]["Metrics"][-1]["Expression"]
    alarms = stack("monitoring", **PUBLIC).resources()
    assert {k for k in alarms if "DeploymentAlarm" in k} == {
        "Predict5xxDeploymentAlarm", "PredictLatencyDeploymentAlarm", "PredictUnhealthyDeploymentAlarm"}


def test_internal_blue_green_with_https(stack):
    settings = dict(load_balancer="internal", deployment_strategy="blue_green", certificate_arn=CERT,
                    deployment_bake_minutes=15)
    endpoint = stack("endpoint", **settings).resources()
    assert endpoint["PredictionLoadBalancer"]["Properties"]["Scheme"] == "internal"
    assert endpoint["PredictionLoadBalancer"]["Properties"]["Subnets"] == {"Ref": "PrivateSubnets"}
    assert {"BlueTargetGroup", "GreenTargetGroup", "HttpsListener", "HttpListener"} <= set(endpoint)
    https = endpoint["HttpsListener"]["Properties"]
    assert https["Certificates"] == [{"CertificateArn": CERT}] and https["SslPolicy"].startswith("ELBSecurityPolicy-TLS13")
    # One listener on port 80 whatever the certificate: with one it redirects, without it forwards to
    # blue (ECS blue/green refuses listeners whose rules mix forward and fixed-response actions).
    assert [l["Properties"]["Port"] for l in endpoint.values() if l["Type"].endswith("::Listener")].count(80) == 1
    redirect = endpoint["HttpListener"]["Properties"]["DefaultActions"][0]["RedirectConfig"]
    assert redirect == {"Port": "443", "Protocol": "HTTPS", "StatusCode": "HTTP_301"}
    plain = stack("endpoint", load_balancer="internal").resources()["HttpListener"]["Properties"]["DefaultActions"]
    assert plain[0]["Type"] == "forward" and "HttpsListener" not in stack("endpoint", load_balancer="internal").resources()
    assert stack("endpoint", **settings).outputs()["EndpointUrl"]["Fn::Sub"][1]["Scheme"] == "https"
    props = service(stack, **settings)["PredictionService"]["Properties"]
    assert props["LoadBalancers"][0]["AdvancedConfiguration"] == {
        "AlternateTargetGroupArn": "tg-green", "ProductionListenerRule": "rule", "RoleArn": "role"}
    deployment = props["DeploymentConfiguration"]
    assert (deployment["Strategy"], deployment["BakeTimeInMinutes"]) == ("BLUE_GREEN", "15")
    roles = stack("iam", **settings).resources()
    assert roles["EcsInfrastructureRole"]["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {
        "Service": "ecs.amazonaws.com"}


@pytest.mark.parametrize("strategy, key, expected", [
    ("canary", "CanaryConfiguration", {"CanaryPercent": "10", "CanaryBakeTimeInMinutes": "5"}),
    ("linear", "LinearConfiguration", {"StepPercent": "20", "StepBakeTimeInMinutes": "5"}),
])
def test_canary_and_linear(stack, strategy, key, expected):
    deployment = service(stack, **PUBLIC, deployment_strategy=strategy)["PredictionService"][
        "Properties"]["DeploymentConfiguration"]
    assert deployment["Strategy"] == strategy.upper() and deployment[key] == expected
    other = "LinearConfiguration" if key == "CanaryConfiguration" else "CanaryConfiguration"
    assert other not in deployment


@pytest.mark.parametrize("values, fragment", [
    ({"deployment_strategy": "blue_green"}, "shifts traffic through a load balancer"),
    ({"load_balancer": "internal", "enable_prediction_service": False}, "needs the prediction service"),
    ({"certificate_arn": CERT}, "set load_balancer too"),
    ({"load_balancer": "public", "certificate_arn": "arn:aws:acm:x"}, "not an ACM certificate ARN"),
    ({"load_balancer": "internal", "health_check_path": "health"}, "must start with /"),
    ({"load_balancer": "internal", "az_count": 1}, "needs az_count: 2 or 3"),
    ({"load_balancer": "public"}, "load_balancer: public needs certificate_arn"),
    ({"load_balancer": "public", "certificate_arn": CERT}, "load_balancer: public needs api_key_secret .*open to the "
                                                           "internet.*allowed: api_key_secret create or a secret ARN"),
    ({"load_balancer": "internal", "api_key_secret": "create"},
     "certificate_arn: needed with api_key_secret .*clear text.*allowed: set certificate_arn, or "
     "allow_cleartext_api_key: true"),
])
def test_endpoint_settings_are_validated(values, fragment):
    with pytest.raises(SettingsError, match=fragment):
        validate({"environment": "dev", **values})


@pytest.mark.parametrize("values", [
    {"load_balancer": "public", "certificate_arn": CERT, "api_key_secret": "create"},
    {"load_balancer": "internal", "certificate_arn": CERT, "api_key_secret": "create"},
    {"load_balancer": "internal", "api_key_secret": "create", "allow_cleartext_api_key": True},   # the risk, named
    {"load_balancer": "internal"},                      # no key: inside the VPC, declared open (test_compute.py)
    {"api_key_secret": "create"},                       # no load balancer: nothing carries the key
])
def test_endpoints_with_a_key_over_https_or_a_named_risk_are_accepted(values):
    assert validate({"environment": "dev", **values}).load_balancer == values.get("load_balancer", "none")


def test_load_balancer_access_logs_go_to_their_own_bucket(stack):
    storage = stack("storage", **PUBLIC, enable_lb_access_logs=True)
    resources = storage.resources()
    assert retained(resources["LbLogsBucket"])
    statements = resources["LbLogsBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert statements[0]["Effect"] == "Deny" and statements[0]["Condition"]["Bool"]["aws:SecureTransport"] == "false"
    # Older regions (us-east-1 here) deliver from the regional ELB account...
    assert statements[1]["Principal"]["AWS"]["Fn::Sub"][1]["Account"] == {
        "Fn::FindInMap": ["ElbLogAccounts", {"Ref": "AWS::Region"}, "Account"]}
    assert storage.template["Mappings"]["ElbLogAccounts"]["us-east-1"] == {"Account": "127311923021"}
    # ... newer ones from the log-delivery service.
    from automl_cfn.evaluate import Evaluation

    newer = Evaluation(storage.template, storage.parameters, region="ap-southeast-3").resources()
    assert "LbLogsBucketPolicy" not in newer   # its FindInMap is never evaluated there
    assert newer["LbLogsBucketPolicyByService"]["Properties"]["PolicyDocument"]["Statement"][1]["Principal"] == {
        "Service": "logdelivery.elasticloadbalancing.amazonaws.com"}
    assert "LbLogsBucketPolicyByService" not in resources
    assert storage.outputs()["LbLogsBucketName"] == {"Ref": "LbLogsBucket"}
    attributes = stack("endpoint", **PUBLIC, wired={"LbLogsBucketName": "logs-bucket"}).resources()[
        "PredictionLoadBalancer"]["Properties"]["LoadBalancerAttributes"]
    assert {a["Key"]: a["Value"] for a in attributes}["access_logs.s3.bucket"] == "logs-bucket"
    assert {a["Key"]: a["Value"] for a in attributes}["access_logs.s3.enabled"] == "true"
    assert "LbLogsBucket" not in stack("storage", **PUBLIC).resources()
    off = stack("endpoint", **PUBLIC, wired={"LbLogsBucketName": "none"}).resources()[
        "PredictionLoadBalancer"]["Properties"]["LoadBalancerAttributes"]
    assert {a["Key"]: a["Value"] for a in off} == {
        "routing.http.drop_invalid_header_fields.enabled": "true", "routing.http.desync_mitigation_mode": "strictest",
        "deletion_protection.enabled": "false", "access_logs.s3.enabled": "false"}


def test_termination_protection_protects_the_load_balancer_too(stack):
    """CT.ELASTICLOADBALANCING.PR.5: the load balancer cannot be deleted while the stack cannot."""
    def protection(**settings):
        attributes = stack("endpoint", **PUBLIC, **settings).resources()["PredictionLoadBalancer"]["Properties"][
            "LoadBalancerAttributes"]
        return {a["Key"]: a["Value"] for a in attributes}["deletion_protection.enabled"]

    assert (protection(termination_protection=True), protection(termination_protection=False)) == ("true", "false")


def test_rollback_alarm_watches_the_group_that_serves(stack):
    """ECS moves production traffic to green and back, so the alarm reads both groups where they exist."""
    def unhealthy(**settings):
        return stack("monitoring", **settings).resources()["PredictUnhealthyDeploymentAlarm"]["Properties"]["Metrics"]

    rolling = unhealthy(**PUBLIC)
    assert [m["Id"] for m in rolling] == ["blue", "unhealthy"] and rolling[-1]["Expression"] == "FILL(blue, 0)"
    shifting = unhealthy(**PUBLIC, deployment_strategy="blue_green")
    assert [m["Id"] for m in shifting] == ["blue", "green", "unhealthy"]
    assert shifting[1]["MetricStat"]["Metric"]["Dimensions"][1] == {"Name": "TargetGroup",
                                                                    "Value": {"Ref": "GreenTargetGroupFullName"}}
    assert shifting[-1]["Expression"] == "MAX([FILL(blue, 0), FILL(green, 0)])"
