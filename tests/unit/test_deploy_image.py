"""The Dockerfile builds in principle: a slim pinned base, a final stage that runs as non-root
with no build tools and installs from the lock file, and a command for every process that
exists in the installed package."""

import importlib
import importlib.util
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from services.chassis.config import ROOT

pytestmark = pytest.mark.unit

PROCESSES = {
    "registry": ("services/registry/config.yaml", "services.registry.service:RegistryService"),
    "meetings": ("services/meetings/config.yaml", "services.meetings.service:MeetingsService"),
    "petitions": ("services/petitions/config.yaml",
                  "services.petitions.service:PetitionsService"),
    "supervision": ("services/supervision/config.yaml",
                    "services.supervision.service:SupervisionService"),
    "notify": ("services/notify/config.yaml", "services.notify.service:NotifyService"),
    "gateway": ("gateway/config.yaml", "gateway.service:GatewayService"),
}
ENTRYPOINT = ROOT / "deploy/docker/entrypoint.sh"


def stages() -> list[tuple[str, list[str]]]:
    """(FROM line, instructions) per stage, continuation lines joined."""
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    text = re.sub(r"<<'PY'\n.*?\nPY\n", "<<'PY' ... PY\n", text, flags=re.S)
    lines = [line for line in text.replace("\\\n", " ").splitlines()
             if line.strip() and not line.lstrip().startswith("#")]
    result = []
    for line in lines:
        if line.startswith("FROM "):
            result.append((line, []))
        elif result:
            result[-1][1].append(line)
    return result


def test_base_image_is_a_pinned_slim_python_311():
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    base = re.search(r"^ARG PYTHON_IMAGE=(\S+)$", text, re.M).group(1)
    assert re.fullmatch(r"python:3\.11\.\d+-slim-[a-z]+(@sha256:[0-9a-f]{64})?", base), base
    assert all(line.startswith("FROM ${PYTHON_IMAGE}") for line, _ in stages())


def test_multi_stage_final_stage_runs_as_non_root_without_build_tools():
    all_stages = stages()
    assert len(all_stages) >= 2
    final_from, final = all_stages[-1]
    users = [line.split()[1] for line in final if line.startswith("USER ")]
    assert users, "the final stage must switch user"
    uid = users[-1].split(":")[0]
    assert uid not in ("0", "root")
    assert uid.isdigit() and int(uid) >= 1000  # numeric: Kubernetes runAsNonRoot can verify it
    body = "\n".join(final)
    for tool in ("apt-get install", "gcc", "build-essential", "pip install", "COPY . "):
        assert tool not in body, f"the final stage must not contain {tool!r}"
    assert "COPY --from=build /opt/yuelihui /opt/yuelihui" in body
    assert final[-2:] == ['ENTRYPOINT ["/usr/local/bin/yuelihui-entrypoint"]',
                          'CMD ["gateway"]']


def test_the_build_stage_installs_from_the_lock_file_only():
    _, build = stages()[0]
    body = "\n".join(build)
    assert "COPY pyproject.toml constraints.txt ./" in body
    assert "ENV PIP_CONSTRAINT=/src/constraints.txt" in body
    install = next(line for line in build if "pip install" in line and " . " in line + " ")
    assert "--constraint constraints.txt" in install
    assert "-e " not in install and "--editable" not in install
    assert "pip check" in install
    assert "not pinned in constraints.txt" in (ROOT / "Dockerfile").read_text(encoding="utf-8")


def test_the_lock_pins_every_runtime_dependency():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    lock = {line.split("==")[0].lower().replace("_", "-")
            for line in (ROOT / "constraints.txt").read_text().split() if "==" in line}
    for requirement in pyproject["project"]["dependencies"]:
        name = re.match(r"[A-Za-z0-9_.-]+", requirement).group(0).lower().replace("_", "-")
        assert name in lock or name == "setuptools", f"{name} is not pinned in constraints.txt"


