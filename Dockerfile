# kgbuild's command line in a container (used by docker-compose.yml's `kgbuild` service).
#   docker build -t kgbuild .            CPU-only torch (small image)
#   docker build --build-arg TORCH_INDEX=https://pypi.org/simple -t kgbuild .   PyPI's default (CUDA) torch
FROM python:3.12-slim

ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1

WORKDIR /app
# torch first, from the chosen index, so that installing kgbuild below does not pull another build
RUN pip install --index-url "${TORCH_INDEX}" torch
COPY pyproject.toml README.md ./
COPY kgbuild ./kgbuild
COPY schemas ./schemas
COPY examples ./examples
RUN pip install . && kgbuild --version

RUN useradd --create-home --uid 1000 kgbuild && mkdir -p /state && chown kgbuild /state
USER kgbuild
WORKDIR /state
CMD ["kgbuild", "--help"]
