"""compose.yaml, the Dockerfile and the monitoring files describe a stack that can start: the
compose file follows the Compose specification, every GoChat setting and command it uses
exists, images are pinned, and Prometheus, the proxy and Grafana point at what is there."""

from __future__ import annotations

import json
import os
import re
import shlex
import tomllib
from importlib.resources import files
from typing import Any

import jsonschema
import pytest
import yaml
from click.testing import CliRunner
from dockerfile_parse import DockerfileParser

from gochat.cli import main as gochat_cli
from gochat.config import Settings
from tests.ops.stack import (
    CADDYFILE,
    COMPOSE_FILE,
    DASHBOARD_FILE,
    DOCKERFILE,
    GRAFANA_PROVISIONING,
    PROMETHEUS_FILE,
    ROOT,
    cli_problem,
    command_of,
    environment_of,
    gochat_services,
    interpolate,
    load_compose,
)

# The Compose specification's schema, as vendored (and kept current) by check-jsonschema.
COMPOSE_SCHEMA = files("check_jsonschema") / "builtin_schemas" / "vendor" / "compose-spec.json"


def compose_schema_errors(document: Any) -> list[str]:
    schema = json.loads(COMPOSE_SCHEMA.read_text(encoding="utf-8"))
    validator = jsonschema.validators.validator_for(schema)(schema)
    return [
        f"{'/'.join(map(str, error.absolute_path))}: {error.message}"
        for error in validator.iter_errors(document)
    ]


def test_compose_file_follows_the_compose_specification() -> None:
    assert compose_schema_errors(load_compose()) == []


def test_the_schema_check_rejects_a_broken_file() -> None:
    broken = load_compose()
    broken["services"]["api-1"]["depends_on"]["migrate"]["condition"] = "service_done"
    broken["services"]["nats"]["helthcheck"] = {}
    errors = compose_schema_errors(broken)
    assert any("api-1/depends_on" in e for e in errors), errors
    assert any("helthcheck" in e for e in errors), errors


