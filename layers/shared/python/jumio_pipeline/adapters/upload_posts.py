"""Presigned S3 POSTs: an app without AWS credentials uploads one capture, and only that.

Each POST policy allows exactly one key, exactly one content type and a size range, and
expires; S3 enforces all of it (signature version 4). The bucket's default encryption applies
to what is uploaded, so the app sends no encryption fields.
"""

from __future__ import annotations

from typing import Any

from botocore.config import Config

from jumio_pipeline.adapters import aws_clients


class S3UploadPosts:
    """``UploadPosts`` for the captures bucket."""

    def __init__(self, bucket: str, *, client: Any = None) -> None:
        self._bucket = bucket
        self._client = client or aws_clients.client("s3", config=Config(signature_version="s3v4"))

    def presigned_post(
        self, key: str, content_type: str, *, min_bytes: int, max_bytes: int, expires_in: int
    ) -> dict[str, Any]:
        """``{"url", "fields"}``: post ``fields`` and then the file as ``file``."""
        post = self._client.generate_presigned_post(
            Bucket=self._bucket,
            Key=key,
            Fields={"Content-Type": content_type},
            Conditions=[
                {"bucket": self._bucket},
                ["eq", "$key", key],
                {"Content-Type": content_type},
                ["content-length-range", min_bytes, max_bytes],
            ],
            ExpiresIn=expires_in,
        )
        return {"url": post["url"], "fields": post["fields"]}
