"""Blobs in S3 or an S3-compatible server (aioboto3), chosen by `GOCHAT_BLOBS_URL=s3://...`.

`s3://[ACCESS_KEY:SECRET@]BUCKET?endpoint=URL&region=REGION&style=path|virtual`: without
credentials in the URL the usual AWS chain applies (environment, profile, instance role);
without `endpoint`, AWS itself. Clients upload straight to the bucket with a presigned PUT
whose signature binds the key, the length and the content type, so the bytes never pass
through GoChat and the store itself refuses a body of another size or type. Large streams put
by the server go up as a multipart upload, a part at a time, aborted on any failure.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator
from contextlib import AsyncExitStack, suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

import aioboto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from gochat.blobs import BlobInfo, BlobTooLarge, DirectUpload, check_key
from gochat.errors import NotFound, Unavailable

# S3 takes multipart parts of 5 MiB and more (but the last).
PART_BYTES = 8 << 20
READ_CHUNK_BYTES = 1 << 20
_MISSING = {"404", "NoSuchKey", "NotFound", "NoSuchBucket"}


@dataclass(frozen=True)
class S3Location:
    bucket: str
    endpoint_url: str | None
    region: str
    addressing_style: str
    access_key: str | None
    secret_key: str | None


def parse_url(url: str) -> S3Location:
    """Read an s3:// URL; ValueError says what is wrong with it."""
    parts = urlsplit(url)
    if parts.scheme != "s3" or not parts.hostname:
        raise ValueError("expected s3://[key:secret@]bucket?endpoint=...&region=...")
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    style = query.get("style", "path" if "endpoint" in query else "virtual")
    if style not in {"path", "virtual"}:
        raise ValueError("style is path or virtual")
    return S3Location(
        bucket=parts.hostname,
        endpoint_url=query.get("endpoint"),
        region=query.get("region", "us-east-1"),
        addressing_style=style,
        access_key=unquote(parts.username) if parts.username else None,
        secret_key=unquote(parts.password) if parts.password else None,
    )


