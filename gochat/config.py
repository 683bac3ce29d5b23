"""Settings: every URL and limit, with embedded defaults.

Sources, strongest first: explicit overrides (CLI flags), `GOCHAT_*` environment variables, the
optional TOML or YAML file named by `GOCHAT_CONFIG_FILE`, then the defaults below. With no
configuration at all, GoChat runs in one process on SQLite under `./gochat-data/`.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from gochat.config_values import (
    CONFIG_FILE_ENV,
    ENV_PREFIX,
    SECRET_FILE_NAME,
    ConfigError,
    ConfigFileSource,
    Rate,
    async_database_url,
    check_blobs_url,
    check_bus_url,
    check_database_url,
    check_mail_url,
    check_messages_url,
    check_public_url,
    check_redis_url,
    check_search_url,
    check_secret,
    ensure_secret_file,
    parse_rate,
    redact_url,
)

__all__ = [
    "CONFIG_FILE_ENV",
    "ConfigError",
    "Settings",
    "async_database_url",
    "load_settings",
    "parse_rate",
]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="forbid", frozen=True)

    data_dir: Path = Field(Path("gochat-data"), description="Directory for embedded state.")
    host: str = Field("127.0.0.1", description="Interface `gochat serve` listens on.")
    port: int = Field(8000, ge=0, le=65535, description="TCP port `gochat serve` listens on.")
    shutdown_grace_seconds: int = Field(
        10,
        ge=1,
        le=3600,
        description="On SIGTERM or SIGINT, how long requests and sockets may take to finish "
        "before they are cut off and the process cleans up and exits.",
    )
    shutdown_unready_seconds: float = Field(
        0,
        ge=0,
        le=300,
        description="On SIGTERM, how long /ready answers 503 while the process still serves "
        "as before, so that load balancers stop routing to it before it stops accepting.",
    )
    database_url: Annotated[str | None, AfterValidator(check_database_url)] = Field(
        None,
        description="sqlite:///path or postgresql://user:pass@host/db; default SQLite in data_dir.",
    )
    database_pool_size: int = Field(
        20,
        ge=1,
        le=1000,
        description="PostgreSQL connections per process (a fixed pool; SQLite ignores it).",
    )
    database_pool_timeout_seconds: float = Field(
        10.0,
        gt=0,
        le=600,
        description="Longest wait for a free pooled connection before a request gets "
        "UNAVAILABLE (retryable).",
    )
    messages_url: Annotated[str | None, AfterValidator(check_messages_url)] = Field(
        None,
        description="cql://host1,host2[:port]/keyspace for Cassandra/ScyllaDB messages; "
        "default: the SQL database.",
    )
    cql_consistency: Literal[
        "local_quorum", "quorum", "each_quorum", "all", "local_one", "one", "two", "three"
    ] = Field(
        "local_quorum",
        description="Consistency of the Cassandra/ScyllaDB message store's reads and writes: "
        "local_quorum (or quorum, each_quorum, all) keeps acknowledged messages and nonce "
        "claims through the loss of a replica; the *one levels do not.",
    )
    cql_serial_consistency: Literal["local_serial", "serial"] = Field(
        "local_serial",
        description="Consistency of the conditions of lightweight transactions (nonce claims, "
        "reactions, read states): local_serial within the local data center, serial across "
        "all of them.",
    )
    bus_url: Annotated[str, AfterValidator(check_bus_url)] = Field(
        "memory://",
        description="memory:// delivers events inside this process; nats://host:port shares "
        "them with every process (JetStream stream GOCHAT_EVENTS).",
    )
    bus_publish_timeout_seconds: float = Field(
        5.0,
        gt=0,
        le=600,
        description="Longest wait for NATS to confirm a publish while connected; a change whose "
        "events are not confirmed in time is still answered, and the outbox relay publishes "
        "them later. While the bus is known to be down, changes are answered at once.",
    )
    bus_reconnect_wait_seconds: float = Field(
        2.0,
        gt=0,
        le=600,
        description="Longest pause between attempts to reconnect to NATS (jittered exponential "
        "backoff from 0.1 s): how long events may lag after NATS is back.",
    )
    redis_url: Annotated[str | None, AfterValidator(check_redis_url)] = Field(
        None,
        description="redis://host:port/db for presence and rate limits shared by every "
        "process; default: in this process.",
    )
    blobs_url: Annotated[str | None, AfterValidator(check_blobs_url)] = Field(
        None,
        description="s3://[key:secret@]bucket?endpoint=URL&region=R&style=path|virtual for "
        "files on S3 or an S3-compatible server (credentials from the URL or the AWS "
        "environment); default: the blobs/ directory in data_dir.",
    )
    search_url: Annotated[str | None, AfterValidator(check_search_url)] = Field(
        None,
        description="http(s)://[user:password@]host:port[/prefix] of an OpenSearch node for "
        "message search (indices named <prefix>-messages-v<N>, prefix default gochat); "
        "default: the relational database's own full text (SQLite FTS5, PostgreSQL tsvector).",
    )
    redis_cluster: bool = Field(
        default=False,
        description="GOCHAT_REDIS_URL names one node of a Redis Cluster: the client finds the "
        "others and sends each key to the node that owns it.",
    )

    outbox_relay_interval_seconds: float = Field(
        2.0, ge=0, le=3600, description="How often unpublished events are resent; 0 disables."
    )
    outbox_relay_grace_seconds: float = Field(
        10.0,
        ge=0,
        le=3600,
        description="Age an unpublished event reaches before the relay resends it; must outlast "
        "a normal publish, or most events go out twice.",
    )
    migrate_on_start: bool = Field(default=True, description="Apply SQL migrations when serving.")
    worker_id: int = Field(0, ge=0, le=1023, description="Snowflake worker id, unique per process.")

    jwt_secret: Annotated[SecretStr | None, AfterValidator(check_secret)] = Field(
        None, description="HS256 signing key; generated into data_dir (mode 0600) when unset."
    )
    jwt_issuer: str = Field("gochat", min_length=1, description="`iss` of access tokens, checked.")
    jwt_audience: str = Field(
        "gochat-api", min_length=1, description="`aud` of access tokens, checked."
    )
    access_token_ttl_seconds: int = Field(900, ge=30, le=86_400, description="Access JWT lifetime.")
    session_cache_seconds: float = Field(
        2.0,
        ge=0,
        le=60,
        description="How long a process trusts a session it found live before reading it "
        "again. A logout through another process takes effect here as soon as its event "
        "arrives on the bus, and within this time if the bus lost it. 0 reads the session on "
        "every request and WebSocket operation.",
    )
    refresh_token_ttl_seconds: int = Field(
        30 * 86_400, ge=300, le=365 * 86_400, description="Refresh token lifetime."
    )
    email_confirmation_ttl_seconds: int = Field(
        48 * 3600, ge=60, description="Confirmation link life."
    )
    password_reset_ttl_seconds: int = Field(3600, ge=60, description="Reset link lifetime.")

    mail_url: Annotated[str, AfterValidator(check_mail_url)] = Field(
        "log://", description="log:// keeps mail in the log; smtp://user:pass@host:port?tls=..."
    )
    mail_from: str = Field(
        "GoChat <no-reply@localhost>", min_length=3, description="From header of mails."
    )
    public_url: Annotated[str | None, AfterValidator(check_public_url)] = Field(
        None,
        description="Base URL of the links in mails (confirm email, reset password), as users "
        "reach this server; default http://HOST:PORT of the address `gochat serve` listens on. "
        "Set it behind a proxy or when listening on all interfaces.",
    )

    graphql_max_depth: int = Field(12, ge=2, le=100, description="Deepest selection allowed.")
    graphql_max_tokens: int = Field(5000, ge=50, description="Most tokens in one document.")
    graphql_max_aliases: int = Field(30, ge=1, description="Most aliases in one document.")
    graphql_document_cache_size: int = Field(
        256,
        ge=1,
        description="Parsed and validated documents kept per process, by text (HTTP and "
        "WebSocket each), so a repeated operation skips parsing and validation; documents over "
        "8,192 characters are not kept, so each cache holds at most about 0.75 MB per entry.",
    )
    graphql_max_cost: int = Field(
        5000,
        ge=1,
        description="Largest computed cost of one operation, about the objects it may load: "
        "each object field counts 1, times the lists around it (a page's first/last, else "
        "its default or an estimate); over it the operation does not run (BAD_USER_INPUT).",
    )
    graphql_introspection: bool = Field(default=True, description="Allow schema introspection.")
    graphiql: bool = Field(default=True, description="Serve GraphiQL to browsers on GET /graphql.")
    request_max_bytes: int = Field(
        1_048_576,
        ge=1024,
        description="Largest HTTP request body, and largest WebSocket message (a bigger one "
        "closes the socket with 1009).",
    )
    ws_connection_init_timeout_seconds: float = Field(
        10.0, gt=0, le=300, description="Time a socket has to send connection_init."
    )
    ws_max_subscriptions_per_connection: int = Field(
        100, ge=1, le=10_000, description="Operations one socket may run at once."
    )
    ws_keepalive_seconds: float = Field(
        15.0, gt=0, le=300, description="How often the server pings each socket."
    )
    ws_max_outbox_frames: int = Field(
        4096, ge=16, description="Frames queued for one slow socket before it is closed (1013)."
    )
    ws_fanout: Literal["shared", "per-subscriber"] = Field(
        "shared",
        description="shared executes each event once per document for the whole process; "
        "per-subscriber (one bus subscription and execution each) is the benchmark baseline.",
    )
    ws_per_message_deflate: bool = Field(
        default=False,
        description="Compress WebSocket frames (costs CPU and ~100 KB per socket).",
    )
    presence_ttl_seconds: float = Field(
        60.0, ge=3, le=3600, description="Life of a connection's presence report between refreshes."
    )
    presence_grace_seconds: float = Field(
        5.0, ge=0, le=300, description="How long a user stays shown after their last socket closes."
    )
    presence_sweep_interval_seconds: float = Field(
        1.0, gt=0, le=60, description="How often lapsed presence sessions are looked for."
    )
    gc_full_interval_seconds: float = Field(
        600.0,
        ge=0,
        description="How often the garbage collector's next full pass walks every object, "
        "long-lived ones included, to reclaim their reference cycles (a pause that grows with "
        "the sockets held); between those, full passes walk only objects made since the last "
        "one. 0: never again after start-up.",
    )
    cors_allowed_origins: list[str] = Field(
        default_factory=list, description="Browser origins allowed for HTTP (CORS) and WebSocket."
    )
    trust_forwarded_for: bool = Field(
        default=False, description="Take the client IP from X-Forwarded-For (only behind a proxy)."
    )

    rate_register_per_ip: Rate = Field("10/3600", description="Registrations per IP per window.")
    rate_login_per_ip: Rate = Field("30/60", description="Login attempts per IP per window.")
    rate_login_per_account: Rate = Field("10/300", description="Login attempts per email.")
    rate_reset_per_ip: Rate = Field("10/3600", description="Reset requests per IP per window.")
    rate_reset_per_account: Rate = Field("3/3600", description="Reset requests per email.")
    rate_typing_per_user: Rate = Field("10/10", description="startTyping calls per user.")
    rate_cost_per_user: Rate = Field(
        "50000/60",
        description="Query cost points each user (signed out: each IP) may spend per window, "
        "over HTTP and WebSocket; at least GOCHAT_GRAPHQL_MAX_COST.",
    )

    metrics_enabled: bool = Field(
        default=True,
        description="Serve Prometheus metrics at /metrics (keep it off the public network).",
    )
    worker_metrics_port: int | None = Field(
        None,
        ge=0,
        le=65535,
        description="TCP port where `gochat worker` serves its /metrics (on GOCHAT_HOST; a "
        "worker has no API to serve them on); unset: none.",
    )
    otlp_endpoint: str | None = Field(
        None,
        description="OTLP/HTTP collector base URL (e.g. http://localhost:4318) to export "
        "OpenTelemetry traces to; unset, nothing is traced.",
    )
    otlp_service_name: str = Field(
        "gochat", min_length=1, description="service.name of the exported traces."
    )
    workers_in_process: bool = Field(
        default=True,
        description="Run the background workers (media previews, and every other worker kind) "
        "inside `gochat serve`; false when they run as `gochat worker NAME` processes.",
    )
    voice_regions: list[str] = Field(
        default_factory=lambda: ["global"],
        min_length=1,
        description="Voice region ids; first is default.",
    )
    sfu_id: str = Field(
        "sfu-local",
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9_-]+$",
        description="This SFU's id: the audience of its join tokens and its bus subject.",
    )
    sfu_embedded: bool = Field(
        default=True,
        description="Run an SFU inside `gochat serve` (on its port, path /sfu) when "
        "GOCHAT_DISCOVERY_URL is unset, so voice works with no other process.",
    )
    sfu_region: str | None = Field(None, description="Voice region `gochat sfu` serves.")
    sfu_public_url: str | None = Field(
        None,
        description="Signaling URL clients dial (default ws://SFU_HOST:SFU_PORT/sfu).",
    )
    sfu_host: str = Field("127.0.0.1", description="Interface `gochat sfu` listens on.")
    sfu_port: int = Field(8001, ge=0, le=65535, description="TCP port `gochat sfu` listens on.")
    sfu_ice_hosts: list[str] = Field(
        default_factory=list,
        description="Addresses the SFU offers as ICE host candidates (default: all but loopback).",
    )
    discovery_url: str | None = Field(
        default=None,
        description="etcd://[user:password@]host:port[?prefix=/gochat/sfu] where SFUs register; "
        "default: in this process (the embedded SFU).",
    )
    voice_token_ttl_seconds: int = Field(
        120, ge=10, le=3600, description="Life of an SFU join token issued by joinVoice."
    )
    voice_heartbeat_expiry_seconds: float = Field(
        15.0,
        ge=1,
        le=600,
        description="Voice states of an SFU whose heartbeats stop lapse after this long.",
    )
    voice_sweep_interval_seconds: float = Field(
        1.0, gt=0, le=60, description="How often lapsed voice states are looked for."
    )
    emoji_max_per_guild: int = Field(
        50, ge=0, le=1000, description="Custom emoji a guild may hold."
    )
    attachment_max_bytes: int = Field(
        25 << 20, ge=1, description="Largest message attachment, in bytes."
    )
    avatar_max_bytes: int = Field(8 << 20, ge=1, description="Largest avatar image, in bytes.")
    guild_image_max_bytes: int = Field(
        8 << 20, ge=1, description="Largest guild icon or banner image, in bytes."
    )
    emoji_max_bytes: int = Field(256 << 10, ge=1, description="Largest emoji image, in bytes.")
    upload_max_open_slots: int = Field(
        20, ge=1, le=1000, description="Upload slots a user may hold unused at once."
    )
    upload_slot_ttl_seconds: int = Field(
        600, ge=1, le=86_400, description="How long an upload slot may wait for its bytes and use."
    )
    file_url_ttl_seconds: int = Field(
        3600,
        ge=60,
        le=7 * 86_400,
        description="Life of the signed URLs that serve attachments and previews.",
    )
    thread_archive_interval_seconds: float = Field(
        60.0,
        ge=0,
        le=86_400,
        description="How often threads with no message for their auto-archive delay are "
        "looked for and archived; 0 turns the sweeper off.",
    )
    file_sweep_interval_seconds: float = Field(
        60.0,
        ge=0,
        le=86_400,
        description="How often unused files (expired slots, files of deleted messages, replaced "
        "images) are looked for and removed, besides right after a change that frees some; "
        "0 turns the sweeper off (then run `gochat tools blobs gc`).",
    )
    file_claim_grace_seconds: float = Field(
        300.0,
        ge=0,
        le=86_400,
        description="How long after a send claimed an attachment its file is kept even without "
        "its message (the send may still be storing it); files of messages deleted sooner go "
        "once this has passed.",
    )
    embedder_enabled: bool = Field(
        default=True,
        description="Make embeds from links in messages (in this process when embedded).",
    )
    embed_fetch_allowed_networks: list[str] = Field(
        default_factory=list,
        description="Networks (CIDR) the embedder and media proxy may fetch from although they "
        "are not public, e.g. an operator's internal hosts; empty: public addresses only.",
    )
    embed_fetch_max_bytes: int = Field(
        2 << 20,
        ge=1024,
        le=64 << 20,
        description="Most bytes read of a linked page, as sent and as decoded.",
    )
    embed_fetch_timeout_seconds: float = Field(
        10.0, gt=0, le=120, description="Longest fetch of a linked page, redirects included."
    )
    embed_fetch_per_host: int = Field(
        2, ge=1, le=64, description="Fetches the embedder makes to one host at a time."
    )
    embed_cache_seconds: int = Field(
        6 * 3600, ge=0, le=7 * 86_400, description="How long a link's embed is reused."
    )
    embed_failure_cache_seconds: int = Field(
        30 * 60,
        ge=0,
        le=86_400,
        description="How long a link that gave no embed (failed, refused, no metadata) is not "
        "fetched again.",
    )
    media_proxy_enabled: bool = Field(
        default=True,
        description="Serve the images of generated embeds through /media-proxy, so readers "
        "never contact third-party hosts (their proxyUrl); off: proxyUrl is null.",
    )
    media_proxy_max_bytes: int = Field(
        8 << 20,
        ge=1024,
        le=64 << 20,
        description="Largest image the media proxy serves, in bytes.",
    )
    settings_max_bytes: int = Field(65_536, ge=1024, description="Largest user settings document.")
    log_level: Literal["debug", "info", "warning", "error"] = Field(
        "info", description="Log level."
    )
    log_format: Literal["console", "json"] = Field(
        "console", description="console (key=value) or json lines."
    )
    fault_injection: Literal["none", "crash-before-publish", "crash-after-nonce-claim"] = Field(
        "none",
        description="Testing only: crash-before-publish makes the process exit at once (status "
        "70) after a change committed and before its events are published; "
        "crash-after-nonce-claim (Cassandra message store) after a send claimed its nonce and "
        "before its message is written.",
    )

    @field_validator("rate_cost_per_user")
    @classmethod
    def _cost_rate_fits_one_operation(cls, value: str, info: ValidationInfo) -> str:
        max_cost = info.data.get("graphql_max_cost")
        if isinstance(max_cost, int) and parse_rate(value)[0] < max_cost:
            raise ValueError(
                f"must allow at least GOCHAT_GRAPHQL_MAX_COST ({max_cost}) points per window"
            )
        return value

    @field_validator("embed_fetch_allowed_networks")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for item in value:
            try:
                ipaddress.ip_network(item.strip(), strict=False)
            except ValueError as exc:
                raise ValueError(f"{item!r} is not a network (CIDR)") from exc
        return value

    @field_validator("redis_cluster")
    @classmethod
    def _cluster_needs_a_node(cls, value: bool, info: ValidationInfo) -> bool:  # noqa: FBT001
        if not value:
            return value
        url = info.data.get("redis_url")
        if not isinstance(url, str):
            raise ValueError("needs GOCHAT_REDIS_URL, one node of the cluster")
        if urlsplit(url).path.strip("/") not in {"", "0"}:
            raise ValueError("a Redis Cluster has only database 0 (GOCHAT_REDIS_URL names another)")
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, ConfigFileSource(settings_cls))

    def effective_database_url(self) -> str:
        """The SQLAlchemy async URL, with the embedded SQLite default filled in."""
        url = self.database_url or f"sqlite:///{self.data_dir.resolve() / 'gochat.db'}"
        return async_database_url(url)

    def effective_public_url(self) -> str:
        """The base of mailed links: configured, or the address served. A wildcard address
        (0.0.0.0, ::) is no place to send a browser; links then name localhost."""
        if self.public_url is not None:
            return self.public_url
        host = self.host
        if host in {"", "0.0.0.0", "::"}:  # noqa: S104 - recognizing, not binding
            host = "localhost"
        elif ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}"

    def signing_secret(self) -> str:
        """The JWT key: configured, or read from (and first generated into) data_dir."""
        if self.jwt_secret is not None:
            return self.jwt_secret.get_secret_value()
        return ensure_secret_file(self.data_dir / SECRET_FILE_NAME)

    def redacted(self) -> dict[str, Any]:
        """The effective configuration with every secret hidden, for `gochat config`."""
        data = self.model_dump(mode="json")
        data["jwt_secret"] = "<set>" if self.jwt_secret else f"<file {SECRET_FILE_NAME}>"
        data["database_url"] = redact_url(self.effective_database_url())
        data["mail_url"] = redact_url(self.mail_url)
        data["bus_url"] = redact_url(self.bus_url)
        data["redis_url"] = redact_url(self.redis_url) if self.redis_url else None
        data["blobs_url"] = redact_url(self.blobs_url) if self.blobs_url else None
        data["search_url"] = redact_url(self.search_url) if self.search_url else None
        return data


def load_settings(**overrides: Any) -> Settings:
    """Settings from every source; a bad value raises ConfigError naming the setting."""
    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        first = exc.errors()[0]
        name = ".".join(str(part) for part in first["loc"]) or "configuration"
        label = f"{ENV_PREFIX}{name.upper()}" if first["loc"] else name
        shown = first.get("input")
        detail = first["msg"].removeprefix("Value error, ")
        if first["type"] == "extra_forbidden":
            detail = "unknown setting"
        elif isinstance(shown, str | int | float | bool) and "secret" not in name:
            detail += f" (got {shown!r})"
        raise ConfigError(f"invalid setting {label}: {detail}") from exc
