"""docker-compose.yml, Dockerfile and .dockerignore: no Docker engine here, so check their structure and the
Neo4j conventions they rely on (image tag, settings as environment variables, health check, start order)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from kgbuild.resources import REPO_ROOT

# Neo4j 5 settings kgbuild's compose file sets (operations manual, configuration settings).
NEO4J_SETTINGS = {"server.memory.heap.initial_size", "server.memory.heap.max_size", "server.memory.pagecache.size"}
INTERPOLATION = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())


def setting_of(variable: str) -> str:
    """Invert the Neo4j image's mapping: NEO4J_server_memory_heap_max__size -> server.memory.heap.max_size."""
    body = variable.removeprefix("NEO4J_")
    return ".".join(part.replace("\0", "_") for part in body.replace("__", "\0").split("_"))


def interpolate(value: str, env: dict[str, str]) -> str:
    """Compose's ${VAR}, ${VAR:-default} and ${VAR:?error} substitution (enough for this file)."""

    def substitute(match: re.Match[str]) -> str:
        name, op, arg = match.group(1), match.group(2), match.group(3)
        if env.get(name):
            return env[name]
        if op in (":-", "-"):
            return arg
        if op in (":?", "?"):
            raise KeyError(f"{name}: {arg}")
        return ""

    return INTERPOLATION.sub(substitute, value)


def test_setting_mapping_helper() -> None:
    assert setting_of("NEO4J_server_memory_heap_max__size") == "server.memory.heap.max_size"
    assert setting_of("NEO4J_dbms_security_procedures_unrestricted") == "dbms.security.procedures.unrestricted"


def test_neo4j_service(compose: dict) -> None:
    neo4j = compose["services"]["neo4j"]
    assert neo4j["image"] == "neo4j:5.26-community"
    env = neo4j["environment"]
    auth = interpolate(env["NEO4J_AUTH"], {"NEO4J_PASSWORD": "s3cret-pass"})
    assert auth == "neo4j/s3cret-pass"
    with pytest.raises(KeyError, match="NEO4J_PASSWORD"):
        interpolate(env["NEO4J_AUTH"], {})  # no default password: compose refuses to start
    settings = {setting_of(name) for name in env if name != "NEO4J_AUTH"}
    assert settings == NEO4J_SETTINGS
    for name in env:
        if name != "NEO4J_AUTH":
            assert re.fullmatch(r"\d+[kKmMgG]?", interpolate(str(env[name]), {})), name
    ports = {interpolate(p, {}).split(":")[-1] for p in neo4j["ports"]}
    assert ports == {"7474", "7687"}


def test_named_volume_for_data(compose: dict) -> None:
    mounts = dict(volume.split(":", 1) for volume in compose["services"]["neo4j"]["volumes"])
    assert mounts["neo4j-data"] == "/data"
    for service in compose["services"].values():
        for volume in service.get("volumes", []):
            source = interpolate(volume, {}).split(":")[0]
            if not source.startswith((".", "/")):
                assert source in compose["volumes"], f"named volume {source!r} is not declared"


def test_health_check(compose: dict) -> None:
    check = compose["services"]["neo4j"]["healthcheck"]
    assert check["test"][0] in ("CMD", "CMD-SHELL")
    assert "7474" in " ".join(check["test"][1:])
    for key in ("interval", "timeout", "start_period"):
        assert re.fullmatch(r"\d+(ms|s|m)", check[key]), key
    assert int(check["retries"]) >= 3


def test_kgbuild_service_waits_for_neo4j_and_builds(compose: dict) -> None:
    service = compose["services"]["kgbuild"]
    assert service["depends_on"]["neo4j"]["condition"] == "service_healthy"
    assert service["build"]["dockerfile"] == "Dockerfile"
    assert (REPO_ROOT / service["build"]["context"] / service["build"]["dockerfile"]).is_file()
    command = service["command"]
    assert command[:3] == ["kgbuild", "build", "/data"]
    assert command[command.index("--graph") + 1] == "bolt://neo4j:7687"
    assert any(interpolate(v, {}).endswith(":/data:ro") for v in service["volumes"])
    assert set(service["environment"]) == {"NEO4J_USER", "NEO4J_PASSWORD"}
    default_docs = interpolate(next(v for v in service["volumes"] if v.endswith(":/data:ro")), {}).split(":")[0]
    assert (REPO_ROOT / default_docs).is_dir()


def test_dockerfile_installs_the_package() -> None:
    lines = [line.strip() for line in (REPO_ROOT / "Dockerfile").read_text().splitlines()]
    instructions = [line for line in lines if line and not line.startswith("#")]
    assert instructions[0] == "FROM python:3.12-slim"
    copied = {part for line in instructions if line.startswith("COPY") for part in line.split()[1:-1]}
    assert {"pyproject.toml", "README.md", "kgbuild", "schemas"} <= copied
    assert any(re.match(r"RUN pip install \.( |$)", line) for line in instructions)
    assert any(line.startswith("USER ") for line in instructions), "the image should not run as root"


def test_dockerignore_keeps_what_the_image_copies() -> None:
    ignored = [line for line in (REPO_ROOT / ".dockerignore").read_text().splitlines() if line and line[0] != "#"]
    for needed in ("pyproject.toml", "README.md", "kgbuild", "schemas", "examples"):
        assert needed not in ignored
    assert ".git" in ignored and ".venv" in ignored
