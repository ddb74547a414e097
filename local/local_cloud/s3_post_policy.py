"""S3's rules for a browser-based (presigned) POST upload: the signature over the policy, the
policy's expiration, its conditions, and that a condition covers every form field.

Why a module of its own: moto stores any form POST (checked against moto 5.2.5: no signature,
no expiration and no condition is checked), so the local cloud could not show that a presigned
POST accepts only what it should. These are pure functions of the form, the bucket, the clock
and the local keys, written from S3's documentation ("Browser-Based Uploads Using POST (AWS
Signature Version 4)", "POST Policy", and the SigV2 "HTML Forms" page). S3 documents few of
its error texts for POST; where it does not, the text is the one S3 is reported to answer, and
docs/local-cloud.md says which is which. local_cloud.s3_post_uploads puts these rules in front
of moto.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from local_cloud import credentials

SIGV4_ALGORITHM = "AWS4-HMAC-SHA256"
# The keys a form may be signed with: the local cloud's, and the pair `mock_aws` puts in the
# environment of an in-process test (moto.core.models.MockAWS), which boto3 then signs with.
LOCAL_KEYS: Mapping[str, str] = {
    credentials.ACCESS_KEY_ID: credentials.SECRET_ACCESS_KEY,
    "FOOBARKEY": "FOOBARSECRET",
}
# Fields that name how the form is signed, in the order S3 names the first one missing.
_SIGV4_FIELDS = ("X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Signature", "Policy")
_SIGV2_FIELDS = ("AWSAccessKeyId", "Signature", "Policy")
# "Each form field that you specify in a form (except x-amz-signature, file, policy, and field
# names that have an x-ignore- prefix) must appear in the list of conditions" (SigV2: except
# AWSAccessKeyId, signature, file, policy).
_UNCOVERED = {
    "v4": frozenset({"x-amz-signature", "file", "policy"}),
    "v2": frozenset({"awsaccesskeyid", "signature", "file", "policy"}),
}
_IGNORED_PREFIX = "x-ignore-"
_EXPIRATION = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z")
_AMZ_DATE = re.compile(r"\d{8}T\d{6}Z")
_SIGNATURE_MISMATCH = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your key and signing method."
)


class PostRefused(Exception):
    """S3's answer to a POST it does not store: HTTP status, error code, message and the extra
    elements of its XML error body."""

    def __init__(
        self, status: int, code: str, message: str, details: Sequence[tuple[str, str]] = ()
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.details = tuple(details)


@dataclass(frozen=True)
class PostForm:
    """A POST upload's form: every field but the file (name as sent → value; a name sent more
    than once has its values joined by commas, as S3 reads them), and the file."""

    fields: Mapping[str, str]
    file: bytes | None
    filename: str | None  # None: the file part has no filename, so ${filename} stays as sent
    file_count: int


@dataclass(frozen=True)
class Condition:
    """One policy condition, normalised; `shown` is how S3 quotes it when it fails."""

    operation: str  # "eq", "starts-with" or "content-length-range"
    field: str | None  # lower-cased name without "$"; None when the "$" is missing
    value: str = ""
    bounds: tuple[int, int] | None = None  # content-length-range; None if not numbers
    shown: str = ""


def _denied(message: str) -> PostRefused:
    return PostRefused(403, "AccessDenied", message)


def _invalid_argument(message: str, name: str, value: str = "") -> PostRefused:
    return PostRefused(
        400, "InvalidArgument", message, [("ArgumentName", name), ("ArgumentValue", value)]
    )


def _invalid_policy(message: str) -> PostRefused:
    return PostRefused(400, "InvalidPolicyDocument", f"Invalid Policy: {message}")


def _condition_failed(condition: Condition) -> PostRefused:
    return _denied(f"Invalid according to Policy: Policy Condition failed: {condition.shown}")


def _by_lower_name(fields: Mapping[str, str]) -> dict[str, tuple[str, str]]:
    """Field names are case-insensitive: lower-cased name → (name as sent, value)."""
    merged: dict[str, tuple[str, str]] = {}
    for name, value in fields.items():
        lower = name.lower()
        if lower in merged:
            first_name, first_value = merged[lower]
            merged[lower] = (first_name, f"{first_value},{value}")
        else:
            merged[lower] = (name, value)
    return merged


def expand(value: str, filename: str | None) -> str:
    """`${filename}` as S3 expands it before checking the policy: the part of the file name
    after its last slash or backslash; left as sent when the file part has no filename."""
    if filename is None:
        return value
    return value.replace("${filename}", re.split(r"[\\/]", filename)[-1])


def signing_version(fields: Mapping[str, str]) -> str | None:
    """How the form is signed: v4, v2, or None when anonymous (a `policy` alone signs nothing)."""
    names = {name.lower() for name in fields}
    if names & {name.lower() for name in _SIGV4_FIELDS[:4]}:
        return "v4"
    if names & {"awsaccesskeyid", "signature"}:
        return "v2"
    return None


def check(
    form: PostForm,
    bucket_name: str,
    bucket_region: str,
    *,
    now: datetime,
    anonymous_may_write: bool,
    keys: Mapping[str, str] = LOCAL_KEYS,
) -> str | None:
    """The key to store the file under, or None for an anonymous upload S3 would let the
    bucket's ACL decide; raises PostRefused with S3's answer otherwise."""
    fields = _by_lower_name(form.fields)
    if not fields.get("key", ("", ""))[1]:
        raise _invalid_argument(_missing_field_message("key"), "key")
    if form.file_count != 1:
        raise _invalid_argument(
            "POST requires exactly one file upload per request.", "file", str(form.file_count)
        )
    version = signing_version(form.fields)
    if version is None:
        if anonymous_may_write:
            return None
        raise _denied("Access Denied")
    for name in _SIGV4_FIELDS if version == "v4" else _SIGV2_FIELDS:
        if not fields.get(name.lower(), ("", ""))[1]:
            raise _invalid_argument(_missing_field_message(name), name)
    values = {lower: value for lower, (_, value) in fields.items()}
    if version == "v4":
        verify_sigv4(values, bucket_region, keys)
    else:
        verify_sigv2(values, keys)
    expiration, conditions = parse_policy(values["policy"])
    if now > expiration:
        raise _denied("Invalid according to Policy: Policy expired.")
    expanded = {lower: expand(value, form.filename) for lower, value in values.items()}
    check_conditions(conditions, expanded, bucket_name, len(form.file or b""))
    check_coverage(conditions, fields, version)
    return expanded["key"]


def _missing_field_message(name: str) -> str:
    return (
        f"Bucket POST must contain a field named '{name}'.  "
        "If it is specified, please check the order of the fields."
    )


def _signing_key(secret: str, day: str, region: str, service: str) -> bytes:
    key = f"AWS4{secret}".encode()
    for part in (day, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def _mismatch(access_key: str, policy: str, provided: str) -> PostRefused:
    return PostRefused(
        403,
        "SignatureDoesNotMatch",
        _SIGNATURE_MISMATCH,
        [
            ("AWSAccessKeyId", access_key),
            ("StringToSign", policy),
            ("SignatureProvided", provided),
            ("StringToSignBytes", " ".join(f"{byte:02x}" for byte in policy.encode())),
        ],
    )


def _unknown_key(access_key: str) -> PostRefused:
    return PostRefused(
        403,
        "InvalidAccessKeyId",
        "The AWS Access Key Id you provided does not exist in our records.",
        [("AWSAccessKeyId", access_key)],
    )


def verify_sigv4(values: Mapping[str, str], bucket_region: str, keys: Mapping[str, str]) -> None:
    """The x-amz-signature must be the hex HMAC-SHA256 of the policy as sent (its base64 text),
    under the signing key of the credential's secret, day, region and service s3."""
    algorithm = values["x-amz-algorithm"]
    if algorithm != SIGV4_ALGORITHM:
        raise _invalid_argument(
            f'X-Amz-Algorithm only supports "{SIGV4_ALGORITHM}"', "X-Amz-Algorithm", algorithm
        )
    credential = values["x-amz-credential"]
    access_key, day, region = _credential_scope(credential)
    if region != bucket_region:
        raise PostRefused(
            400,
            "InvalidArgument",
            f"the region '{region}' is wrong; expecting '{bucket_region}'",
            [
                ("ArgumentName", "X-Amz-Credential"),
                ("ArgumentValue", credential),
                ("Region", bucket_region),
            ],
        )
    if not _AMZ_DATE.fullmatch(values["x-amz-date"]):
        raise _invalid_argument(
            "X-Amz-Date must be formated via ISO8601 Long format",
            "X-Amz-Date",
            values["x-amz-date"],
        )
    secret = keys.get(access_key)
    if secret is None:
        raise _unknown_key(access_key)
    policy, provided = values["policy"], values["x-amz-signature"]
    expected = hmac.new(
        _signing_key(secret, day, region, "s3"), policy.encode(), hashlib.sha256
    ).hexdigest()
    if not hmac.compare_digest(expected, provided):
        raise _mismatch(access_key, policy, provided)


