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