def test_dockerignore_sends_only_what_the_build_copies():
    rules = [line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
             if line.strip() and not line.startswith("#")]
    assert rules[0] == "*"
    allowed = {rule[1:].rstrip("/") for rule in rules if rule.startswith("!")}
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    for source in re.findall(r"^COPY (?:--chmod=\S+ )?(?!--from)(.+) \S+$", text, re.M):
        for path in source.split():
            assert path.rstrip("/") in allowed, f"{path} is copied but excluded by .dockerignore"
            assert (ROOT / path).exists()


def test_console_scripts_are_installed_with_the_project():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert pyproject["project"]["scripts"]["yuelihui"] == "services.cli:main"
    assert any(dep.startswith("nameko") for dep in pyproject["project"]["dependencies"])
    from services import cli

    assert callable(cli.main)


@pytest.mark.parametrize("process", sorted(PROCESSES))
def test_the_command_of_each_process_exists_in_the_installed_package(process):
    config, target = PROCESSES[process]
    script = ENTRYPOINT.read_text(encoding="utf-8")
    assert f"{process}) " in script and f"run {config} {target}" in script
    module, _, cls = target.partition(":")
    if importlib.util.find_spec(module.rpartition(".")[0]) is None:
        pytest.skip(f"{module} is not in this tree yet")
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "*.yaml" in pyproject["tool"]["setuptools"]["package-data"]["*"]
    assert (ROOT / config).is_file()  # shipped as package data next to the module
    assert getattr(importlib.import_module(module), cls).name == process


def test_the_entrypoint_is_valid_shell_and_refuses_unknown_commands():
    subprocess.run(["sh", "-n", str(ENTRYPOINT)], check=True)
    env = {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "PYTHONPATH": str(ROOT)}
    result = subprocess.run(["sh", str(ENTRYPOINT), "frobnicate"], env=env, cwd=ROOT,
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 64
    assert "usage: registry|meetings|petitions|supervision|notify|gateway|migrate" in result.stderr


@pytest.fixture(scope="module")
def wheel_files(tmp_path_factory) -> tuple[set[str], str]:
    """Build the project's wheel as the Dockerfile's build stage does (non-editable)."""
    import shutil
    import zipfile

    source = tmp_path_factory.mktemp("source")
    for name in ("pyproject.toml", "constraints.txt"):
        shutil.copy(ROOT / name, source / name)
    for package in ("services", "gateway"):
        shutil.copytree(ROOT / package, source / package,
                        ignore=shutil.ignore_patterns("__pycache__", "*.sqlite*"))
    if (ROOT / "README.md").exists():
        shutil.copy(ROOT / "README.md", source / "README.md")
    out = tmp_path_factory.mktemp("wheel")
    result = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps",
                             "--no-build-isolation", "-q", "-w", str(out), str(source)],
                            capture_output=True, text=True, timeout=300, check=False)
    if result.returncode != 0 and ("No module named pip" in result.stderr
                                   or "invalid command 'bdist_wheel'" in result.stderr):
        pytest.skip("this virtualenv cannot build wheels offline: it needs pip and "
                    "setuptools>=70.1 (`pip install 'setuptools>=70.1,<82'`)")
    assert result.returncode == 0, result.stderr
    (wheel,) = out.glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        entry_points = next(archive.read(n).decode() for n in names
                            if n.endswith("entry_points.txt"))
    return names, entry_points


@pytest.mark.parametrize("process", sorted(PROCESSES))
def test_the_installed_package_holds_each_process_config_module_and_migrations(
        process, wheel_files):
    names, _ = wheel_files
    config, target = PROCESSES[process]
    module = target.partition(":")[0]
    if not (ROOT / config).exists():
        pytest.skip(f"{config} is not in this tree yet")
    assert config in names
    assert module.replace(".", "/") + ".py" in names
    home = config.rpartition("/")[0]
    assert f"{home}/migrations/env.py" in names
    assert any(n.startswith(f"{home}/migrations/versions/0001") for n in names)


def test_the_installed_package_has_the_operator_command(wheel_files):
    _, entry_points = wheel_files
    assert "yuelihui = services.cli:main" in entry_points