def _credential_scope(credential: str) -> tuple[str, str, str]:
    """<access key>/<yyyymmdd>/<region>/s3/aws4_request, or S3's answer to what is wrong."""
    parts = credential.split("/")
    if len(parts) != 5:
        raise _invalid_argument(
            'the Credential is mal-formed; expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/'
            'aws4_request".',
            "X-Amz-Credential",
            credential,
        )
    access_key, day, region, service, terminal = parts
    problem = None
    if not access_key:
        problem = "a non-empty Access Key (AKID) must be provided in the credential."
    elif not _is_day(day):
        problem = (
            f'incorrect date format "{day}". This date in the credential must be in the '
            'format "yyyyMMdd".'
        )
    elif service != "s3":
        problem = f'incorrect service "{service}". This endpoint belongs to "s3".'
    elif terminal != "aws4_request":
        problem = f'incorrect terminal "{terminal}". This endpoint uses "aws4_request".'
    if problem:
        raise _invalid_argument(problem, "X-Amz-Credential", credential)
    return access_key, day, region


def _is_day(day: str) -> bool:
    if not re.fullmatch(r"\d{8}", day):
        return False
    try:
        datetime.strptime(day, "%Y%m%d")
    except ValueError:
        return False
    return True


def verify_sigv2(values: Mapping[str, str], keys: Mapping[str, str]) -> None:
    """The signature must be the base64 HMAC-SHA1 of the policy as sent, under the secret of
    AWSAccessKeyId (what boto3 sends when it signs with signature version "s3")."""
    access_key = values["awsaccesskeyid"]
    secret = keys.get(access_key)
    if secret is None:
        raise _unknown_key(access_key)
    policy, provided = values["policy"], values["signature"]
    digest = hmac.new(secret.encode(), policy.encode(), hashlib.sha1).digest()
    if not hmac.compare_digest(base64.b64encode(digest).decode(), provided):
        raise _mismatch(access_key, policy, provided)


