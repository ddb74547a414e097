"""Provisioning the fixture SAM template into moto creates real, correctly configured resources."""

import json
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from local_cloud import invoker
from local_cloud.provisioner import ProvisionError, provision

FIXTURE = Path(__file__).parent / "fixtures" / "local_cloud" / "template.yaml"
REGION = "us-east-1"


@pytest.fixture(scope="module")
def stack():
    invoker.install("inprocess")
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        yield provision(FIXTURE, stack_name="lc-prov")
    invoker.uninstall()


def client(name):
    return boto3.client(name, region_name=REGION)


def test_queue_has_redrive_and_attributes(stack):
    attributes = client("sqs").get_queue_attributes(
        QueueUrl=stack.physical("WorkQueue"), AttributeNames=["All"]
    )["Attributes"]
    redrive = json.loads(attributes["RedrivePolicy"])
    assert redrive["deadLetterTargetArn"] == stack.attribute("WorkDLQ", "Arn")
    assert int(redrive["maxReceiveCount"]) == 2
    assert attributes["VisibilityTimeout"] == "1"
    assert attributes["KmsMasterKeyId"] == "alias/lc-prov-data"
    assert "s3.amazonaws.com" in attributes["Policy"]


def test_table_has_keys_gsi_ttl_sse_and_pitr(stack):
    dynamodb = client("dynamodb")
    name = stack.physical("LedgerTable")
    table = dynamodb.describe_table(TableName=name)["Table"]
    assert [k["AttributeName"] for k in table["KeySchema"]] == ["pk", "sk"]
    assert [i["IndexName"] for i in table["GlobalSecondaryIndexes"]] == ["byAccount"]
    assert table["SSEDescription"]["SSEType"] == "KMS"
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    ttl = dynamodb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
    assert (ttl["TimeToLiveStatus"], ttl["AttributeName"]) == ("ENABLED", "expiresAt")
    backups = dynamodb.describe_continuous_backups(TableName=name)["ContinuousBackupsDescription"]
    pitr = backups["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"]
    assert pitr == "ENABLED"


def test_bucket_is_configured_and_notifies_the_queue(stack):
    s3 = client("s3")
    bucket = stack.physical("CapturesBucket")
    assert bucket == "lc-prov-captures-123456789012"
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    rule = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert rule["ApplyServerSideEncryptionByDefault"]["KMSMasterKeyID"] == stack.attribute(
        "DataKey", "Arn"
    )
    block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    assert all(block.values())
    lifecycle = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"][0]
    assert lifecycle["Expiration"]["Days"] == 7
    assert lifecycle["Filter"]["Prefix"] == "captures/"
    # moto ignores policy conditions, so a conditional Deny is kept off locally, on record.
    dropped = stack.resources["CapturesBucketPolicy"].attributes["LocallyDroppedStatements"]
    assert dropped == ["DenyInsecureTransport"]

    sqs = client("sqs")
    queue = stack.physical("WorkQueue")
    sqs.purge_queue(QueueUrl=queue)  # drop S3's test event
    s3.put_object(Bucket=bucket, Key="elsewhere/x.jpg", Body=b"x")
    s3.put_object(Bucket=bucket, Key="captures/wf/cred/FRONT.jpg", Body=b"img")
    messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
    bodies = [json.loads(m["Body"]) for m in messages]
    for message in messages:
        sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
    keys = [r["s3"]["object"]["key"] for b in bodies for r in b.get("Records", [])]
    assert keys == ["captures%2Fwf%2Fcred%2FFRONT.jpg"]


def test_functions_get_resolved_environment_and_layer(stack):
    worker = stack.function("WorkerFunction")
    assert worker.environment == {
        "TABLE_NAME": stack.physical("LedgerTable"),
        "QUEUE_ARN": stack.attribute("WorkQueue", "Arn"),
        "GREETING": "hi-local",
        "STAGE_LABEL": "stage-local",
        "BUCKET_PREFIX": "lc",
        "JOINED": "a:us-east-1:amazonaws.com",
    }
    assert worker.layer_dirs == [FIXTURE.parent / "layer" / "python"]
    config = client("lambda").get_function(FunctionName=worker.name)["Configuration"]
    assert config["Environment"]["Variables"]["GREETING"] == "hi-local"
    assert config["Role"] == stack.attribute("WorkerFunctionRole", "Arn")
    assert config["Layers"][0]["Arn"].startswith("arn:aws:lambda:us-east-1:123456789012:layer:")


def test_event_sources_and_schedules_are_recorded(stack):
    (source,) = stack.event_sources
    assert (source.function_logical_id, source.batch_size, source.maximum_concurrency) == (
        "WorkerFunction",
        3,
        2,
    )
    assert source.report_batch_item_failures
    assert source.maximum_batching_window_seconds == 1
    assert source.queue_url == stack.physical("WorkQueue")
    assert {(s.kind, s.function_logical_id, s.input["source"]) for s in stack.schedules} == {
        ("AWS::Events::Rule", "StepsFunction", "schedule"),
        ("AWS::Scheduler::Schedule", "StepsFunction", "scheduler"),
    }
    assert client("lambda").list_event_source_mappings()["EventSourceMappings"] == []


def test_other_resources_exist_and_outputs_resolve(stack):
    secret = json.loads(
        client("secretsmanager").get_secret_value(SecretId=stack.physical("ApiSecret"))[
            "SecretString"
        ]
    )
    assert secret["clientId"] == "local-client"
    assert len(secret["clientSecret"]) == 24
    alarm = client("cloudwatch").describe_alarms(AlarmNames=[stack.physical("DlqAlarm")])
    assert alarm["MetricAlarms"][0]["AlarmActions"] == [stack.physical("AlarmTopic")]
    groups = client("logs").describe_log_groups(logGroupNamePrefix="/aws/vendedlogs/states/")
    assert groups["logGroups"][0]["retentionInDays"] == 7
    machine = client("stepfunctions").describe_state_machine(
        stateMachineArn=stack.outputs["MachineArn"]
    )
    assert stack.attribute("StepsFunction", "Arn") in machine["definition"]
    assert "${" not in machine["definition"]
    assert stack.outputs["GreetingOut"] == "hi-local@us-east-1"
    assert "ProdOnlyQueue" in stack.skipped


def _write_template(tmp_path, resources):
    path = tmp_path / "template.yaml"
    path.write_text(json.dumps({"Resources": resources}), encoding="utf-8")
    return path


def test_unknown_resource_type_fails_naming_it(tmp_path):
    path = _write_template(tmp_path, {"Gateway": {"Type": "AWS::ApiGateway::RestApi"}})
    with mock_aws(), pytest.raises(ProvisionError, match=r"Gateway.*AWS::ApiGateway::RestApi"):
        provision(path)


def test_unknown_property_fails_naming_it(tmp_path):
    resources = {"Q": {"Type": "AWS::SQS::Queue", "Properties": {"Colour": "blue"}}}
    with mock_aws(), pytest.raises(ProvisionError, match=r"Q.*Colour"):
        provision(_write_template(tmp_path, resources))
