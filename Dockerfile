# The clever-stream command in a container. No Java here: the image always talks to a Kafka
# named by KAFKA_BOOTSTRAP_SERVERS (the compose file's `kafka` service); the local broker that
# `make demo` provisions from Maven Central is for running without Docker.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# The runtime dependencies only (no dev extra); every one ships a wheel, so no compiler is needed.
COPY . /tmp/clever-stream
RUN pip install /tmp/clever-stream && rm -rf /tmp/clever-stream

RUN useradd --create-home --uid 10001 --user-group clever
USER clever
WORKDIR /home/clever

ENTRYPOINT ["clever-stream"]
CMD ["--help"]