def test_every_gochat_variable_is_a_setting_and_its_value_loads(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    services = gochat_services(load_compose())
    assert {"migrate", "api-1", "api-2", "sfu"} <= services.keys()
    for name, service in services.items():
        env = {k: v for k, v in environment_of(service).items() if k.startswith("GOCHAT_")}
        unknown = [k for k in env if k.removeprefix("GOCHAT_").lower() not in Settings.model_fields]
        assert unknown == [], f"{name}: not settings: {unknown}"
        for key in [k for k in list(os.environ) if k.startswith("GOCHAT_")]:
            monkeypatch.delenv(key)
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        Settings()  # raises on a value the setting does not accept


def test_every_gochat_variable_read_from_the_host_is_a_setting() -> None:
    used = set(re.findall(r"\$\{(GOCHAT_\w+)", COMPOSE_FILE.read_text(encoding="utf-8")))
    assert "GOCHAT_JWT_SECRET" in used
    unknown = sorted(
        k for k in used if k.removeprefix("GOCHAT_").lower() not in Settings.model_fields
    )
    assert unknown == [], "name host variables that are not settings without GOCHAT_"


def test_every_gochat_command_is_a_cli_command() -> None:
    compose = load_compose()
    commands = {name: command_of(s) for name, s in gochat_services(compose).items()}
    assert commands["migrate"] == ["migrate", "up"]
    assert sorted(c[1] for c in commands.values() if c[0] == "worker") == [
        "embedder",
        "indexer",
        "media",
    ]
    for name, args in commands.items():
        assert cli_problem(args) is None, f"{name}: {cli_problem(args)}"
        result = CliRunner().invoke(gochat_cli, [*args, "--help"])
        assert result.exit_code == 0, f"{name}: {result.output}"


def test_the_command_check_rejects_what_the_cli_would() -> None:
    assert cli_problem(["migrate", "sideways"]) is not None
    assert cli_problem(["worker", "indexr"]) is not None
    assert cli_problem(["serv"]) is not None
    assert cli_problem(["tools"]) is not None
    assert cli_problem(["worker", "media"]) is None


def test_api_services_wait_for_the_migrations_and_leave_work_to_the_other_services() -> None:
    services = gochat_services(load_compose())
    apis = {name: s for name, s in services.items() if command_of(s)[:1] == ["serve"]}
    assert len(apis) >= 2
    for name, service in apis.items():
        assert service["depends_on"]["migrate"] == {
            "condition": "service_completed_successfully"
        }, name
        env = environment_of(service)
        assert env["GOCHAT_WORKERS_IN_PROCESS"] == "false", name
        assert env["GOCHAT_MIGRATE_ON_START"] == "false", name
    ids = [environment_of(s).get("GOCHAT_WORKER_ID", "0") for s in services.values()]
    id_makers = [
        i for i, s in zip(ids, services.values(), strict=True) if command_of(s) != ["migrate", "up"]
    ]
    assert len(set(id_makers)) == len(id_makers), "GOCHAT_WORKER_ID must differ per process"


def test_the_sfu_publishes_its_media_ports_and_its_address_is_configurable() -> None:
    sfu = load_compose()["services"]["sfu"]
    assert command_of(sfu) == ["sfu"]
    low, high = map(int, sfu["sysctls"]["net.ipv4.ip_local_port_range"].split())
    assert f"{low}-{high}:{low}-{high}/udp" in sfu["ports"]
    raw = sfu["environment"]
    assert raw["GOCHAT_SFU_PUBLIC_URL"].startswith("${GOCHAT_SFU_PUBLIC_URL")
    assert raw["GOCHAT_SFU_ICE_HOSTS"].startswith("${GOCHAT_SFU_ICE_HOSTS")


def _image_problem(image: str) -> str | None:
    name, _, tag = interpolate(image).rpartition(":")
    if not name or "/" in tag:
        return f"{image}: no tag"
    if tag == "latest" or not re.search(r"\d", tag):
        return f"{image}: tag {tag!r} is not a version"
    return None


def test_every_image_is_pinned() -> None:
    services = load_compose()["services"]
    images = {name: s["image"] for name, s in services.items()}
    assert images.keys() == services.keys(), "every service names its image"
    assert [p for p in map(_image_problem, images.values()) if p] == []
    assert _image_problem("nats:latest") and _image_problem("nats") and _image_problem("a:alpine")


def test_every_long_running_service_has_a_healthcheck() -> None:
    services = load_compose()["services"]
    one_shots = {n for n, s in services.items() if s.get("restart") == "no"}
    missing = sorted(
        set(services) - one_shots - {n for n, s in services.items() if "healthcheck" in s}
    )
    assert missing == []


def test_monitoring_is_a_profile() -> None:
    services = load_compose()["services"]
    assert services["prometheus"]["profiles"] == ["monitoring"]
    assert services["grafana"]["profiles"] == ["monitoring"]
    assert not any(
        "profiles" in s for n, s in services.items() if n not in {"prometheus", "grafana"}
    )


def test_mounted_files_exist() -> None:
    for name, service in load_compose()["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if source.startswith("./"):
                assert (ROOT / source).exists(), f"{name} mounts {source}"


def _serve_targets() -> set[str]:
    services = gochat_services(load_compose())
    return {
        f"{name}:{environment_of(s).get('GOCHAT_PORT', '8000')}"
        for name, s in services.items()
        if command_of(s)[:1] == ["serve"]
    }


def _worker_targets() -> set[str]:
    services = gochat_services(load_compose())
    workers = {name: s for name, s in services.items() if command_of(s)[:1] == ["worker"]}
    ports = {
        name: environment_of(s).get("GOCHAT_WORKER_METRICS_PORT") for name, s in workers.items()
    }
    assert all(ports.values()), f"a worker serves no /metrics: {ports}"
    return {f"{name}:{port}" for name, port in ports.items()}


def _sfu_targets() -> set[str]:
    services = gochat_services(load_compose())
    return {
        f"{name}:{environment_of(s).get('GOCHAT_SFU_PORT', '8001')}"
        for name, s in services.items()
        if command_of(s)[:1] == ["sfu"]
    }


def test_prometheus_scrapes_every_api_worker_and_sfu_process() -> None:
    config = yaml.safe_load(PROMETHEUS_FILE.read_text(encoding="utf-8"))
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}

    def targets(job: str) -> set[str]:
        assert jobs[job].get("metrics_path", "/metrics") == "/metrics"
        return {t for group in jobs[job]["static_configs"] for t in group["targets"]}

    assert targets("gochat-api") == _serve_targets()
    assert targets("gochat-workers") == _worker_targets()
    assert targets("gochat-sfu") == _sfu_targets()
    services = load_compose()["services"]
    for job in jobs.values():
        for group in job.get("static_configs", []):
            for target in group["targets"]:
                host = target.rsplit(":", 1)[0]
                assert host == "localhost" or host in services, target


def test_the_proxy_spreads_over_every_api_process() -> None:
    text = CADDYFILE.read_text(encoding="utf-8")
    upstreams = re.search(r"^\s*reverse_proxy\s+([^{\n]+)", text, re.MULTILINE)
    assert upstreams is not None
    assert set(upstreams.group(1).split()) == _serve_targets()
    proxy = load_compose()["services"]["proxy"]
    assert set(proxy["depends_on"]) == {t.split(":")[0] for t in _serve_targets()}


def test_grafana_loads_the_dashboard_from_the_provisioned_datasource() -> None:
    sources = yaml.safe_load(
        (GRAFANA_PROVISIONING / "datasources" / "prometheus.yaml").read_text(encoding="utf-8")
    )
    uids = {s["uid"] for s in sources["datasources"]}
    provider = yaml.safe_load(
        (GRAFANA_PROVISIONING / "dashboards" / "gochat.yaml").read_text(encoding="utf-8")
    )["providers"][0]
    grafana = load_compose()["services"]["grafana"]
    mounted = {v.split(":")[1]: v.split(":")[0] for v in grafana["volumes"]}
    assert (ROOT / mounted[provider["options"]["path"]]).resolve() == DASHBOARD_FILE.parent
    dashboard = json.loads(DASHBOARD_FILE.read_text(encoding="utf-8"))
    panels = [p for p in dashboard["panels"] if p["type"] != "row"]
    assert panels and all(p["datasource"]["uid"] in uids for p in panels)
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))


