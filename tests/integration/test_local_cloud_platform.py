"""The newer resource types the pipeline's template uses are created (or recorded) as declared:
dashboard, e-mail subscription, a schedule's retry policy and DLQ, reserved concurrency, an
event invoke config, and event source mappings declared explicitly; what is not handled fails
by name."""

import copy
import json
from pathlib import Path

import boto3
import pytest
import yaml
from moto import mock_aws

from local_cloud import invoker
from local_cloud.provisioner import ProvisionError, provision
from local_cloud.template import load_yaml

FIXTURE = Path(__file__).parent / "fixtures" / "platform" / "template.yaml"


@pytest.fixture(scope="module")
def stack():
    invoker.install("inprocess")
    try:
        with mock_aws():
            yield provision(FIXTURE, stack_name="lc-plat")
    finally:
        invoker.uninstall()


def client(name):
    return boto3.client(name, region_name="us-east-1")


def test_dashboard_is_stored_with_its_resolved_body(stack):
    assert stack.physical("PipelineDashboard") == "lc-plat-pipeline"
    body = json.loads(
        client("cloudwatch").get_dashboard(DashboardName="lc-plat-pipeline")["DashboardBody"]
    )
    (widget,) = body["widgets"]
    assert widget["properties"]["metrics"][0][3] == "lc-plat-RetryQueue"


def test_email_subscription_is_on_the_alarm_topic(stack):
    subscriptions = client("sns").list_subscriptions_by_topic(TopicArn=stack.physical("AlarmTopic"))
    (subscription,) = subscriptions["Subscriptions"]
    assert (subscription["Protocol"], subscription["Endpoint"]) == ("email", "oncall@example.com")
    assert stack.physical("OnCallEmail") == subscription["SubscriptionArn"]


def test_schedule_keeps_its_retry_policy_and_dead_letter_queue(stack):
    (schedule,) = stack.schedules
    assert schedule.function_logical_id == "RetryingFunction"
    assert schedule.retry_policy == {"MaximumRetryAttempts": 2, "MaximumEventAgeInSeconds": 3600}
    assert schedule.dead_letter_arn == stack.attribute("ScheduleDLQ", "Arn")
    target = client("scheduler").get_schedule(Name="RetryingFunctionDaily")["Target"]
    assert target["RetryPolicy"] == {"MaximumRetryAttempts": 2, "MaximumEventAgeInSeconds": 3600}
    assert target["DeadLetterConfig"] == {"Arn": stack.attribute("ScheduleDLQ", "Arn")}


def test_reserved_concurrency_is_set_and_caps_the_workers(stack):
    name = stack.function("PublisherFunction").name
    assert (
        client("lambda").get_function_concurrency(FunctionName=name)["ReservedConcurrentExecutions"]
        == 3
    )
    assert invoker.concurrency_limit(name) == 3


def test_event_invoke_config_is_stored(stack):
    config = client("lambda").get_function_event_invoke_config(
        FunctionName=stack.function("PublisherFunction").name
    )
    assert (config["MaximumRetryAttempts"], config["MaximumEventAgeInSeconds"]) == (0, 60)


def test_explicit_event_source_mappings_are_recorded_for_the_poller(stack):
    by_id = {source.logical_id: source for source in stack.event_sources}
    retry = by_id["RetryMapping"]
    assert (retry.function_logical_id, retry.queue_url) == (
        "RetryingFunction",
        stack.physical("RetryQueue"),
    )
    assert (retry.batch_size, retry.maximum_concurrency, retry.report_batch_item_failures) == (
        5,
        2,
        True,
    )
    ordered = by_id["OrderedMapping"]  # FunctionName given as the function's ARN
    assert (ordered.function_logical_id, ordered.batch_size) == ("RetryingFunction", 1)
    assert ordered.queue_url == stack.physical("OrderedQueue")
    assert ordered.report_batch_item_failures is False
    assert ordered.maximum_concurrency is None
    assert by_id["FilteredMapping"].filter_patterns == ['{"body": {"mode": ["ok"]}}']


def _variant(tmp_path, change):
    """The platform fixture with one resource changed, written beside its function folders."""
    template = copy.deepcopy(load_yaml(FIXTURE))
    change(template["Resources"])
    for folder in ("functions",):
        (tmp_path / folder).symlink_to(FIXTURE.parent / folder)
    path = tmp_path / "template.yaml"
    path.write_text(yaml.safe_dump(template), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda r: r["RetryingFunction"]["Properties"]["Events"]["Daily"]["Properties"][
                "RetryPolicy"
            ].update({"MaximumRetryAttemptz": 1}),
            r"RetryingFunctionDaily: RetryPolicy property MaximumRetryAttemptz",
        ),
        (
            lambda r: r["RetryMapping"]["Properties"].update({"Colour": "blue"}),
            r"RetryMapping: property Colour",
        ),
        (
            lambda r: r["RetryMapping"]["Properties"].update(
                {"ScalingConfig": {"MaximumConcurrency": 1}}
            ),
            r"RetryMapping: ScalingConfig.MaximumConcurrency must be 2..1000",
        ),
        (
            lambda r: r["RetryMapping"]["Properties"].update(
                {"FunctionResponseTypes": ["Everything"]}
            ),
            r"RetryMapping: unknown FunctionResponseTypes \['Everything'\]",
        ),
        (
            lambda r: r["RetryMapping"]["Properties"].update({"BatchSize": 50}),
            r"RetryMapping: a BatchSize over 10 needs MaximumBatchingWindowInSeconds",
        ),
        (
            lambda r: r["FilteredMapping"]["Properties"].update(
                {"FilterCriteria": {"Filters": [{"Pattern": "[1, 2]"}]}}
            ),
            r"FilteredMapping: invalid filter pattern",
        ),
        (
            lambda r: r["PipelineDashboard"]["Properties"].update({"Colour": "blue"}),
            r"PipelineDashboard: property Colour",
        ),
        (
            lambda r: r["OnCallEmail"]["Properties"].update({"Region": "eu-west-1"}),
            r"OnCallEmail: Region eu-west-1",
        ),
        (
            lambda r: r["PublisherInvokeConfig"]["Properties"].update({"Qualifier": "live"}),
            r"PublisherInvokeConfig: Qualifier 'live'",
        ),
        (
            lambda r: r["VerificationBus"]["Properties"].update({"Colour": "blue"}),
            r"VerificationBus: property Colour",
        ),
    ],
    ids=[
        "schedule-retry-policy",
        "mapping-property",
        "mapping-concurrency",
        "mapping-response-types",
        "mapping-batch-window",
        "mapping-filter",
        "dashboard-property",
        "subscription-region",
        "invoke-config-qualifier",
        "bus-property",
    ],
)
def test_what_is_not_handled_fails_by_name(tmp_path, request, change, message):
    path = _variant(tmp_path, change)
    name = "lc-" + request.node.callspec.id  # unique: moto's state may outlive one test
    invoker.install("inprocess")
    try:
        with mock_aws(), pytest.raises(ProvisionError, match=message):
            provision(path, stack_name=name)
    finally:
        invoker.uninstall()
