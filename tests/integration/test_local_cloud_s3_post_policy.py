"""Presigned POST uploads on the local cloud are held to their POST policy as S3 holds them:
the upload the policy allows is stored; a wrong key, a body outside content-length-range, a
wrong content type, an expired policy, a changed policy or signature and a field no condition
covers are each refused with S3's error and store nothing — in-process under `mock_aws` and
through the moto server that `make up` runs. moto alone stores every one of them."""

import base64
import json
import uuid
import xml.etree.ElementTree as ET

import boto3
import pytest
import requests
from botocore.config import Config
from moto import mock_aws

from local_cloud import invoker, s3_post_uploads, server
from local_cloud.provisioner import provision
from tests.support.images import jpeg_of_size, make_jpeg

MAX_BYTES = 15_000_000
KEY = "uploads/wf-1/cred-1/FRONT.jpg"
CONDITIONS = [["content-length-range", 1, MAX_BYTES], {"Content-Type": "image/jpeg"}]


def _bucket_template(tmp_path):
    """A stack with one bucket (a new name each time: the moto server of one test process keeps
    its buckets); provisioning it is what puts the POST policy check in place."""
    path = tmp_path / "template.json"
    name = f"uploads-{uuid.uuid4().hex[:12]}"
    resources = {"Uploads": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": name}}}
    path.write_text(json.dumps({"Resources": resources}), encoding="utf-8")
    return path


class Cloud:
    """The provisioned bucket, and S3 clients signing as a mobile app's backend would."""

    def __init__(self, stack, **client_options):
        self.bucket = stack.physical("Uploads")
        self.options = {"region_name": "us-east-1", **client_options}

    def s3(self, signature_version="s3v4", **overrides):
        config = Config(signature_version=signature_version)
        return boto3.client("s3", config=config, **{**self.options, **overrides})

    def presign(self, signature_version="s3v4", *, expires_in=300, key=KEY, **client):
        return self.s3(signature_version, **client).generate_presigned_post(
            self.bucket,
            key,
            Fields={"Content-Type": "image/jpeg"},
            Conditions=CONDITIONS,
            ExpiresIn=expires_in,
        )

    def keys(self):
        listing = self.s3().list_objects_v2(Bucket=self.bucket)
        return [item["Key"] for item in listing.get("Contents", [])]


@pytest.fixture
def inprocess(tmp_path):
    invoker.install("inprocess")
    try:
        with mock_aws():
            yield Cloud(provision(_bucket_template(tmp_path), stack_name="lc-post"))
    finally:
        invoker.uninstall()


@pytest.fixture
def served(tmp_path, monkeypatch):
    monkeypatch.delenv("MOTO_PORT", raising=False)
    cloud = server.start(0, echo_logs=False)
    try:
        stack = provision(
            _bucket_template(tmp_path), stack_name="lc-postsrv", endpoint_url=cloud.endpoint_url
        )
        yield Cloud(
            stack,
            endpoint_url=cloud.endpoint_url,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
    finally:
        cloud.stop()


@pytest.fixture
def moto_alone():
    """moto's own form upload, whatever an earlier test in this process left installed."""
    s3_post_uploads.uninstall()
    yield
    s3_post_uploads.uninstall()


@pytest.fixture(params=["inprocess", "served"])
def cloud(request):
    return request.getfixturevalue(request.param)


def _upload(post, body, *, fields=None, drop=(), filename="front.jpg"):
    form = {name: value for name, value in post["fields"].items() if name not in drop}
    form.update(fields or {})
    return requests.post(
        post["url"], data=form, files={"file": (filename, body, "image/jpeg")}, timeout=60
    )


def _error(response):
    """S3's XML error document as {element: text}."""
    return {child.tag: child.text or "" for child in ET.fromstring(response.content)}


def _refused(cloud, response, status, code):
    assert response.status_code == status, response.text
    error = _error(response)
    assert error["Code"] == code
    assert cloud.keys() == []  # nothing stored, under any key
    return error


@pytest.mark.parametrize("signature_version", ["s3v4", "s3"])
def test_the_upload_the_policy_allows_is_stored(cloud, signature_version):
    photo = make_jpeg(640, 480)
    response = _upload(cloud.presign(signature_version), photo)
    assert response.status_code == 204, response.text
    stored = cloud.s3().get_object(Bucket=cloud.bucket, Key=KEY)
    assert stored["Body"].read() == photo
    assert stored["ContentType"] == "image/jpeg"
    assert cloud.keys() == [KEY]


def test_another_key_is_refused(cloud):
    response = _upload(
        cloud.presign(), make_jpeg(64, 64), fields={"key": "uploads/wf-1/cred-1/BACK.jpg"}
    )
    error = _refused(cloud, response, 403, "AccessDenied")
    assert error["Message"] == (
        f'Invalid according to Policy: Policy Condition failed: ["eq", "$key", "{KEY}"]'
    )


def test_a_body_over_the_range_is_refused_and_the_maximum_is_accepted(cloud):
    post = cloud.presign()
    error = _refused(
        cloud, _upload(post, jpeg_of_size(MAX_BYTES + 1, 64, 64)), 400, "EntityTooLarge"
    )
    assert (error["ProposedSize"], error["MaxSizeAllowed"]) == (str(MAX_BYTES + 1), str(MAX_BYTES))
    assert _upload(post, jpeg_of_size(MAX_BYTES, 64, 64)).status_code == 204
    assert cloud.keys() == [KEY]


def test_an_empty_body_is_refused(cloud):
    error = _refused(cloud, _upload(cloud.presign(), b""), 400, "EntityTooSmall")
    assert (error["ProposedSize"], error["MinSizeAllowed"]) == ("0", "1")


def test_another_content_type_is_refused(cloud):
    response = _upload(cloud.presign(), make_jpeg(64, 64), fields={"Content-Type": "image/png"})
    error = _refused(cloud, response, 403, "AccessDenied")
    assert error["Message"] == (
        'Invalid according to Policy: Policy Condition failed: ["eq", "$Content-Type", '
        '"image/jpeg"]'
    )


@pytest.mark.parametrize("signature_version", ["s3v4", "s3"])
def test_an_expired_policy_is_refused(cloud, signature_version):
    response = _upload(cloud.presign(signature_version, expires_in=-1), make_jpeg(64, 64))
    error = _refused(cloud, response, 403, "AccessDenied")
    assert error["Message"] == "Invalid according to Policy: Policy expired."


def _widened(policy_b64):
    """The same policy with a larger size limit, re-encoded: what a client might try."""
    policy = json.loads(base64.b64decode(policy_b64))
    policy["conditions"][0] = ["content-length-range", 1, 10 * MAX_BYTES]
    return base64.b64encode(json.dumps(policy).encode()).decode()


@pytest.mark.parametrize(
    ("signature_version", "signature_field"), [("s3v4", "x-amz-signature"), ("s3", "signature")]
)
def test_a_changed_policy_or_signature_is_refused(cloud, signature_version, signature_field):
    post = cloud.presign(signature_version)
    widened = _widened(post["fields"]["policy"])
    response = _upload(post, make_jpeg(64, 64), fields={"policy": widened})
    error = _refused(cloud, response, 403, "SignatureDoesNotMatch")
    assert error["StringToSign"] == widened
    assert error["SignatureProvided"] == post["fields"][signature_field]

    signature = post["fields"][signature_field]
    forged = signature[:-2] + ("AA" if signature[-2:] != "AA" else "BB")
    response = _upload(post, make_jpeg(64, 64), fields={signature_field: forged})
    _refused(cloud, response, 403, "SignatureDoesNotMatch")


def test_a_field_no_condition_covers_is_refused_and_x_ignore_fields_are_not(cloud):
    post = cloud.presign()
    response = _upload(post, make_jpeg(64, 64), fields={"x-amz-meta-origin": "app"})
    error = _refused(cloud, response, 403, "AccessDenied")
    assert error["Message"] == "Invalid according to Policy: Extra input fields: x-amz-meta-origin"
    response = _upload(post, make_jpeg(64, 64), fields={"x-ignore-submit": "Upload"})
    assert response.status_code == 204, response.text


def test_a_form_without_its_signature_is_refused(cloud):
    response = _upload(cloud.presign(), make_jpeg(64, 64), drop=("x-amz-signature",))
    error = _refused(cloud, response, 400, "InvalidArgument")
    assert error["ArgumentName"] == "X-Amz-Signature"


def test_an_unsigned_upload_to_a_private_bucket_is_refused(cloud):
    post = cloud.presign()
    unsigned = {"key": KEY, "Content-Type": "image/jpeg"}
    response = requests.post(
        post["url"], data=unsigned, files={"file": ("front.jpg", b"\xff\xd8")}, timeout=60
    )
    error = _refused(cloud, response, 403, "AccessDenied")
    assert error["Message"] == "Access Denied"


def test_keys_other_than_the_local_ones_are_refused(cloud):
    post = cloud.presign(aws_access_key_id="AKIDSOMEONEELSE", aws_secret_access_key="x")
    error = _refused(cloud, _upload(post, make_jpeg(64, 64)), 403, "InvalidAccessKeyId")
    assert error["AWSAccessKeyId"] == "AKIDSOMEONEELSE"


def test_a_credential_for_another_region_is_refused(inprocess):
    post = inprocess.presign(region_name="eu-west-1")
    error = _refused(inprocess, _upload(post, make_jpeg(64, 64)), 400, "InvalidArgument")
    assert error["Message"] == "the region 'eu-west-1' is wrong; expecting 'us-east-1'"


def test_a_body_that_is_not_a_multipart_form_is_refused(inprocess):
    post = inprocess.presign()
    response = requests.post(post["url"], data={**post["fields"], "file": "abc"}, timeout=60)
    _refused(inprocess, response, 412, "PreconditionFailed")


def test_filename_is_expanded_before_the_key_is_checked_and_stored(inprocess):
    # "All variables within the form are expanded prior to validating the POST policy."
    post = inprocess.s3().generate_presigned_post(
        inprocess.bucket,
        "uploads/wf-1/${filename}",
        Fields={"Content-Type": "image/jpeg"},
        Conditions=[*CONDITIONS, ["eq", "$key", "uploads/wf-1/front.jpg"]],
    )
    back = _upload(post, make_jpeg(64, 64), filename="back.jpg")
    _refused(inprocess, back, 403, "AccessDenied")
    front = _upload(post, make_jpeg(64, 64), filename="photos/front.jpg")
    assert front.status_code == 204, front.text
    assert inprocess.keys() == ["uploads/wf-1/front.jpg"]


def test_starts_with_on_content_type_holds_for_each_type_of_a_list(inprocess):
    post = inprocess.s3().generate_presigned_post(
        inprocess.bucket,
        KEY,
        Fields={"Content-Type": "image/jpeg"},
        Conditions=[["starts-with", "$Content-Type", "image/"]],
    )
    mixed = _upload(post, b"\xff\xd8", fields={"Content-Type": "image/jpeg,text/plain"})
    error = _refused(inprocess, mixed, 403, "AccessDenied")
    assert error["Message"].endswith('["starts-with", "$Content-Type", "image/"]')
    images = _upload(post, b"\xff\xd8", fields={"Content-Type": "image/jpeg, image/png"})
    assert images.status_code == 204, images.text


@pytest.mark.parametrize(
    ("condition", "message"),
    [
        (["content-length-range", 0, 512.0], "Invalid Policy: Invalid JSON."),
        (
            {"acl": "private", "key": KEY},
            "Invalid Policy: Invalid Simple-Condition: Simple-Conditions must have exactly one "
            "property specified.",
        ),
        (
            ["ends-with", "$key", ".jpg"],
            "Invalid Policy: Invalid Condition: unknown operation 'ends-with'.",
        ),
    ],
)
def test_a_policy_that_cannot_be_read_is_refused(inprocess, condition, message):
    post = inprocess.s3().generate_presigned_post(
        inprocess.bucket, KEY, Fields={"Content-Type": "image/jpeg"}, Conditions=[condition]
    )
    error = _refused(inprocess, _upload(post, b"\xff\xd8"), 400, "InvalidPolicyDocument")
    assert error["Message"] == message


def test_a_file_part_without_a_filename_keeps_filename_literal(inprocess):
    post = inprocess.s3().generate_presigned_post(
        inprocess.bucket,
        "uploads/wf-1/${filename}",
        Fields={"Content-Type": "image/jpeg"},
        Conditions=CONDITIONS,
    )
    response = requests.post(
        post["url"], data=post["fields"], files={"file": (None, b"abc")}, timeout=60
    )
    assert response.status_code == 204, response.text
    assert inprocess.keys() == ["uploads/wf-1/${filename}"]


def test_another_part_sent_with_a_filename_is_refused_by_name(inprocess):
    post = inprocess.presign()
    files = {"file": ("front.jpg", b"\xff\xd8"), "x-amz-meta-note": ("note.txt", b"hi")}
    response = requests.post(post["url"], data=post["fields"], files=files, timeout=60)
    error = _refused(inprocess, response, 501, "NotImplemented")
    assert "x-amz-meta-note" in error["Message"]


def test_an_unsigned_upload_to_a_publicly_writable_bucket_is_left_to_moto(inprocess):
    s3 = inprocess.s3()
    s3.put_bucket_acl(Bucket=inprocess.bucket, ACL="public-read-write")
    url = inprocess.presign()["url"]
    response = requests.post(
        url, data={"key": KEY}, files={"file": ("front.jpg", b"\xff\xd8")}, timeout=60
    )
    assert response.status_code == 204, response.text
    assert inprocess.keys() == [KEY]


def test_delete_objects_is_still_moto_s(inprocess):
    s3 = inprocess.s3()
    s3.put_object(Bucket=inprocess.bucket, Key=KEY, Body=b"x")
    deleted = s3.delete_objects(Bucket=inprocess.bucket, Delete={"Objects": [{"Key": KEY}]})
    assert [item["Key"] for item in deleted["Deleted"]] == [KEY]
    assert inprocess.keys() == []


def test_provisioning_a_bucket_installs_the_check_and_the_teardown_removes_it(tmp_path, moto_alone):
    from moto.s3.responses import S3Response

    invoker.install("inprocess")
    try:
        with mock_aws():
            assert not s3_post_uploads.installed()
            provision(_bucket_template(tmp_path), stack_name="lc-postinst")
            assert s3_post_uploads.installed()
            assert S3Response._bucket_response_post.__module__ == "local_cloud.s3_post_uploads"
    finally:
        invoker.uninstall()
    assert not s3_post_uploads.installed()
    assert S3Response._bucket_response_post.__module__ == "moto.s3.responses"


def test_moto_alone_stores_a_forged_upload(moto_alone):
    # Why the check exists: without it, moto stores what S3 refuses.
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="uploads")
        post = s3.generate_presigned_post("uploads", KEY, ExpiresIn=-1)
        forged = {**post["fields"], "key": "elsewhere.jpg", "policy": "e30=", "signature": "x"}
        response = requests.post(post["url"], data=forged, files={"file": b""}, timeout=60)
        assert response.status_code == 204
        assert [o["Key"] for o in s3.list_objects_v2(Bucket="uploads")["Contents"]] == [
            "elsewhere.jpg"
        ]


def test_the_hook_checks_moto_and_fails_loudly_naming_its_version(moto_alone, monkeypatch):
    import moto
    from moto.s3.responses import S3Response

    assert s3_post_uploads.check_moto_hook() is S3Response

    def renamed(self, req, bucket_name):
        return None

    monkeypatch.setattr(S3Response, "_bucket_response_post", renamed)
    with pytest.raises(s3_post_uploads.IncompatibleMotoError, match=f"moto {moto.__version__}"):
        s3_post_uploads.check_moto_hook()

    def reads_the_key_elsewhere(self, request, bucket_name):
        return self.backend.put_object(bucket_name, self.data["key"], self.body)

    monkeypatch.setattr(S3Response, "_bucket_response_post", reads_the_key_elsewhere)
    with pytest.raises(s3_post_uploads.IncompatibleMotoError, match="no longer contains"):
        s3_post_uploads.install()
    assert not s3_post_uploads.installed()
