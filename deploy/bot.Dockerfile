# The Rasa server's image (CPython 3.10, rasa 3.6) with the trained model, for scaled
# mode's docker-compose file and Kubernetes manifests (docs/deployment.md).
#
#   make train && docker build -f deploy/bot.Dockerfile -t shop-assistant-bot:1.0 .
FROM python:3.10-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    PYTHONPATH=/app RASA_TELEMETRY_ENABLED=false RASA_CACHE_DIRECTORY=/tmp/rasa-cache
WORKDIR /app
COPY requirements/bot.txt requirements/bot.lock requirements/
RUN pip install -r requirements/bot.txt -c requirements/bot.lock
COPY . .
# fails the build when the model is missing (make train)
COPY models/shop-assistant.tar.gz models/shop-assistant.tar.gz
RUN useradd --uid 10001 --home-dir /home/shop --create-home shop && mkdir -p /data \
 && chown shop /data
USER 10001
EXPOSE 5005
CMD ["rasa", "run", "--model", "models/shop-assistant.tar.gz", "--interface", "0.0.0.0", \
     "--port", "5005", "--credentials", "bot/credentials.yml", \
     "--endpoints", "bot/endpoints-scaled.yml"]
