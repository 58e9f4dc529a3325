"""The local AWS endpoint: moto's server mode on 127.0.0.1, with the moto
defects that matter to this project patched, and a request counter.

Run it in the foreground with `automl-cfn local-aws [--port N]` (or
`make local-aws`); tests and benchmarks start it with `LocalAws().start()`
and stop it by its handle.  Everything talks to it through
AWS_ENDPOINT_URL, so the same code talks to real AWS when that is unset.

Patches (moto 5.2.5):
  1. Fn::GetAtt on a nested stack's Outputs.X raised HTTP 500
     ('Stack' object has no attribute 'get_cfn_attribute').
  2. A stack created or updated through a change set kept no or stale
     Outputs: the template was not re-parsed after ExecuteChangeSet.
  3. A nested stack whose properties changed was deleted and recreated,
     which fails on retained, explicitly named resources (repositories,
     buckets); CloudFormation updates it in place, and so does this.
  4. Fn::Cidr was not evaluated (the network stack carves its subnets with
     it), and AWS::NoValue from an Fn::If inside a list stayed in the list
     as None instead of being dropped.
  5. DescribeStacks showed a CommaDelimitedList parameter as a Python list
     ("['a', 'b']"); CloudFormation shows it as given ("a,b").
  6. Updating an AWS::ECS::TaskDefinition registered the new revision from
     the raw template keys (ContainerDefinitions in PascalCase), losing
     image, memory, environment and logging; it now registers it the way
     creation does.
  7. A resource whose type moto cannot update (a log group whose retention
     changed, say) vanished from its stack, breaking every later reference
     to it; it now keeps its previous state, and a log group's retention is
     updated in place.
  8. An AWS::KMS::Key with Tags failed (moto expected the KMS API's
     TagKey/TagValue shape, not CloudFormation's Key/Value).
  9. Fn::GetAtt of an ELBv2 target group (TargetGroupFullName) or a load
     balancer's LoadBalancerFullName was not implemented.
 10. An action moto does not implement answered HTTP 500 with an HTML page;
     it now answers a proper AWS error, code InvalidAction, so clients
     report "not available at this endpoint" instead of a parse failure.
Extra endpoints:
  GET  /_automl/requests          {"count": AWS requests served since reset}
  POST /_automl/requests/reset    zero the counter
  POST /_automl/throttle?action=DescribeStacks&count=3
                                  answer the next 3 such requests with a
                                  Throttling error (fault tests)
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field

DEFAULT_PORT = 4566
REGION = "us-east-1"
DUMMY_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


def environment(port: int, region: str = REGION) -> dict[str, str]:
    """What a shell needs to point boto3 (and the AWS CLI) at the endpoint."""
    return {
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
        **DUMMY_CREDENTIALS,
        "AWS_DEFAULT_REGION": region,
        "AWS_REGION": region,
    }


# ---------------------------------------------------------------------------
# patches (applied inside the server process only)
# ---------------------------------------------------------------------------

def apply_patches() -> None:
    from moto.cloudformation import models, parsing
    from moto.cloudformation.exceptions import UnformattedGetAttTemplateException, ValidationError

    def get_cfn_attribute(self, attribute_name: str):
        if attribute_name.startswith("Outputs."):
            key = attribute_name.split(".", 1)[1]
            if key in (self.template_dict.get("Outputs") or {}):
                output = self.output_map.get(key)
                if output is not None:
                    return output.value
            raise ValidationError(message=(
                f"Template error: nested stack {self.name} has no output {key!r} "
                f"(Fn::GetAtt {attribute_name})"))
        raise UnformattedGetAttTemplateException()

    models.Stack.get_cfn_attribute = get_cfn_attribute

    original_execute = models.CloudFormationBackend.execute_change_set

    def execute_change_set(self, change_set_name, stack_name=None):
        change_set = self.describe_change_set(change_set_name)
        original_execute(self, change_set_name, stack_name)
        stack = self.stacks[change_set.stack_id]
        stack._parse_template()
        stack.description = stack.template_dict.get("Description")
        stack.parameters = change_set.parameters
        stack.output_map = stack._create_output_map()
        if change_set.tags is not None:
            stack.tags = change_set.tags

    models.CloudFormationBackend.execute_change_set = execute_change_set

    def parameter_list(self):
        return [
            {"ParameterKey": key,
             "ParameterValue": "****" if key in self.resource_map.no_echo_parameter_keys
             else ",".join(value) if isinstance(value, list) else value}
            for key, value in self.resource_map.resolved_parameters.items()
        ]

    models.Stack.parameter_list = property(parameter_list)

    from moto.ecs import models as ecs_models

    def update_task_definition(cls, original_resource, new_resource_name, cloudformation_json, account_id,
                               region_name):
        ecs_models.ecs_backends[account_id][region_name].deregister_task_definition(original_resource.arn)
        return cls.create_from_cloudformation_json(new_resource_name, cloudformation_json, account_id, region_name)

    ecs_models.TaskDefinition.update_from_cloudformation_json = classmethod(update_task_definition)

    original_update = parsing.parse_and_update_resource

    def parse_and_update_resource(logical_id, resource_json, resources_map, account_id, region_name):
        previous = resources_map._parsed_resources.get(logical_id)
        updated = original_update(logical_id, resource_json, resources_map, account_id, region_name)
        return previous if updated is None else updated

    parsing.parse_and_update_resource = parse_and_update_resource

    from moto.logs import models as logs_models

    def update_log_group(cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name):
        properties = cloudformation_json.get("Properties", {})
        backend = logs_models.logs_backends[account_id][region_name]
        days = properties.get("RetentionInDays")
        if days is not None:
            backend.put_retention_policy(original_resource.name, int(days))
        return original_resource

    logs_models.LogGroup.update_from_cloudformation_json = classmethod(update_log_group)

    from moto.kms import models as kms_models

    original_create_key = kms_models.Key.create_from_cloudformation_json.__func__

    def create_key(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        properties = cloudformation_json.get("Properties", {})
        if properties.get("Tags"):
            properties["Tags"] = [{"TagKey": t["Key"], "TagValue": t["Value"]} for t in properties["Tags"]]
        return original_create_key(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)

    kms_models.Key.create_from_cloudformation_json = classmethod(create_key)

    from moto.elbv2 import models as elb_models

    def full_name(arn: str, marker: str) -> str:
        """arn:...:loadbalancer/app/NAME/ID -> app/NAME/ID; arn:...:targetgroup/NAME/ID -> targetgroup/NAME/ID."""
        return arn.split(":")[-1].split("/", 1)[1] if marker == "loadbalancer" else arn.split(":")[-1]

    def target_group_attribute(self, attribute_name: str):
        values = {"TargetGroupFullName": full_name(self.arn, "targetgroup"), "TargetGroupName": self.name,
                  "TargetGroupArn": self.arn}
        if attribute_name not in values:
            raise UnformattedGetAttTemplateException()
        return values[attribute_name]

    elb_models.FakeTargetGroup.get_cfn_attribute = target_group_attribute
    original_lb_attribute = elb_models.FakeLoadBalancer.get_cfn_attribute

    def load_balancer_attribute(self, attribute_name: str):
        if attribute_name == "LoadBalancerFullName":
            return full_name(self.arn, "loadbalancer")
        return original_lb_attribute(self, attribute_name)

    elb_models.FakeLoadBalancer.get_cfn_attribute = load_balancer_attribute

    def update_nested_in_place(cls, original_resource, new_resource_name, cloudformation_json, account_id,
                               region_name):
        from moto.cloudformation.utils import get_stack_from_s3_url
        from moto.utilities.utils import get_partition

        properties = cloudformation_json["Properties"]
        template = get_stack_from_s3_url(properties["TemplateURL"], account_id=account_id,
                                         partition=get_partition(region_name))
        original_resource.update(template, parameters=properties.get("Parameters", {}))
        return original_resource

    models.Stack.update_from_cloudformation_json = classmethod(update_nested_in_place)

    original_clean_json = parsing.clean_json

    def clean_json(resource_json, resources_map):
        if isinstance(resource_json, dict) and "Fn::Cidr" in resource_json:
            block, count, bits = (original_clean_json(v, resources_map) for v in resource_json["Fn::Cidr"])
            return cidr_blocks(block, int(count), int(bits))
        if isinstance(resource_json, list):
            cleaned = [(item, clean_json(item, resources_map)) for item in resource_json]
            return [value for item, value in cleaned if not (value is None and may_be_no_value(item))]
        return original_clean_json(resource_json, resources_map)

    # clean_json recurses through the module global, so nested values see this too.
    parsing.clean_json = clean_json

    from xml.sax.saxutils import escape

    from moto.core import responses

    original_call_action = responses.BaseResponse.call_action

    def call_action(self):
        try:
            return original_call_action(self)
        except NotImplementedError as exc:
            message = f"{exc} at this local endpoint (moto)"
            headers = {"X-Amzn-ErrorType": "InvalidAction"}
            if self.headers.get("X-Amz-Target"):  # JSON protocol
                headers["Content-Type"] = "application/x-amz-json-1.1"
                return 400, headers, json.dumps({"__type": "InvalidAction", "message": message})
            headers["Content-Type"] = "text/xml"
            return 400, headers, (
                "<ErrorResponse><Error><Type>Sender</Type><Code>InvalidAction</Code>"
                f"<Message>{escape(message)}</Message></Error><RequestId>0</RequestId></ErrorResponse>"
            )

    responses.BaseResponse.call_action = call_action


def may_be_no_value(item) -> bool:
    return isinstance(item, dict) and (item.get("Ref") == "AWS::NoValue" or "Fn::If" in item)


def cidr_blocks(block: str, count: int, bits: int) -> list[str]:
    """What Fn::Cidr returns: the first `count` subnets with `bits` host bits."""
    import ipaddress
    from itertools import islice

    network = ipaddress.ip_network(block, strict=False)
    return [str(n) for n in islice(network.subnets(new_prefix=network.max_prefixlen - bits), count)]


# ---------------------------------------------------------------------------
# the server
# ---------------------------------------------------------------------------

class CountingApp:
    """WSGI middleware: counts AWS requests, injects throttling, serves /_automl/."""

    def __init__(self, app):
        self.app = app
        self.count = 0
        self.throttles: dict[str, int] = {}
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path.startswith("/_automl/"):
            return self.control(environ, start_response, path)
        if path.startswith("/moto-api"):
            return self.app(environ, start_response)
        with self.lock:
            self.count += 1
        if self.throttles:
            action = self.action_of(environ)
            with self.lock:
                left = self.throttles.get(action, 0)
                if left:
                    self.throttles[action] = left - 1
            if left:
                return self.throttled(start_response)
        return self.app(environ, start_response)

    def control(self, environ, start_response, path):
        from urllib.parse import parse_qs

        query = {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
        with self.lock:
            if path == "/_automl/requests/reset":
                self.count = 0
                self.throttles.clear()
            elif path == "/_automl/throttle":
                self.throttles[query["action"]] = int(query.get("count", "1"))
            body = json.dumps({"count": self.count, "throttles": self.throttles}).encode()
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]

    @staticmethod
    def action_of(environ) -> str:
        """The API action: X-Amz-Target (JSON protocols) or Action= (query protocol, body restored)."""
        import io
        from urllib.parse import parse_qs

        target = environ.get("HTTP_X_AMZ_TARGET")
        if target:
            return target.rsplit(".", 1)[-1]
        query = parse_qs(environ.get("QUERY_STRING", ""))
        if "Action" in query:
            return query["Action"][0]
        length = int(environ.get("CONTENT_LENGTH") or 0)
        if not length or "x-www-form-urlencoded" not in environ.get("CONTENT_TYPE", ""):
            return ""
        body = environ["wsgi.input"].read(length)
        environ["wsgi.input"] = io.BytesIO(body)
        return parse_qs(body.decode("utf-8", "replace")).get("Action", [""])[0]

    @staticmethod
    def throttled(start_response):
        body = (b"<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code>"
                b"<Message>Rate exceeded</Message></Error><RequestId>0</RequestId></ErrorResponse>")
        start_response("400 Bad Request", [("Content-Type", "text/xml"), ("Content-Length", str(len(body)))])
        return [body]


def serve(port: int, host: str = "127.0.0.1", quiet: bool = False) -> None:
    """Run the patched endpoint in the foreground until interrupted."""
    import logging

    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
    from werkzeug.serving import run_simple

    os.environ.setdefault("MOTO_PORT", str(port))
    apply_patches()
    if quiet:
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
    app = CountingApp(DomainDispatcherApplication(create_backend_app))
    run_simple(host, port, app, threaded=True, request_handler=MotoRequestHandler)


# ---------------------------------------------------------------------------
# a handle for tests, benchmarks and demos
# ---------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class LocalAws:
    """Start the endpoint in a child process; reset, count and stop it."""

    port: int = field(default_factory=free_port)
    region: str = REGION
    process: subprocess.Popen | None = None
    log_path: str | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def env(self) -> dict[str, str]:
        return environment(self.port, self.region)

    def start(self, timeout: float = 30.0) -> "LocalAws":
        import tempfile

        # Server errors go to a file, never to a pipe nobody reads (which would block the server).
        log = tempfile.NamedTemporaryFile(prefix=f"local-aws-{self.port}-", suffix=".log", delete=False)
        self.log_path = log.name
        self.process = subprocess.Popen(
            [sys.executable, "-m", "automl_cfn.local_aws", "--port", str(self.port), "--quiet"],
            stdout=subprocess.DEVNULL, stderr=log,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"local AWS endpoint exited: {self.log_tail()}")
            try:
                self.requests()
                return self
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"local AWS endpoint did not answer on port {self.port} within {timeout:.0f} s")

    def _call(self, path: str, method: str = "GET") -> bytes:
        request = urllib.request.Request(self.url + path, method=method, data=b"" if method == "POST" else None)
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.read()

    def reset(self) -> None:
        """Forget every resource (moto's reset) and zero the request counter."""
        self._call("/moto-api/reset", "POST")
        self._call("/_automl/requests/reset", "POST")

    def requests(self) -> int:
        """AWS requests served since the last reset."""
        return json.loads(self._call("/_automl/requests"))["count"]

    def throttle(self, action: str, count: int) -> None:
        """Answer the next `count` requests for `action` with a Throttling error."""
        self._call(f"/_automl/throttle?action={action}&count={count}", "POST")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def log_tail(self, size: int = 4000) -> str:
        """The end of the server's error log (tracebacks of failed requests)."""
        if not self.log_path or not os.path.exists(self.log_path):
            return ""
        with open(self.log_path, "rb") as handle:
            handle.seek(max(0, os.path.getsize(self.log_path) - size))
            return handle.read().decode("utf-8", "replace")

    def __enter__(self) -> "LocalAws":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="automl-cfn local-aws", description="Run the local AWS endpoint.")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument("--quiet", action="store_true", help="log errors only")
    args = parser.parse_args(argv)
    run(args.port, args.quiet)
    return 0


def run(port: int, quiet: bool) -> None:
    try:
        import moto  # noqa: F401
    except ImportError:
        from .errors import UserError

        raise UserError("the local AWS endpoint needs moto: pip install -e '.[local]'") from None
    if not quiet:
        print(f"local AWS endpoint (moto, patched) on http://127.0.0.1:{port}; use it with:")
        for key, value in environment(port).items():
            print(f"  export {key}={value}")
        print("Ctrl-C stops it.", flush=True)
    serve(port, quiet=quiet)


if __name__ == "__main__":
    sys.exit(main())
