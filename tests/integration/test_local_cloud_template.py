"""Template loading and intrinsic resolution, the way the provisioner uses them."""

from pathlib import Path

import pytest

from local_cloud.template import IntrinsicResolver, TemplateError, load_yaml, translate

FIXTURE = Path(__file__).parent / "fixtures" / "local_cloud" / "template.yaml"


def _resolver(parameters=None):
    physical = {"Queue": "https://sqs/q", "Bucket": "my-bucket-name"}
    attributes = {("Queue", "Arn"): "arn:aws:sqs:us-east-1:123456789012:q"}

    def get_att(logical_id, name):
        return attributes[(logical_id, name)]

    return IntrinsicResolver(
        parameters=parameters or {"Stage": "local"},
        ref=physical.__getitem__,
        get_att=get_att,
        conditions={
            "IsProd": {"Fn::Equals": [{"Ref": "Stage"}, "prod"]},
            "IsLocal": {"Fn::Not": [{"Condition": "IsProd"}]},
            "Both": {"Fn::And": [{"Condition": "IsLocal"}, {"Fn::Equals": ["a", "a"]}]},
            "Either": {"Fn::Or": [{"Condition": "IsProd"}, {"Fn::Equals": ["a", "b"]}]},
        },
        mappings={"Settings": {"local": {"Size": "small"}}},
        stack_name="st",
    )


def test_refs_pseudo_parameters_and_getatt_resolve():
    resolver = _resolver()
    value = resolver.resolve(
        {
            "url": {"Ref": "Queue"},
            "arn": {"Fn::GetAtt": ["Queue", "Arn"]},
            "account": {"Ref": "AWS::AccountId"},
            "where": {"Fn::Sub": "${AWS::Partition}:${AWS::Region}:${AWS::StackName}:${Stage}"},
            "suffix": {"Ref": "AWS::URLSuffix"},
            "sub_attr": {"Fn::Sub": "${Queue.Arn}/x/${!Literal}"},
            "sub_list": {"Fn::Sub": ["${Name}-${Bucket}", {"Name": {"Ref": "Stage"}}]},
        }
    )
    assert value == {
        "url": "https://sqs/q",
        "arn": "arn:aws:sqs:us-east-1:123456789012:q",
        "account": "123456789012",
        "where": "aws:us-east-1:st:local",
        "suffix": "amazonaws.com",
        "sub_attr": "arn:aws:sqs:us-east-1:123456789012:q/x/${Literal}",
        "sub_list": "local-my-bucket-name",
    }


def test_list_functions_conditions_and_maps_resolve():
    resolver = _resolver()
    value = resolver.resolve(
        {
            "joined": {"Fn::Join": ["-", ["a", {"Ref": "Stage"}]]},
            "first": {"Fn::Select": [1, {"Fn::Split": ["-", {"Ref": "Bucket"}]}]},
            "if": {"Fn::If": ["IsLocal", "yes", "no"]},
            "gone": {"Fn::If": ["IsProd", "x", {"Ref": "AWS::NoValue"}]},
            "both": {"Fn::If": ["Both", 1, 0]},
            "either": {"Fn::If": ["Either", 1, 0]},
            "mapped": {"Fn::FindInMap": ["Settings", {"Ref": "Stage"}, "Size"]},
            "items": ["keep", {"Fn::If": ["IsProd", "drop", {"Ref": "AWS::NoValue"}]}],
        }
    )
    assert value == {
        "joined": "a-local",
        "first": "bucket",
        "if": "yes",
        "both": 1,
        "either": 0,
        "mapped": "small",
        "items": ["keep"],
    }


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ({"Fn::ImportValue": "x"}, "Fn::ImportValue"),
        ({"Ref": "AWS::Nope"}, "AWS::Nope"),
        ({"Fn::If": ["Missing", 1, 2]}, "Missing"),
        ({"Fn::FindInMap": ["Settings", "prod", "Size"]}, "Settings.prod.Size"),
        ({"Fn::Select": [5, ["a"]]}, "index 5"),
    ],
)
def test_unknown_or_bad_intrinsics_fail_naming_them(expression, message):
    with pytest.raises(TemplateError, match=message.replace(".", r"\.")):
        _resolver().resolve(expression)


def test_short_form_tags_load_as_long_form():
    raw = load_yaml(FIXTURE)
    worker_env = raw["Resources"]["WorkerFunction"]["Properties"]["Environment"]["Variables"]
    assert worker_env["QUEUE_ARN"] == {"Fn::GetAtt": ["WorkQueue", "Arn"]}
    assert worker_env["TABLE_NAME"] == {"Ref": "LedgerTable"}


def test_translation_keeps_local_paths_and_expands_sam():
    translated = translate(FIXTURE)
    types = {r["Type"] for r in translated.cfn["Resources"].values()}
    assert "AWS::Lambda::EventSourceMapping" in types
    assert not any(t.startswith("AWS::Serverless::") for t in types)
    assert translated.local_paths["WorkerFunction"] == FIXTURE.parent / "functions" / "worker"
    assert translated.local_paths["Machine"].name == "machine.asl.json"


