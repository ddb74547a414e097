"""SigV4 verification of function URL requests (AuthType AWS_IAM): what botocore signs with the
local keys passes; anything altered, expired, mis-scoped or unsigned is refused with AWS's
message."""

from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest

from local_cloud import sigv4

URL = "http://127.0.0.1:8123/sessions/start?b=2&a=1"
BODY = b'{"accountId": "42"}'


def _signed(url=URL, body=BODY, **options):
    headers = sigv4.sign(
        "POST",
        url,
        region="us-east-1",
        body=body,
        headers={"content-type": "application/json"},
        **options,
    )
    return list(headers.items())


def _verify(headers, *, url=URL, body=BODY, method="POST", **options):
    parts = urlsplit(url)
    return sigv4.verify(
        method=method,
        host=parts.netloc,
        raw_path=parts.path,
        raw_query=parts.query,
        headers=headers,
        body=body,
        region=options.pop("region", "us-east-1"),
        **options,
    )


def test_a_request_signed_with_the_local_keys_is_accepted_and_names_the_caller():
    caller = _verify(_signed())
    assert caller.authorizer() == {
        "iam": {
            "accessKey": "testing",
            "accountId": "123456789012",
            "callerId": "AIDAIT2UOQQY3AUEKVGXU",
            "cognitoIdentity": None,
            "principalOrgId": None,
            "userArn": "arn:aws:iam::123456789012:user/moto",
            "userId": "AIDAIT2UOQQY3AUEKVGXU",
        }
    }


def test_a_session_token_is_part_of_what_is_signed():
    headers = _signed(session_token="token-1")
    assert _verify(headers).access_key == "testing"
    forged = [(n, "token-2" if n == "X-Amz-Security-Token" else v) for n, v in headers]
    with pytest.raises(sigv4.SignatureRejected, match="does not match"):
        _verify(forged)


def test_an_unsigned_request_is_forbidden():
    with pytest.raises(sigv4.SignatureRejected, match=r"^Forbidden$"):
        _verify([("content-type", "application/json")])


@pytest.mark.parametrize(
    "alteration",
    [
        {"body": b'{"accountId": "43"}'},
        {"url": "http://127.0.0.1:8123/sessions/stop?b=2&a=1"},
        {"url": "http://127.0.0.1:8123/sessions/start?b=3&a=1"},
        {"method": "PUT"},
    ],
    ids=["body", "path", "query", "method"],
)
def test_anything_changed_after_signing_breaks_the_signature(alteration):
    headers = [(n, v) for n, v in _signed() if n.lower() != "x-amz-content-sha256"]
    with pytest.raises(sigv4.SignatureRejected, match="signature we calculated does not match"):
        _verify(headers, **alteration)


def test_a_wrong_secret_is_refused():
    with pytest.raises(sigv4.SignatureRejected, match="does not match"):
        _verify(_signed(secret_key="not-the-local-secret"))


def test_another_access_key_is_refused():
    with pytest.raises(
        sigv4.SignatureRejected, match="security token included in the request is invalid"
    ):
        _verify(_signed(access_key="AKIAOTHER"))


def test_the_scope_must_be_lambda_in_the_stacks_region():
    with pytest.raises(sigv4.SignatureRejected, match="valid region"):
        _verify(_signed(), region="eu-west-1")
    with pytest.raises(sigv4.SignatureRejected, match="correct service: 'lambda'"):
        _verify(_signed(service="execute-api"))


def test_a_signature_older_or_newer_than_five_minutes_is_refused():
    headers = _signed()
    now = datetime.now(UTC)
    assert _verify(headers, now=now + timedelta(minutes=4))
    with pytest.raises(sigv4.SignatureRejected, match="Signature expired"):
        _verify(headers, now=now + timedelta(minutes=6))
    with pytest.raises(sigv4.SignatureRejected, match="Signature not yet current"):
        _verify(headers, now=now - timedelta(minutes=6))


def test_host_must_be_signed():
    headers = []
    for name, value in _signed():
        if name == "Authorization":
            value = value.replace("SignedHeaders=content-type;host;", "SignedHeaders=content-type;")
        headers.append((name, value))
    with pytest.raises(sigv4.SignatureRejected, match="'Host'"):
        _verify(headers)


def test_a_declared_body_hash_must_match_the_body():
    headers = [*_signed(), ("x-amz-content-sha256", "0" * 64)]
    with pytest.raises(sigv4.SignatureRejected, match="x-amz-content-sha256"):
        _verify(headers)
