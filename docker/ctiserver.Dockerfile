# The CTI server and the FastAGI IVR (same image, two commands; see docker-compose.yml).
# Runs from the source tree in /app: the panel (agent_web/) and asterisk_conf/ are found
# beside the package, as in a checkout.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app

COPY pyproject.toml ./
COPY ctiserver/ ctiserver/
COPY ivr/ ivr/
COPY pbxsim/ pbxsim/
COPY agent_web/ agent_web/
COPY asterisk_conf/ asterisk_conf/
# installs the dependencies (and a copy of the packages; the tree in /app is what runs)
RUN pip install . && rm -rf build *.egg-info

RUN useradd --system --home-dir /app --shell /usr/sbin/nologin cti \
    && mkdir -p /app/.run && chown cti /app/.run
USER cti
# the write-ahead journal for PostgreSQL outages lives here: keep it on a volume
VOLUME ["/app/.run"]

CMD ["python", "-m", "ctiserver"]