def test_parameters_are_checked():
    with pytest.raises(TemplateError, match="Nope"):
        translate(FIXTURE, {"Nope": "1"})
    with pytest.raises(TemplateError, match="Stage='qa'"):
        translate(FIXTURE, {"Stage": "qa"})


def test_a_comma_delimited_list_parameter_is_a_list_as_cloudformation_resolves_it():
    from local_cloud.template import parameter_values

    raw = {
        "Parameters": {
            "Sources": {"Type": "CommaDelimitedList", "Default": ""},
            "Name": {"Type": "String", "Default": "x"},
        }
    }

    assert parameter_values(raw, {"Sources": "203.0.113.0/24,127.0.0.1"})["Sources"] == [
        "203.0.113.0/24",
        "127.0.0.1",
    ]
    assert parameter_values(raw, None) == {"Sources": [""], "Name": "x"}
    assert parameter_values(raw, {"Sources": ["a", "b"]})["Sources"] == ["a", "b"]


def test_a_parameter_without_default_takes_its_local_value_and_an_override_wins():
    from local_cloud.template import LOCAL_PARAMETER_VALUES, parameter_values

    raw = {"Parameters": {"JumioUserAgent": {"Type": "String"}}}

    assert parameter_values(raw, None) == {
        "JumioUserAgent": LOCAL_PARAMETER_VALUES["JumioUserAgent"]
    }
    assert parameter_values(raw, {"JumioUserAgent": "Acme onboarding/2.0"}) == {
        "JumioUserAgent": "Acme onboarding/2.0"
    }
    with pytest.raises(TemplateError, match="Other has no Default"):
        parameter_values({"Parameters": {"Other": {"Type": "String"}}}, None)


def test_the_project_template_needs_no_user_agent_locally():
    """template.yaml gives JumioUserAgent no Default (a deployment must name its business);
    the local cloud still translates it without one."""
    root = Path(__file__).resolve().parents[2]
    raw = load_yaml(root / "template.yaml")
    assert "Default" not in raw["Parameters"]["JumioUserAgent"]

    translated = translate(root / "template.yaml")

    assert translated.parameters["JumioUserAgent"] == "jumio-capture-pipeline local-cloud/0.1.0"


def test_explicit_event_source_mappings_of_the_project_template_reach_the_provisioner():
    """Each queue consumer has its own AWS::Lambda::EventSourceMapping (not SAM's SQS event,
    which attaches an account-wide queue policy); the provisioner walks them like any other."""
    root = Path(__file__).resolve().parents[2]
    resources = translate(root / "template.yaml").cfn["Resources"]
    mappings = {
        logical_id: resource["Properties"]
        for logical_id, resource in resources.items()
        if resource["Type"] == "AWS::Lambda::EventSourceMapping"
    }

    wired = {
        (props["FunctionName"]["Ref"], props["EventSourceArn"]["Fn::GetAtt"][0])
        for props in mappings.values()
    }
    assert wired == {
        ("AddPartFunction", "CaptureEventsQueue"),
        ("RegisterSessionFunction", "SessionsQueue"),
        ("StartSessionFunction", "StartSessionsQueue"),
        ("UploadPreparedDataFunction", "PreparedDataQueue"),
        ("DeletionFunction", "RetentionRequestsQueue"),
    }
    for props in mappings.values():
        assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"]


def test_the_project_template_provisions_one_polled_source_per_consumer_queue(aws):
    """The explicit mappings are what the local poller drives: function, queue, batch and
    concurrency as the template says; the retention run's DLQ and retries are recorded."""
    from local_cloud.provisioner import provision

    root = Path(__file__).resolve().parents[2]
    stack = provision(root / "template.yaml", stack_name="lc-esm")
    try:
        _check_sources_and_schedule(stack)
    finally:
        stack.close()  # its function URLs' loopback servers


def _check_sources_and_schedule(stack) -> None:
    sources = {source.function_logical_id: source for source in stack.event_sources}
    assert {name: stack.physical(queue) for name, queue in _consumer_queues().items()} == {
        name: source.queue_url for name, source in sources.items()
    }
    assert all(source.report_batch_item_failures for source in sources.values())
    assert sources["AddPartFunction"].maximum_concurrency == 5  # AddPartMaxConcurrency
    assert sources["StartSessionFunction"].batch_size == 1
    assert sources["DeletionFunction"].maximum_concurrency == 2

    (daily,) = [s for s in stack.schedules if s.function_logical_id == "DeletionFunction"]
    assert daily.dead_letter_arn == stack.attribute("RetentionRunDLQ", "Arn")
    assert daily.retry_policy["MaximumRetryAttempts"] > 0


def _consumer_queues() -> dict[str, str]:
    return {
        "AddPartFunction": "CaptureEventsQueue",
        "RegisterSessionFunction": "SessionsQueue",
        "StartSessionFunction": "StartSessionsQueue",
        "UploadPreparedDataFunction": "PreparedDataQueue",
        "DeletionFunction": "RetentionRequestsQueue",
    }