def _refuse_float(text: str) -> float:
    raise ValueError(f"not an integer: {text}")


def parse_policy(policy: str) -> tuple[datetime, list[Condition]]:
    """The policy's expiration and conditions; S3's InvalidPolicyDocument when it cannot be
    read (only after the signature over it was verified, as S3 does)."""
    try:
        text = base64.b64decode(policy + "=" * (-len(policy) % 4), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise _invalid_policy("invalid Base64 encoding.") from exc
    try:
        document = json.loads(text, parse_float=_refuse_float, parse_constant=_refuse_float)
    except ValueError as exc:
        raise _invalid_policy("Invalid JSON.") from exc
    if not isinstance(document, dict):
        raise _invalid_policy("Invalid JSON.")
    for member in document:
        if member not in ("expiration", "conditions"):
            raise _invalid_policy(f"Unexpected: '{str(member).lower()}'")
    if "expiration" not in document:
        raise _invalid_policy("Policy missing expiration.")
    if "conditions" not in document:
        raise _invalid_policy("Policy missing conditions.")
    expiration = document["expiration"]
    if not isinstance(expiration, str) or not _EXPIRATION.fullmatch(expiration):
        raise _invalid_policy(f"Invalid 'expiration' value: '{expiration}'")
    moment = datetime.strptime(expiration[:19], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC)
    if "." in expiration:
        fraction = expiration[20:-1]
        moment = moment.replace(microsecond=int(fraction[:6].ljust(6, "0")))
    conditions = document["conditions"]
    if not isinstance(conditions, list):
        raise _invalid_policy("Invalid 'conditions' value: must be a List.")
    return moment, [parse_condition(condition) for condition in conditions]


def _shown(items: Sequence[object]) -> str:
    return json.dumps(list(items), ensure_ascii=False)


def parse_condition(condition: object) -> Condition:
    """An exact match `{"field": value}`, `["eq"|"starts-with", "$field", value]`, or
    `["content-length-range", min, max]`."""
    if isinstance(condition, dict):
        if len(condition) != 1:
            raise _invalid_policy(
                "Invalid Simple-Condition: Simple-Conditions must have exactly one property "
                "specified."
            )
        ((name, value),) = condition.items()
        if value is None:
            raise _invalid_policy("Invalid JSON.")
        if not isinstance(value, str):
            raise _invalid_policy("Invalid Simple-Condition: value must be a string.")
        return Condition("eq", name.lower(), value, shown=_shown(["eq", f"${name}", value]))
    if not isinstance(condition, list):
        raise _invalid_policy("Invalid condition test: must be a List or Object.")
    if not condition or not isinstance(condition[0], str):
        raise _invalid_policy("Invalid Condition: missing operation identifier.")
    operation = condition[0]
    kind = operation.lower()
    if kind not in ("eq", "starts-with", "content-length-range"):
        raise _invalid_policy(f"Invalid Condition: unknown operation '{operation}'.")
    if len(condition) != 3:
        raise _invalid_policy(f"Invalid {operation}: wrong number of arguments.")
    if kind == "content-length-range":
        return Condition(kind, None, bounds=_bounds(condition[1:]), shown=_shown(condition))
    name, value = condition[1], condition[2]
    if not isinstance(name, str) or not isinstance(value, str):
        raise _invalid_policy("Invalid JSON.")
    field = name[1:].lower() if name.startswith("$") else None
    return Condition(kind, field, value, shown=_shown(condition))


def _bounds(items: Sequence[object]) -> tuple[int, int] | None:
    """Integers, or strings of digits (S3 takes "5"); None if either is something else."""
    numbers = []
    for item in items:
        if isinstance(item, bool) or item is None:
            return None
        if isinstance(item, int):
            numbers.append(item)
        elif isinstance(item, str) and re.fullmatch(r"-?\d+", item):
            numbers.append(int(item))
        else:
            return None
    if numbers[0] < 0 or numbers[1] < 0:
        raise _invalid_policy("Invalid content-length-range: the bounds must not be negative.")
    return numbers[0], numbers[1]


def check_conditions(
    conditions: Sequence[Condition], values: Mapping[str, str], bucket_name: str, size: int
) -> None:
    """Every condition must hold, in the policy's order; the first that does not is S3's
    answer. A condition on a field the form does not have fails, even `starts-with ""`."""
    for condition in conditions:
        if condition.operation == "content-length-range":
            _check_size(condition, size)
            continue
        if condition.field is None:
            raise _condition_failed(condition)
        actual = bucket_name if condition.field == "bucket" else values.get(condition.field)
        if actual is None or not _matches(condition, actual):
            raise _condition_failed(condition)


def _matches(condition: Condition, actual: str) -> bool:
    if condition.operation == "eq":
        return actual == condition.value
    if condition.field == "content-type":  # a list: each type must start with the prefix
        return all(item.strip(" \t").startswith(condition.value) for item in actual.split(","))
    return actual.startswith(condition.value)


def _check_size(condition: Condition, size: int) -> None:
    if condition.bounds is None:
        raise _condition_failed(condition)
    minimum, maximum = condition.bounds
    if size > maximum:
        raise PostRefused(
            400,
            "EntityTooLarge",
            "Your proposed upload exceeds the maximum allowed size",
            [("ProposedSize", str(size)), ("MaxSizeAllowed", str(maximum))],
        )
    if size < minimum:
        raise PostRefused(
            400,
            "EntityTooSmall",
            "Your proposed upload is smaller than the minimum allowed size",
            [("ProposedSize", str(size)), ("MinSizeAllowed", str(minimum))],
        )


def check_coverage(
    conditions: Sequence[Condition], fields: Mapping[str, tuple[str, str]], version: str
) -> None:
    """Every field but the exempt ones must be named by a condition."""
    covered = {condition.field for condition in conditions if condition.field}
    extra = [
        name
        for lower, (name, _) in fields.items()
        if lower not in covered
        and lower not in _UNCOVERED[version]
        and not lower.startswith(_IGNORED_PREFIX)
    ]
    if extra:
        raise _denied(f"Invalid according to Policy: Extra input fields: {', '.join(extra)}")
