"""The Cloudflare R2 backend (any S3-compatible endpoint) through boto3's S3 client.

R2's differences from AWS S3 that this client keeps: region `auto`; boto3 >= 1.36 sends checksum headers by
default that R2 did not always accept, so checksum calculation and validation are "when required"; R2 has no
object ACLs, so none is ever sent. Throttling and 5xx answers are retried by botocore's standard mode
(exponential backoff with jitter). Errors name bucket and key, never credentials.
"""

from __future__ import annotations

from collections.abc import Iterator

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from clash_pipeline.archive.store import ArchiveKeyError, ArchiveStoreError

MISSING = {"NoSuchKey", "404", "NotFound"}
EXISTS = {"PreconditionFailed", "ConditionalRequestConflict"}


class S3Store:
    """Objects in one bucket of an S3-compatible store."""

    def __init__(self, bucket: str, endpoint_url: str, access_key_id: str, secret_access_key: str,
                 max_attempts: int = 5, timeout_s: float = 30.0) -> None:
        self.bucket, self.endpoint_url = bucket, endpoint_url
        config = Config(
            region_name="auto",
            signature_version="s3v4",
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
            retries={"mode": "standard", "max_attempts": max_attempts},
            s3={"addressing_style": "path"},
            connect_timeout=min(timeout_s, 5.0),
            read_timeout=timeout_s,
        )
        self._client = boto3.client("s3", endpoint_url=endpoint_url, aws_access_key_id=access_key_id,
                                    aws_secret_access_key=secret_access_key, config=config)

    def _fail(self, action: str, key: str, error: Exception) -> ArchiveStoreError:
        if isinstance(error, ClientError):
            err = error.response.get("Error", {})
            status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            detail = f"{err.get('Code', '?')} (HTTP {status}): {err.get('Message', '')}".strip()
        else:
            detail = f"{type(error).__name__}: store unreachable at {self.endpoint_url}"
        return ArchiveStoreError(f"archive {action} s3://{self.bucket}/{key} failed: {detail}")

    def put(self, key: str, data: bytes, content_type: str, metadata: dict[str, str],
            if_absent: bool = False) -> bool:
        """One request: with `if_absent`, a conditional write (If-None-Match: *) that R2 and S3 refuse with
        412 (or 409 for a concurrent write) when the key exists."""
        condition = {"IfNoneMatch": "*"} if if_absent else {}
        try:
            self._client.put_object(Bucket=self.bucket, Key=key, Body=data, ContentType=content_type,
                                    Metadata=metadata, **condition)
            return True
        except ClientError as error:
            if if_absent and error.response.get("Error", {}).get("Code") in EXISTS:
                return False
            raise self._fail("put", key, error) from None
        except BotoCoreError as error:
            raise self._fail("put", key, error) from None

    def get(self, key: str) -> bytes:
        try:
            return self._client.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in MISSING:
                raise ArchiveKeyError(f"no archive object s3://{self.bucket}/{key}") from None
            raise self._fail("get", key, error) from None
        except BotoCoreError as error:
            raise self._fail("get", key, error) from None

    def list(self, prefix: str = "") -> Iterator[tuple[str, int]]:
        try:
            for page in self._client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix):
                for item in page.get("Contents", []):
                    yield item["Key"], item["Size"]
        except (ClientError, BotoCoreError) as error:
            raise self._fail("list", prefix + "*", error) from None

    def describe(self) -> str:
        return f"s3:{self.endpoint_url}/{self.bucket}"
