# syntax=docker/dockerfile:1
# One image for every Yuelihui process; the command chooses which:
#   docker run IMAGE registry|meetings|petitions|supervision|notify|gateway
#   docker run IMAGE migrate          (yuelihui migrate + yuelihui declare, then exits)
#   docker run IMAGE yuelihui ARGS    (any operator command)
# The base is pinned to a full version tag; pin its digest too in your registry mirror
# (`docker buildx imagetools inspect python:3.11.14-slim-bookworm`).
ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm

# --- build: resolve and install into a virtualenv, from the lock file only ----------------
FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
RUN python -m venv /opt/yuelihui \
 && /opt/yuelihui/bin/pip install 'pip>=24' 'setuptools>=69,<82'
COPY pyproject.toml constraints.txt ./
COPY services ./services
COPY gateway ./gateway
# constraints.txt is the lock: every package at its pinned version (PIP_CONSTRAINT also binds
# the build backend); the final check refuses any installed distribution the lock does not pin
ENV PIP_CONSTRAINT=/src/constraints.txt
RUN /opt/yuelihui/bin/pip install --no-build-isolation --constraint constraints.txt . \
 && /opt/yuelihui/bin/pip check \
 && /opt/yuelihui/bin/python - <<'PY'
import importlib.metadata as m, pathlib, re
norm = lambda n: re.sub(r"[-_.]+", "-", n).lower()
lock = {norm(l.split("==")[0]) for l in pathlib.Path("constraints.txt").read_text().split()
        if "==" in l}
tools = {"pip", "setuptools", "wheel", "yuelihui"}
loose = sorted({norm(d.metadata["Name"]) for d in m.distributions()} - lock - tools)
if loose:
    raise SystemExit(f"not pinned in constraints.txt: {loose}")
PY

# --- runtime: the virtualenv and nothing else; no compiler, no pip cache, not root -----------
FROM ${PYTHON_IMAGE} AS runtime
LABEL org.opencontainers.image.title="yuelihui" \
      org.opencontainers.image.description="月例会: village affairs consultation and supervision" \
      org.opencontainers.image.licenses="Apache-2.0"
ENV PATH=/opt/yuelihui/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    YLH_EVENT_QUEUE_TYPE=quorum
RUN groupadd --system --gid 10001 yuelihui \
 && useradd --system --uid 10001 --gid yuelihui --home-dir /home/yuelihui --create-home \
        --shell /usr/sbin/nologin yuelihui
COPY --from=build /opt/yuelihui /opt/yuelihui
COPY --chmod=0755 deploy/docker/entrypoint.sh /usr/local/bin/yuelihui-entrypoint
USER 10001:10001
WORKDIR /home/yuelihui
EXPOSE 8000 8001 8002 8003 8004 8005
ENTRYPOINT ["/usr/local/bin/yuelihui-entrypoint"]
CMD ["gateway"]
