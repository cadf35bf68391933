# The action server's image (CPython 3.11, torch CPU): the action servers, the graph
# server (the `oxigraph` program from PyPI), the desk, the demo shop and the one-off
# set-up job of scaled mode's docker-compose file and Kubernetes manifests
# (deploy/compose/, deploy/kubernetes/; docs/deployment.md).
#
#   make widget && docker build -f deploy/actions.Dockerfile -t shop-assistant-actions:1.0 .
#
# The widget's script (widget/dist/widget.js) is built on the host by `make widget`
# (npm ci from the committed lockfile) and copied in.
FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    PYTHONPATH=/app HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
WORKDIR /app
COPY requirements/actions.txt requirements/actions.lock requirements/
# torch's CPU build first: from PyPI, `torch` alone is a CUDA build of several GB
RUN pip install --index-url https://download.pytorch.org/whl/cpu torch==2.13.0 \
 && pip install -r requirements/actions.txt -c requirements/actions.lock
COPY . .
RUN test -f widget/dist/widget.js || { echo "run make widget before building" >&2; exit 1; } \
 && useradd --uid 10001 --home-dir /home/shop --create-home shop && mkdir -p /data && chown shop /data
USER 10001
EXPOSE 5055 8002 8003 7878
CMD ["python", "-m", "actions.server", "--port", "5055"]