class S3BlobStore:
    def __init__(self, client: Any, bucket: str, exits: AsyncExitStack) -> None:
        self._client = client  # an aiobotocore S3 client: untyped at the wire
        self._bucket = bucket
        self._exits = exits

    @classmethod
    async def connect(cls, url: str, *, create_bucket: bool = True) -> S3BlobStore:
        where = parse_url(url)
        session = aioboto3.Session(
            aws_access_key_id=where.access_key,
            aws_secret_access_key=where.secret_key,
            region_name=where.region,
        )
        exits = AsyncExitStack()
        client = await exits.enter_async_context(
            session.client(
                "s3",
                endpoint_url=where.endpoint_url,
                config=Config(
                    signature_version="s3v4",
                    s3={"addressing_style": where.addressing_style},
                    connect_timeout=5,
                    read_timeout=30,
                    retries={"max_attempts": 2, "mode": "standard"},
                ),
            )
        )
        store = cls(client, where.bucket, exits)
        try:
            if create_bucket:
                await store._ensure_bucket()
        except BaseException:
            await exits.aclose()
            raise
        return store

    async def _ensure_bucket(self) -> None:
        try:
            await self._client.head_bucket(Bucket=self._bucket)
        except ClientError as exc:
            if _code(exc) not in _MISSING:
                raise _translate(exc) from exc
            await self._call(self._client.create_bucket, Bucket=self._bucket)
        except BotoCoreError as exc:
            raise _translate(exc) from exc

    async def _call(self, method: Any, **params: Any) -> Any:
        try:
            return await method(**params)
        except (ClientError, BotoCoreError, OSError) as exc:
            raise _translate(exc) from exc

    async def put(
        self, key: str, chunks: AsyncIterable[bytes], *, content_type: str, max_bytes: int
    ) -> BlobInfo:
        check_key(key)
        size = 0
        buffer = bytearray()
        upload_id: str | None = None
        parts: list[dict[str, Any]] = []
        try:
            async for chunk in chunks:
                size += len(chunk)
                if size > max_bytes:
                    raise BlobTooLarge(max_bytes)
                buffer += chunk
                while len(buffer) >= PART_BYTES:
                    if upload_id is None:
                        started = await self._call(
                            self._client.create_multipart_upload,
                            Bucket=self._bucket,
                            Key=key,
                            ContentType=content_type,
                        )
                        upload_id = started["UploadId"]
                    part = bytes(buffer[:PART_BYTES])
                    del buffer[:PART_BYTES]
                    parts.append(await self._upload_part(key, upload_id, len(parts) + 1, part))
            if upload_id is None:
                await self._call(
                    self._client.put_object,
                    Bucket=self._bucket,
                    Key=key,
                    Body=bytes(buffer),
                    ContentType=content_type,
                )
            else:
                if buffer:
                    parts.append(
                        await self._upload_part(key, upload_id, len(parts) + 1, bytes(buffer))
                    )
                await self._call(
                    self._client.complete_multipart_upload,
                    Bucket=self._bucket,
                    Key=key,
                    UploadId=upload_id,
                    MultipartUpload={"Parts": parts},
                )
                upload_id = None
        finally:
            if upload_id is not None:
                # Leave nothing half-stored; a failed abort is left to the bucket's lifecycle
                # rule for incomplete uploads.
                with suppress(ClientError, BotoCoreError, OSError):
                    await self._client.abort_multipart_upload(
                        Bucket=self._bucket, Key=key, UploadId=upload_id
                    )
        return BlobInfo(key=key, size=size, content_type=content_type)

    async def _upload_part(
        self, key: str, upload_id: str, number: int, body: bytes
    ) -> dict[str, Any]:
        done = await self._call(
            self._client.upload_part,
            Bucket=self._bucket,
            Key=key,
            UploadId=upload_id,
            PartNumber=number,
            Body=body,
        )
        return {"PartNumber": number, "ETag": done["ETag"]}

    async def head(self, key: str) -> BlobInfo | None:
        check_key(key)
        try:
            found = await self._client.head_object(Bucket=self._bucket, Key=key)
        except ClientError as exc:
            if _code(exc) in _MISSING:
                return None
            raise _translate(exc) from exc
        except (BotoCoreError, OSError) as exc:
            raise _translate(exc) from exc
        return BlobInfo(
            key=key,
            size=int(found["ContentLength"]),
            content_type=str(found.get("ContentType") or "application/octet-stream"),
        )

    async def read(
        self, key: str, *, start: int = 0, end: int | None = None
    ) -> AsyncIterator[bytes]:
        check_key(key)
        params: dict[str, Any] = {"Bucket": self._bucket, "Key": key}
        if start or end is not None:
            if end is not None and end <= start:
                return
            params["Range"] = f"bytes={start}-{'' if end is None else end - 1}"
        try:
            found = await self._client.get_object(**params)
        except ClientError as exc:
            if _code(exc) in _MISSING:
                raise NotFound("no such file") from None
            if _code(exc) == "InvalidRange":
                return
            raise _translate(exc) from exc
        except (BotoCoreError, OSError) as exc:
            raise _translate(exc) from exc
        body = found["Body"]
        try:
            while chunk := await body.read(READ_CHUNK_BYTES):
                yield chunk
        except (BotoCoreError, OSError) as exc:
            raise _translate(exc) from exc
        finally:
            body.close()

    async def delete(self, key: str) -> None:
        check_key(key)
        try:
            await self._client.delete_object(Bucket=self._bucket, Key=key)
        except ClientError as exc:
            if _code(exc) not in _MISSING:
                raise _translate(exc) from exc
        except (BotoCoreError, OSError) as exc:
            raise _translate(exc) from exc

    async def keys(self, prefix: str = "") -> AsyncIterator[str]:
        pages = self._client.get_paginator("list_objects_v2").paginate(
            Bucket=self._bucket, Prefix=prefix
        )
        try:
            async for page in pages:
                for item in page.get("Contents", []):
                    yield str(item["Key"])
        except (ClientError, BotoCoreError, OSError) as exc:
            raise _translate(exc) from exc

    async def direct_upload(
        self, key: str, *, size: int, content_type: str, expires_in_seconds: int
    ) -> DirectUpload | None:
        check_key(key)
        url = await self._call(
            self._client.generate_presigned_url,
            ClientMethod="put_object",
            Params={
                "Bucket": self._bucket,
                "Key": key,
                "ContentType": content_type,
                "ContentLength": size,
            },
            ExpiresIn=expires_in_seconds,
        )
        return DirectUpload(
            url=str(url),
            method="PUT",
            headers=(("Content-Type", content_type), ("Content-Length", str(size))),
            expires_at=datetime.now(UTC) + timedelta(seconds=expires_in_seconds),
        )

    async def download_url(
        self,
        key: str,
        *,
        expires_in_seconds: int,
        filename: str,
        inline: bool,
        content_type: str | None = None,
    ) -> str | None:
        check_key(key)
        disposition = "inline" if inline else "attachment"
        params = {
            "Bucket": self._bucket,
            "Key": key,
            "ResponseContentDisposition": (
                f"{disposition}; filename*=UTF-8''{quote(filename, safe='')}"
            ),
        }
        if content_type is not None:
            params["ResponseContentType"] = content_type
        url = await self._call(
            self._client.generate_presigned_url,
            ClientMethod="get_object",
            Params=params,
            ExpiresIn=expires_in_seconds,
        )
        return str(url)

    async def close(self) -> None:
        await self._exits.aclose()


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _translate(exc: Exception) -> Exception:
    """Unreachable or failing store: Unavailable (retryable). Anything else the store refused
    is a bug of ours (a bad key, a missing permission) and stays as it is."""
    if isinstance(exc, ClientError):
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))
        if status >= 500 or _code(exc) in {"SlowDown", "ServiceUnavailable", "RequestTimeout"}:
            return Unavailable("file storage is unavailable; try again")
        refused: Exception = exc
        return refused
    return Unavailable("file storage is unreachable; try again")
