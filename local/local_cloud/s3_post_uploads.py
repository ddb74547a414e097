"""Browser-based (presigned) POST uploads held to their POST policy, on top of moto's S3.

Why: moto accepts any form POST to a bucket (checked against moto 5.2.5): a wrong key, a body
over the policy's content-length-range, a wrong content type, an expired policy and a forged
signature are all stored, 204. This module wraps `moto.s3.responses.S3Response.
_bucket_response_post` — a private method, checked before it is wrapped — so that a form upload
is first held to S3's rules (local_cloud.s3_post_policy) and refused with S3's error before
moto stores anything. An accepted upload is stored by moto under the key that was checked, with
the bytes that were checked. DeleteObjects (also a bucket POST) and every other S3 call stay
moto's. The provisioner installs this with the first AWS::S3::Bucket; `invoker.uninstall()`
(the teardown of the local cloud and of the in-process test fixtures) removes it.
"""

from __future__ import annotations

import base64
import inspect
import secrets
import threading
from datetime import UTC, datetime
from typing import Any
from xml.sax.saxutils import escape

from local_cloud.s3_post_policy import PostForm, PostRefused, check

_EXPECTED_PARAMETERS = ["self", "request", "bucket_name"]
# What the wrapper relies on moto's method to do with what it hands over: store `self.body`
# under `self.querystring["key"][0]`.
_RELIED_ON = ('self.querystring["key"][0]', "f = self.body", "self.backend.put_object(")
_installed: dict[str, Any] = {}
_lock = threading.Lock()


class IncompatibleMotoError(RuntimeError):
    """moto changed the private method this module wraps."""


def check_moto_hook() -> Any:
    """moto's S3Response, if `_bucket_response_post(self, request, bucket_name)` still stores
    the form's body under its key as expected; otherwise fail loudly naming the moto version."""
    import moto
    from moto.s3 import responses

    response_class = getattr(responses, "S3Response", None)
    method = _installed.get("original") or getattr(response_class, "_bucket_response_post", None)
    if method is None:
        raise IncompatibleMotoError(
            f"moto {moto.__version__}: moto.s3.responses.S3Response._bucket_response_post is "
            "gone; local_cloud.s3_post_uploads must be adapted (tested with moto 5.2.5)"
        )
    parameters = list(inspect.signature(method).parameters)
    if parameters != _EXPECTED_PARAMETERS:
        raise IncompatibleMotoError(
            f"moto {moto.__version__}: S3Response._bucket_response_post takes {parameters}, "
            f"expected {_EXPECTED_PARAMETERS}; local_cloud.s3_post_uploads must be adapted"
        )
    source = inspect.getsource(method)
    missing = [snippet for snippet in _RELIED_ON if snippet not in source]
    if missing:
        raise IncompatibleMotoError(
            f"moto {moto.__version__}: S3Response._bucket_response_post no longer contains "
            f"{missing}; local_cloud.s3_post_uploads must be adapted (tested with moto 5.2.5)"
        )
    return response_class


def install() -> None:
    """Hold form uploads to their POST policy (once per process; the provisioner calls this
    for every bucket it creates)."""
    with _lock:
        if "original" in _installed:
            return
        response_class = check_moto_hook()
        original = response_class._bucket_response_post

        def _bucket_response_post(self: Any, request: Any, bucket_name: str) -> Any:
            return _checked_post(original, self, request, bucket_name)

        _installed["original"] = original
        response_class._bucket_response_post = _bucket_response_post


def uninstall() -> None:
    """Put moto's own form upload back."""
    with _lock:
        original = _installed.pop("original", None)
        if original is not None:
            from moto.s3.responses import S3Response

            S3Response._bucket_response_post = original


def installed() -> bool:
    """Whether form uploads are held to their POST policy."""
    return "original" in _installed


def _checked_post(original: Any, response: Any, request: Any, bucket_name: str) -> Any:
    """S3's checks, then moto's upload with the checked key and bytes; DeleteObjects, a POST
    without Content-Length (moto's 411) and a missing bucket (moto's NoSuchBucket) go to moto."""
    from moto.s3.exceptions import MissingBucket

    if "delete" in request.args or not request.headers.get("Content-Length"):
        return original(response, request, bucket_name)
    try:
        bucket = response.backend.get_bucket(bucket_name)
    except MissingBucket:
        return original(response, request, bucket_name)
    try:
        if request.mimetype != "multipart/form-data":
            raise PostRefused(
                412,
                "PreconditionFailed",
                "At least one of the pre-conditions you specified did not hold",
                [("Condition", "Bucket POST must be of the enclosure-type multipart/form-data")],
            )
        form = read_form(request, response.body)
        key = check(
            form,
            bucket_name,
            bucket.region_name,
            now=datetime.now(UTC),
            anonymous_may_write=publicly_writable(bucket),
        )
    except PostRefused as refusal:
        return error_response(refusal)
    if key is not None:
        response.querystring["key"] = [key]
        response.body = form.file
    return original(response, request, bucket_name)


def read_form(request: Any, body: Any) -> PostForm:
    """The parsed multipart form (moto has parsed it, and read the file part into `body`).

    A part named `file` is the file, with or without a filename; any other part that carries a
    filename is refused by name, because moto has read and closed it and its value is lost."""
    fields: dict[str, str] = {}
    files_in_form: list[str] = []
    for name, values in request.form.lists():
        if name.lower() == "file":
            files_in_form.extend(values)
        else:
            fields[name] = ",".join(values)
    file_parts = [
        part for name, parts in request.files.lists() if name.lower() == "file" for part in parts
    ]
    others = sorted({name for name in request.files if name.lower() != "file"})
    if others:
        raise PostRefused(
            501,
            "NotImplemented",
            f"The local cloud cannot read form field(s) {', '.join(others)} sent with a "
            "filename; only the part named file may carry one",
        )
    count = len(file_parts) + len(files_in_form)
    if len(file_parts) == 1 and count == 1:
        content = body if isinstance(body, bytes) else str(body).encode()
        return PostForm(fields, content, file_parts[0].filename or "", 1)
    if len(files_in_form) == 1 and count == 1:
        return PostForm(fields, files_in_form[0].encode(), None, 1)
    return PostForm(fields, None, None, count)


def publicly_writable(bucket: Any) -> bool:
    """Whether the bucket's ACL lets anyone write (and no public access block ignores it): the
    only case in which S3 stores a POST that carries no signature."""
    from moto.s3.models import ALL_USERS_GRANTEE, PERMISSION_FULL_CONTROL, PERMISSION_WRITE

    block = getattr(bucket, "public_access_block", None)
    if block is not None and block.ignore_public_acls:
        return False
    grants = getattr(getattr(bucket, "acl", None), "grants", None) or []
    return any(
        ALL_USERS_GRANTEE in grant.grantees
        and {PERMISSION_WRITE, PERMISSION_FULL_CONTROL} & set(grant.permissions)
        for grant in grants
    )


def error_response(refusal: PostRefused) -> tuple[int, dict[str, str], str]:
    """S3's XML error document for a refused upload."""
    details = "".join(f"<{name}>{escape(value)}</{name}>" for name, value in refusal.details)
    request_id = secrets.token_hex(8).upper()
    host_id = base64.b64encode(secrets.token_bytes(48)).decode()
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{refusal.code}</Code><Message>{escape(refusal.message)}</Message>"
        f"{details}<RequestId>{request_id}</RequestId><HostId>{host_id}</HostId></Error>"
    )
    headers = {"Content-Type": "application/xml", "x-amz-request-id": request_id}
    return refusal.status, headers, body
