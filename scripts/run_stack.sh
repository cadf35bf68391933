#!/usr/bin/env bash
# Start the action server and the Rasa server, wait until both answer, print how
# to chat, and stop both cleanly on Ctrl-C. Used by `make run`.
set -euo pipefail
cd "$(dirname "$0")/.."
RASA_PORT=${RASA_PORT:-5005}
ACTIONS_PORT=${ACTIONS_PORT:-5055}
export STOREFRONT_PORT=${STOREFRONT_PORT:-8080}
export DESK_PORT=${DESK_PORT:-8090}
# the Rasa server tells the agent desk at once of customer messages to a person
export DESK_URL=${DESK_URL:-http://127.0.0.1:$DESK_PORT}
export RASA_PORT
# the demo page's origin may use the widget (a shop lists its own in WIDGET_ORIGINS)
export WIDGET_ORIGINS=${WIDGET_ORIGINS:-http://127.0.0.1:$STOREFRONT_PORT,http://localhost:$STOREFRONT_PORT}
# catalog photos on disk reach chat cards through the demo page's image route
export PRODUCT_IMAGE_URL=${PRODUCT_IMAGE_URL:-http://127.0.0.1:$STOREFRONT_PORT/images/\{sku\}}
MODEL=${MODEL:-models/shop-assistant.tar.gz}
LOG_DIR=${SHOP_DATA_DIR:-data}/logs
mkdir -p "$LOG_DIR"
export ACTION_ENDPOINT_URL=${ACTION_ENDPOINT_URL:-http://127.0.0.1:${ACTIONS_PORT}/webhook}

# secrets: the environment's, else the demo's local ones (made once, mode 600)
SECRETS=${SHOP_DATA_DIR:-data}/secrets.env
.venv-actions/bin/python -m scripts.local_secrets "$SECRETS"
while IFS='=' read -r name value; do
  case "$name" in ''|\#*) continue ;; esac
  [ -n "${!name:-}" ] || export "$name=$value"
done <"$SECRETS"

# Rasa's HTTP API only with a token, and only on the loopback listener RASA_API_PORT
api_args=()
if [ -n "${RASA_API_TOKEN:-}" ]; then
  api_args=(--enable-api --auth-token "$RASA_API_TOKEN")
  export RASA_API_PORT=${RASA_API_PORT:-$((RASA_PORT + 1))}
fi
cors_args=()
if [ -n "${RASA_CORS_ORIGINS:-}" ]; then
  read -r -a origins <<<"${RASA_CORS_ORIGINS//,/ }"
  cors_args=(--cors "${origins[@]}")
fi

# refuse to start on invalid configuration, with the reason
.venv-bot/bin/python -c '
import sys
from bot.settings import SettingsError, load_settings
try:
    load_settings()
except SettingsError as exc:
    sys.exit(f"configuration error: {exc}")' || exit 1
.venv-actions/bin/python - <<'PY' || exit 1
import sys
from actions.settings import SettingsError, load_settings
try:
    load_settings()
except SettingsError as exc:
    sys.exit(f"configuration error: {exc}")
PY

pids=()
stop() {
  trap - INT TERM EXIT
  echo
  echo "stopping..."
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  echo "stopped."
}
trap 'stop; exit 0' INT TERM
trap stop EXIT

.venv-actions/bin/python -m actions.server --port "$ACTIONS_PORT" \
  >"$LOG_DIR/actions.log" 2>&1 &
pids+=($!)
.venv-actions/bin/python -m storefront --port "$STOREFRONT_PORT" \
  >"$LOG_DIR/storefront.log" 2>&1 &
pids+=($!)
.venv-actions/bin/python -m desk --port "$DESK_PORT" >"$LOG_DIR/desk.log" 2>&1 &
pids+=($!)
# the model: trained now if it is missing or stale (TRAIN, from make run), while the
# servers above start; Rasa starts as soon as it exists
if [ -n "${TRAIN:-}" ]; then
  echo "training the assistant where its inputs changed (the other servers are starting)..."
  $TRAIN || exit 1
fi
.venv-bot/bin/rasa run --model "$MODEL" "${api_args[@]}" "${cors_args[@]}" \
  --interface "${RASA_INTERFACE:-127.0.0.1}" --port "$RASA_PORT" \
  --credentials bot/credentials.yml --endpoints bot/endpoints.yml \
  >"$LOG_DIR/rasa.log" 2>&1 &
pids+=($!)

wait_for() {  # url name seconds
  for _ in $(seq 1 "$3"); do
    if curl -fsS "$1" >/dev/null 2>&1; then return 0; fi
    for pid in "${pids[@]}"; do
      kill -0 "$pid" 2>/dev/null || { echo "$2 exited; see $LOG_DIR"; tail -20 "$LOG_DIR"/*.log; exit 1; }
    done
    sleep 1
  done
  echo "$2 did not answer within $3 s; see $LOG_DIR"; exit 1
}
echo "starting the action server (:$ACTIONS_PORT) and Rasa (:$RASA_PORT)..."
wait_for "http://127.0.0.1:$ACTIONS_PORT/health" "action server" 60
wait_for "http://127.0.0.1:$RASA_PORT/webhooks/rest/" "Rasa server" 180
wait_for "http://127.0.0.1:$STOREFRONT_PORT/health" "demo shop page" 60
wait_for "http://127.0.0.1:$DESK_PORT/desk/health" "agent desk" 60

cat <<MSG

The shop assistant is running.
  Open:      http://127.0.0.1:$STOREFRONT_PORT/   (the demo shop; chat bottom right, English or 中文)
             http://127.0.0.1:$STOREFRONT_PORT/?lang=zh
  Widget:    <script src="http://127.0.0.1:$RASA_PORT/webhooks/widget/widget.js" defer></script>
  REST API:  http://127.0.0.1:$RASA_PORT/webhooks/rest/webhook
  Try:       curl -s -XPOST http://127.0.0.1:$RASA_PORT/webhooks/rest/webhook \\
               -H 'Content-Type: application/json' \\
               -d '{"sender": "me", "message": "red running shoes under 80 dollars"}'
             (or in Chinese: "有没有2000元以下的华为手机")
  Agents:    http://127.0.0.1:$DESK_PORT/desk/   (the agent desk; create an account first:
               make desk-user USER_ID=ann NAME="Ann Lee" ROLE=agent)
  Orders:    chat as a known customer with an id signed for the conversation:
               make sign-customer CUSTOMER=C10001 SENDER=me   (prints the metadata to add)
  Secrets:   $SECRETS (demo only; a shop sets its own, see docs/security.md)
  Logs:      $LOG_DIR/rasa.log, $LOG_DIR/actions.log, $LOG_DIR/storefront.log, $LOG_DIR/desk.log
Press Ctrl-C to stop.
MSG
wait -n "${pids[@]}"
echo "a server exited; see $LOG_DIR"