def _stages(parser: DockerfileParser) -> list[list[dict[str, Any]]]:
    stages: list[list[dict[str, Any]]] = []
    for instruction in parser.structure:
        if instruction["instruction"] == "FROM":
            stages.append([])
        if stages:
            stages[-1].append(instruction)
    return stages


def test_the_dockerfile_builds_a_wheel_and_runs_every_role_as_a_non_root_user() -> None:
    parser = DockerfileParser(path=str(DOCKERFILE))
    assert all(re.fullmatch(r"python:3\.11\.\d+-slim(-\w+)?", i) for i in parser.parent_images)
    builder, runtime = _stages(parser)
    assert any("pip wheel" in i["value"] for i in builder if i["instruction"] == "RUN")
    runtime_runs = " ".join(i["value"] for i in runtime if i["instruction"] == "RUN")
    assert not re.search(r"apt-get|build-essential|gcc", runtime_runs)
    users = [i["value"] for i in runtime if i["instruction"] == "USER"]
    assert users and users[-1].split(":")[0] not in {"root", "0"}

    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"][
        "scripts"
    ]
    entrypoint = json.loads(next(i["value"] for i in runtime if i["instruction"] == "ENTRYPOINT"))
    assert entrypoint == ["gochat"] and "gochat" in scripts
    cmd = json.loads(next(i["value"] for i in runtime if i["instruction"] == "CMD"))
    assert cli_problem(cmd) is None

    unknown = [
        k
        for k in parser.envs
        if k.startswith("GOCHAT_")
        and k.removeprefix("GOCHAT_").lower() not in Settings.model_fields
    ]
    assert unknown == []


def test_the_build_context_holds_what_the_dockerfile_copies() -> None:
    parser = DockerfileParser(path=str(DOCKERFILE))
    ignored = (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
    kept = {line.removeprefix("!").rstrip("/") for line in ignored if line.startswith("!")}
    for instruction in parser.structure:
        if instruction["instruction"] == "COPY" and "--from" not in instruction["value"]:
            *sources, _ = shlex.split(instruction["value"])
            for source in sources:
                assert (ROOT / source).exists(), source
                assert source.rstrip("/") in kept, f"{source} is left out by .dockerignore"
