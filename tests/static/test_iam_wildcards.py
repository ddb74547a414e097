"""No role of the deployed stack holds a wildcard action, nor "*" beyond the documented
exceptions (task tokens, log delivery, X-Ray, CloudWatch PutMetricData); nor does any key
policy grant more than its account's administration.

Checked on the CloudFormation translation, so the roles SAM generates and the AWS managed
policies it attaches (known by name in tests/static/iam.py) are seen as deployed.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.static.iam import (
    MANAGED_POLICIES,
    UnknownManagedPolicy,
    identity_grants,
    managed_policy_name,
    violations,
)


def test_no_role_has_a_wildcard_action_or_an_undocumented_wildcard_resource(resources):
    assert violations(identity_grants(resources)) == []


def test_every_managed_policy_attached_is_one_whose_grants_are_known(resources):
    attached = {
        managed_policy_name(arn)
        for resource in resources.values()
        if resource["Type"] == "AWS::IAM::Role"
        for arn in resource["Properties"].get("ManagedPolicyArns") or []
    }
    assert attached <= set(MANAGED_POLICIES)
    assert "AWSLambdaSQSQueueExecutionRole" not in attached


def _role(**props: Any) -> dict[str, Any]:
    return {"Role": {"Type": "AWS::IAM::Role", "Properties": props}}


def test_the_check_catches_sams_sqs_managed_policy_by_name():
    role = _role(
        ManagedPolicyArns=["arn:aws:iam::aws:policy/service-role/AWSLambdaSQSQueueExecutionRole"]
    )
    found = violations(identity_grants(role))
    assert "Role managed AWSLambdaSQSQueueExecutionRole: sqs:ReceiveMessage on Resource *" in found


def test_the_check_catches_wildcard_actions_and_resources_inline():
    document = {
        "Statement": [
            {"Effect": "Allow", "Action": "s3:Get*", "Resource": {"Fn::Sub": "${Bucket.Arn}/*"}},
            {"Effect": "Allow", "Action": ["dynamodb:Query"], "Resource": "*"},
            {"Effect": "Allow", "Action": "states:SendTaskSuccess", "Resource": "*"},
            {"Effect": "Deny", "Action": "s3:*", "Resource": "*"},
        ]
    }
    found = violations(
        identity_grants(_role(Policies=[{"PolicyName": "p", "PolicyDocument": document}]))
    )
    assert found == [
        "Role policy p statement 0: wildcard action s3:Get*",
        "Role policy p statement 1: dynamodb:Query on Resource *",
    ]


def test_an_unknown_managed_policy_fails_instead_of_passing_unseen():
    role = _role(ManagedPolicyArns=["arn:aws:iam::aws:policy/AdministratorAccess"])
    with pytest.raises(UnknownManagedPolicy, match="AdministratorAccess"):
        list(identity_grants(role))


def test_key_policy_grants_services_named_actions_and_only_the_account_administers(resources):
    """A key policy's Resource "*" is the key itself; its actions must still be named, except
    the account's administration statement (AWS's default key policy, which lets IAM decide)."""
    statements = resources["DataKey"]["Properties"]["KeyPolicy"]["Statement"]
    wildcard = [s["Sid"] for s in statements if any("*" in a for a in _actions(s))]
    assert wildcard == ["AccountAdministers"]
    admin = next(s for s in statements if s["Sid"] == "AccountAdministers")
    assert admin["Principal"] == {
        "AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}
    }
    for statement in statements:
        assert statement["Principal"] != "*"


def _actions(statement: dict[str, Any]) -> list[str]:
    action = statement["Action"]
    return action if isinstance(action, list) else [action]
