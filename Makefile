# Shop assistant: a bilingual Rasa customer-service bot for online shops.
# `make help` lists the targets. Two environments:
#   .venv-bot      CPython 3.10 + Rasa 3.6 (the Rasa server)
#   .venv-actions  CPython 3.11 + rasa-sdk and the domain packages (the action server)

SHELL := /bin/bash
.DEFAULT_GOAL := help

ROOT := $(CURDIR)
BOT_VENV := .venv-bot
ACT_VENV := .venv-actions
BOT_PY := $(BOT_VENV)/bin/python
ACT_PY := $(ACT_VENV)/bin/python
STAMPS := .stamps

export SHOP_DATA_DIR ?= $(ROOT)/data
export PYTHONPATH := $(ROOT)
export RASA_TELEMETRY_ENABLED := false
export TF_CPP_MIN_LOG_LEVEL := 2
export PYTHONWARNINGS := ignore::DeprecationWarning
RASA_PORT ?= 5005
ACTIONS_PORT ?= 5055
# follows ACTIONS_PORT (`ACTIONS_PORT=7055 make run`: Rasa calls 7055) unless set itself
export ACTION_ENDPOINT_URL ?= http://127.0.0.1:$(ACTIONS_PORT)/webhook
export TRACKER_DIALECT ?= sqlite
export TRACKER_DB ?= $(SHOP_DATA_DIR)/rasa_tracker.db
export DEMO_SEED ?= 7
MODEL := models/shop-assistant.tar.gz

PY310 := $(shell for p in python3.10 $$(ls -d $$HOME/.pyenv/versions/3.10*/bin/python3.10 2>/dev/null) /usr/bin/python3.10 /usr/local/bin/python3.10; do $$p -c 'import sys; assert sys.version_info[:2]==(3,10)' >/dev/null 2>&1 && { command -v $$p || echo $$p; } && break; done)
PY311 := $(shell for p in python3.11 $$(ls -d $$HOME/.pyenv/versions/3.11*/bin/python3.11 2>/dev/null) /usr/bin/python3.11; do $$p -c 'import sys; assert sys.version_info[:2]==(3,11)' >/dev/null 2>&1 && { command -v $$p || echo $$p; } && break; done)

TRAIN_INPUTS := config.yml bot/domain.yml $(wildcard nlu_data/train/*.yml) \
	$(wildcard bot/components/*.py) $(wildcard bot/policies/*.py)
DATA_INPUTS := $(wildcard shop/*.py) $(wildcard knowledge_graph/*.py) $(wildcard recsys/*.py) \
	$(wildcard recsys/channels/*.py) scripts/train_recsys.py $(wildcard vision/*.py) \
	scripts/index_images.py \
	$(wildcard knowledge_graph/queries/*.rq) scripts/build_data.py shopctl/catalog_files.py shopctl/nlu_examples.py

.PHONY: help
help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z0-9_-]+:.*## / {printf "  \033[36m%-14s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

# --- environments -----------------------------------------------------------------------

# --no-compile: pip would byte-compile every module of TensorFlow, torch and the rest, most
# of which are never imported; Python compiles what is imported, once, on first use

$(STAMPS)/bot-venv: requirements/bot.txt requirements/bot.lock
	@test -n "$(PY310)" || { echo "error: CPython 3.10 is required for Rasa 3.6 but python3.10 was not found."; \
	  echo "  with pyenv:    pyenv install 3.10   (found automatically under ~/.pyenv/versions)"; \
	  echo "  with uv:       uv python install 3.10, then put it on PATH as python3.10"; \
	  echo "  Ubuntu:        sudo apt-get install python3.10 python3.10-venv (deadsnakes PPA on 24.04)"; \
	  echo "  then run make again."; exit 1; }
	@echo ">> bot environment ($(PY310))"
	test -x $(BOT_PY) || $(PY310) -m venv $(BOT_VENV)
	$(BOT_PY) -m pip install -q --upgrade pip==24.0
	$(BOT_PY) -m pip install -q --no-compile -r requirements/bot.txt -c requirements/bot.lock
	@mkdir -p $(STAMPS) && touch $@

$(STAMPS)/actions-venv: requirements/actions.txt requirements/actions.lock
	@test -n "$(PY311)" || { echo "error: CPython 3.11 is required for the action server but python3.11 was not found."; exit 1; }
	@echo ">> actions environment ($(PY311))"
	test -x $(ACT_PY) || $(PY311) -m venv $(ACT_VENV)
	$(ACT_PY) -m pip install -q --upgrade pip==24.0
	$(ACT_PY) -m pip install -q --no-compile -r requirements/actions.txt -c requirements/actions.lock
	@mkdir -p $(STAMPS) && touch $@

.PHONY: venv
venv: $(STAMPS)/bot-venv $(STAMPS)/actions-venv ## Create both virtual environments (idempotent)

# --- the web widget (front end) ---------------------------------------------------------

WIDGET_JS := widget/dist/widget.js

$(STAMPS)/widget-npm: widget/package.json widget/package-lock.json
	@command -v npm >/dev/null || { echo "error: Node.js 18+ and npm are needed to build the widget (apt-get install nodejs npm)"; exit 1; }
	cd widget && npm ci --no-audit --no-fund
	@mkdir -p $(STAMPS) && touch $@

$(WIDGET_JS): $(STAMPS)/widget-npm widget/build.mjs $(wildcard widget/src/*)
	cd widget && node build.mjs

.PHONY: widget
widget: $(WIDGET_JS) ## Build the web chat widget (widget/dist/widget.js, served by the Rasa server)

.PHONY: browser
browser: ## Debian's Chromium (and CJK fonts) for the browser tests (never `playwright install`)
	@test -x /usr/bin/chromium -a -d /usr/share/fonts/opentype/noto || { \
	  echo ">> installing Debian's chromium and fonts-noto-cjk"; \
	  (apt-get install -y chromium fonts-noto-cjk || \
	   (apt-get update && apt-get install -y chromium fonts-noto-cjk)) >/dev/null; }
	@/usr/bin/chromium --version

.PHONY: scaled-tools
scaled-tools: ## Debian's HAProxy, docker-compose and Prometheus (promtool) for scaled mode, its manifests' and alert rules' checks
	@test -x /usr/sbin/haproxy -a -x /usr/bin/docker-compose -a -x /usr/bin/promtool || { \
	  echo ">> installing Debian's haproxy, docker-compose and prometheus"; \
	  (apt-get install -y --no-install-recommends haproxy docker-compose prometheus || \
	   (apt-get update && apt-get install -y --no-install-recommends haproxy docker-compose \
	    prometheus)) >/dev/null; }
	@/usr/sbin/haproxy -v | head -1

# --- data and model ---------------------------------------------------------------------

$(SHOP_DATA_DIR)/.built: $(STAMPS)/actions-venv $(DATA_INPUTS)
	$(ACT_PY) -m scripts.build_data
	@touch $@

# a change to the pricing code republishes the price policy without rebuilding the shop
$(SHOP_DATA_DIR)/.pricing: $(SHOP_DATA_DIR)/.built $(wildcard pricing/*.py) scripts/train_pricing.py
	$(ACT_PY) -m scripts.train_pricing
	@touch $@

.PHONY: data
data: $(SHOP_DATA_DIR)/.built $(SHOP_DATA_DIR)/.pricing ## Generate the demo shop: SQL database, RDF graph, NLU lookup tables, models

SENTIMENT_MODEL := $(SHOP_DATA_DIR)/sentiment/zh.json

# the Chinese sentiment model (copied into the Rasa model); skipped, with a warning at
# training time, where DATASETS has no Chinese reviews
$(SENTIMENT_MODEL): $(STAMPS)/bot-venv scripts/train_sentiment.py
	@if [ -f "$(DATASETS)/zh-shopping-reviews/neg.txt" ]; then \
	  SHOP_DATA_DIR="$(SHOP_DATA_DIR)" $(BOT_PY) -m scripts.train_sentiment train --datasets "$(DATASETS)"; \
	else echo "warning: $(DATASETS)/zh-shopping-reviews not found: Chinese messages get no sentiment"; \
	  mkdir -p "$(dir $@)" && echo '{}' > "$@"; fi

.PHONY: sentiment
sentiment: $(SENTIMENT_MODEL) ## Train the Chinese sentiment model on the shopping reviews (DATASETS=path)

.PHONY: bench-sentiment
bench-sentiment: $(STAMPS)/bot-venv ## Sentiment scores on held-out reviews and labelled customer messages; chooses the "upset" thresholds (table + plot)
	SHOP_DATA_DIR="$(SHOP_DATA_DIR)" $(BOT_PY) -m scripts.train_sentiment bench --datasets "$(DATASETS)"

# trained again only when what it learns from changed: the shop's data rebuilt to the same
# catalog files (written only when they change) does not retrain it; Rasa's own cache
# (.rasa/cache) then retrains only the components whose inputs changed
$(MODEL): $(STAMPS)/bot-venv $(TRAIN_INPUTS) $(wildcard nlu_data/generated/*.yml) \
	  $(wildcard nlu_data/generated/jieba/*) $(SENTIMENT_MODEL) | $(SHOP_DATA_DIR)/.built
	@mkdir -p models
	$(BOT_VENV)/bin/rasa train $(TRAIN_FLAGS) --config config.yml --domain bot/domain.yml \
	  --data nlu_data/train nlu_data/generated --out models --fixed-model-name shop-assistant
	@touch $@

.PHONY: train
train: $(MODEL) ## Train the Rasa model (only when its inputs changed)

# --- importing a catalog ---------------------------------------------------------------

DATASETS ?= $(ROOT)/../shared/datasets

.PHONY: import
import: $(STAMPS)/actions-venv ## Import a catalog: make import FILE=catalog.csv MAPPING=mapping.yml
	@test -n "$(FILE)" -a -n "$(MAPPING)" || { echo "usage: make import FILE=... MAPPING=..."; exit 2; }
	$(ACT_PY) -m shopctl catalog import "$(FILE)" --mapping "$(MAPPING)"

.PHONY: import-online-retail
import-online-retail: $(STAMPS)/actions-venv ## Import the UCI Online Retail catalog (DATASETS=path) into SHOP_DATA_DIR
	$(ACT_PY) -m knowledge_graph derive-online-retail \
	  --input "$(DATASETS)/online-retail/online_retail.csv" --out "$(SHOP_DATA_DIR)/imports/online_retail.csv"
	$(ACT_PY) -m knowledge_graph import "$(SHOP_DATA_DIR)/imports/online_retail.csv" \
	  --mapping knowledge_graph/mappings/online_retail.yml

.PHONY: import-grocery-store
import-grocery-store: $(STAMPS)/actions-venv ## Import the Grocery Store catalog (DATASETS=path) into SHOP_DATA_DIR
	$(ACT_PY) -m knowledge_graph derive-grocery-store \
	  --input "$(DATASETS)/grocery-store/dataset" --out "$(SHOP_DATA_DIR)/imports/grocery_store.csv" \
	  --photos-out "$(SHOP_DATA_DIR)/imports/grocery_store_photos.csv"
	$(ACT_PY) -m knowledge_graph import "$(SHOP_DATA_DIR)/imports/grocery_store.csv" \
	  --mapping knowledge_graph/mappings/grocery_store.yml
	$(ACT_PY) -m scripts.index_images add --csv "$(SHOP_DATA_DIR)/imports/grocery_store_photos.csv"

.PHONY: index-images
index-images: $(STAMPS)/actions-venv ## Sync the photo index with the catalog's product photos (hot-reloaded)
	$(ACT_PY) -m scripts.index_images sync

.PHONY: tune-vision
tune-vision: $(STAMPS)/actions-venv ## Fine-tune the image network on the product photos, then re-index (~15 min per 2,700 photos)
	$(ACT_PY) -m scripts.index_images tune

# --- run --------------------------------------------------------------------------------

.PHONY: run
# (make run trains without Rasa's data validation, about 12 s: `make validate`, part of
# `make test`, runs it)
# what is independent is built side by side (the two environments; the shop's data as soon
# as its environment is ready, the widget, the sentiment model); the servers that need no
# model start while Rasa trains, and Rasa as soon as the model exists
run: ## Set up what is missing, then start the action server, Rasa and the demo shop page; Ctrl-C stops them
	@$(MAKE) --no-print-directory -j3 data widget $(SENTIMENT_MODEL)
	@RASA_PORT=$(RASA_PORT) ACTIONS_PORT=$(ACTIONS_PORT) MODEL=$(MODEL) DATASETS="$(DATASETS)" \
	  TRAIN="$(MAKE) --no-print-directory train TRAIN_FLAGS=--skip-validation" scripts/run_stack.sh

.PHONY: run-scaled
run-scaled: venv data train widget scaled-tools ## Scaled mode: RASA_SERVERS Rasa and ACTION_SERVERS action servers behind HAProxy on PostgreSQL, Redis, RabbitMQ; SCALED_HOSTS=1: each on its own host (docs/deployment.md)
	$(ACT_PY) -m scripts.run_scaled

.PHONY: manifests
manifests: $(STAMPS)/actions-venv ## Write scaled mode's docker-compose file and Kubernetes manifests (deploy/) from what make run-scaled runs
	$(ACT_PY) -m scripts.manifests

.PHONY: manifests-secrets
manifests-secrets: $(STAMPS)/actions-venv ## Fresh secrets for them: deploy/secrets/.env (docker-compose) and secret.yaml (Kubernetes)
	$(ACT_PY) -m scripts.manifests --secrets deploy/secrets

.PHONY: sign-customer
sign-customer: $(STAMPS)/actions-venv ## Sign a customer id for one conversation: make sign-customer CUSTOMER=C10001 SENDER=me [TTL=3600]
	@test -n "$(CUSTOMER)" -a -n "$(SENDER)" || { echo "usage: make sign-customer CUSTOMER=C10001 SENDER=<conversation id>"; exit 2; }
	@$(ACT_PY) -m scripts.local_secrets "$(SHOP_DATA_DIR)/secrets.env"
	@set -a; . "$(SHOP_DATA_DIR)/secrets.env"; set +a; \
	  $(if $(CUSTOMER_ID_SECRET),CUSTOMER_ID_SECRET="$(CUSTOMER_ID_SECRET)") \
	  $(ACT_PY) -m shopctl customer sign "$(CUSTOMER)" --sender "$(SENDER)" --ttl "$(or $(TTL),3600)"

.PHONY: desk-user
desk-user: $(STAMPS)/actions-venv ## Create a desk account: make desk-user USER_ID=ann NAME="Ann Lee" ROLE=agent|supervisor [CAPACITY=3] (password asked, or DESK_PASSWORD)
	@test -n "$(USER_ID)" || { echo "usage: make desk-user USER_ID=ann NAME=\"Ann Lee\" ROLE=agent"; exit 2; }
	@SHOP_DATA_DIR="$(SHOP_DATA_DIR)" $(ACT_PY) -m shopctl desk user add "$(USER_ID)" --name "$(or $(NAME),$(USER_ID))" \
	  --role "$(or $(ROLE),agent)" --capacity "$(or $(CAPACITY),3)"

.PHONY: link-customer
link-customer: venv ## Link a WeChat OpenID, Messenger PSID or WhatsApp wa_id to a customer: make link-customer CHANNEL=wechat|messenger|whatsapp ID=<id> CUSTOMER=C10001 (no CUSTOMER: unlink)
	@test -n "$(CHANNEL)" -a -n "$(ID)" || { echo "usage: make link-customer CHANNEL=wechat ID=<openid> CUSTOMER=C10001"; exit 2; }
	@SHOP_DATA_DIR="$(SHOP_DATA_DIR)" $(ACT_PY) -m shopctl customer link "$(CHANNEL)" "$(ID)" $(CUSTOMER)

.PHONY: customer-export
customer-export: $(STAMPS)/actions-venv ## Everything the shop holds about one customer, as one ZIP with a JSON index: make customer-export CUSTOMER=C10001 [OUT=file.zip]
	@test -n "$(CUSTOMER)" || { echo "usage: make customer-export CUSTOMER=C10001"; exit 2; }
	@SHOP_DATA_DIR="$(SHOP_DATA_DIR)" $(ACT_PY) -m shopctl customer export "$(CUSTOMER)" $(if $(OUT),--out "$(OUT)")

.PHONY: customer-forget
customer-forget: $(STAMPS)/actions-venv ## Erase or pseudonymise one customer in every store (asks first; YES=1 does not): make customer-forget CUSTOMER=C10001
	@test -n "$(CUSTOMER)" || { echo "usage: make customer-forget CUSTOMER=C10001"; exit 2; }
	@SHOP_DATA_DIR="$(SHOP_DATA_DIR)" $(ACT_PY) -m shopctl customer forget "$(CUSTOMER)" $(if $(YES),--yes)

.PHONY: purge
purge: $(STAMPS)/actions-venv ## Delete conversations, photos, transcripts and interaction logs older than RETENTION_DAYS (365); safe while the servers answer
	@SHOP_DATA_DIR="$(SHOP_DATA_DIR)" $(ACT_PY) -m shopctl purge $(if $(DAYS),--days "$(DAYS)")

.PHONY: explain
explain: $(STAMPS)/actions-venv ## The trail of a conversation's decisions (understanding, prices, recommendations, photo answers): make explain CONVERSATION=id [JSON=1]
	@test -n "$(CONVERSATION)" || { echo "usage: make explain CONVERSATION=<sender id>"; exit 2; }
	@$(ACT_PY) -m scripts.local_secrets "$(SHOP_DATA_DIR)/secrets.env"
	@set -a; . "$(SHOP_DATA_DIR)/secrets.env"; set +a; \
	  SHOP_DATA_DIR="$(SHOP_DATA_DIR)" $(ACT_PY) -m shopctl explain "$(CONVERSATION)" $(if $(JSON),--json)

.PHONY: desk-report
desk-report: $(STAMPS)/actions-venv ## Handoffs by reason and language, time to first agent reply, handback rate, CSAT (table + plots in reports/)
	SHOP_DATA_DIR="$(SHOP_DATA_DIR)" $(ACT_PY) -m scripts.desk_report

# --- quality ----------------------------------------------------------------------------

.PHONY: lint
lint: $(STAMPS)/actions-venv ## ruff and mypy
	$(ACT_VENV)/bin/ruff check .
	$(ACT_VENV)/bin/mypy

.PHONY: validate
validate: $(STAMPS)/bot-venv data ## rasa data validate (fails on errors and on unexpected warnings)
	@mkdir -p results
	set -o pipefail; $(BOT_VENV)/bin/rasa data validate --config config.yml --domain bot/domain.yml \
	  --data nlu_data/train nlu_data/generated 2>&1 | tee results/validate.log
	$(ACT_PY) -m scripts.check_validation results/validate.log

.PHONY: test-stories
test-stories: train ## Rasa conversation tests (test stories, both languages)
	$(BOT_VENV)/bin/rasa test core --model $(MODEL) --stories nlu_data/tests \
	  --fail-on-prediction-errors --out results/stories

.PHONY: test-unit
test-unit: venv data widget scaled-tools ## Unit tests (both environments, the widget's and the desk's front ends), no servers
	cd widget && node --test test/
	node --test desk/test/
	$(ACT_VENV)/bin/pytest -m "not e2e" tests --ignore=tests/bot
	$(BOT_VENV)/bin/pytest --confcutdir=tests/bot -p no:cacheprovider tests/bot
	$(BOT_VENV)/bin/pytest --confcutdir=tests/handoff -p no:cacheprovider tests/handoff

.PHONY: test-e2e
test-e2e: venv data train widget browser scaled-tools ## End-to-end tests against real Rasa and action servers (browser tests in Chromium)
	$(ACT_VENV)/bin/pytest -m e2e tests --ignore=tests/bot

.PHONY: test
test: lint test-unit validate test-stories test-e2e ## Everything CI runs

# --- benchmarks -------------------------------------------------------------------------

.PHONY: mutation
mutation: $(STAMPS)/actions-venv $(STAMPS)/bot-venv ## Mutation testing (mutmut) of the modules that guard customers and money: reports/mutation.md, fails under 90 % killed
	$(ACT_PY) -m pip install -q -r requirements/mutation-actions.txt -c requirements/actions.lock
	$(BOT_PY) -m pip install -q -r requirements/mutation-bot.txt -c requirements/bot.lock
	$(ACT_PY) -m scripts.mutation $(if $(ONLY),--only $(ONLY))

.PHONY: fuzz
fuzz: venv data train widget ## Every public route of every server fuzzed from docs/openapi/ with schemathesis, longer than make test (EXAMPLES=200 per route): reports/fuzz.md
	$(ACT_PY) -m scripts.fuzz --examples "$(or $(EXAMPLES),200)" --out reports

.PHONY: fuzz-parsers
fuzz-parsers: venv ## Coverage-guided fuzzing (atheris) of the parsers of strangers' bytes, SECONDS per target (60); grows fuzz/corpus/, replayed by make test
	$(ACT_PY) -m pip install -q -r requirements/fuzz-actions.txt -c requirements/actions.lock
	$(BOT_PY) -m pip install -q -r requirements/fuzz-bot.txt -c requirements/bot.lock
	$(ACT_PY) -m fuzz.run actions --seconds "$(or $(SECONDS),60)"
	$(BOT_PY) -m fuzz.run bot --seconds "$(or $(SECONDS),60)"

.PHONY: eval-conversations
eval-conversations: venv data train ## Whole conversations (evaluation/conversations, or SUITE=path) against the real servers: pass rates per capability and language (table + plot in reports/)
	$(ACT_PY) -m scripts.eval_conversations $(if $(SUITE),--suite $(SUITE))

.PHONY: bench-chat
bench-chat: venv data train ## Latency of plain vs graph-backed turns over REST (table + plot in reports/)
	$(ACT_PY) -m scripts.bench_chat --out reports

.PHONY: bench-widget
bench-widget: venv data train widget browser ## Widget in Chromium: bundle size, time to ready, turn round trips vs REST, push latency (table + plot in reports/)
	$(ACT_PY) -m scripts.bench_widget --out reports

.PHONY: bench-desk
bench-desk: venv data train widget browser ## Handoff latency in Chromium: agent -> open widget, customer -> open desk, p50/p95 (table + plot)
	$(ACT_PY) -m scripts.bench_desk

.PHONY: bench-wechat
bench-wechat: venv data train ## WeChat's 5-second rule against a fake WeChat platform: passive-reply share, delivery p50/p95 at 1 and 20 customers (table + plot); SATURATE=2 with both cores kept busy, SCALED=1 on scaled mode
	$(ACT_PY) -m scripts.bench_wechat $(if $(SATURATE),--saturate $(SATURATE)) $(if $(SCALED),--scaled)

LOAD_VENV := .venv-load

$(STAMPS)/load-venv: requirements/load.txt requirements/load.lock
	@test -n "$(PY311)" || { echo "error: CPython 3.11 is required for Locust's environment"; exit 1; }
	test -x $(LOAD_VENV)/bin/python || $(PY311) -m venv $(LOAD_VENV)
	$(LOAD_VENV)/bin/python -m pip install -q --upgrade pip==24.0
	$(LOAD_VENV)/bin/python -m pip install -q -r requirements/load.txt -c requirements/load.lock
	@mkdir -p $(STAMPS) && touch $@

.PHONY: bench-load
bench-load: venv data train widget scaled-tools $(STAMPS)/load-venv ## Locust: shopping conversations (EN+ZH, REST and the widget's socket) against one process of each kind and scaled mode, kill -9 under load, 1-2-3 Rasa servers; integrity of every conversation and its control on the in-memory lock store (tables + plot); USERS="5 20 40" LOAD_SECONDS=60 SCALING="1 2 3"
	$(ACT_PY) -m scripts.bench_load $(if $(USERS),--users $(USERS)) $(if $(LOAD_SECONDS),--seconds $(LOAD_SECONDS)) $(if $(SCALING),--scaling $(SCALING))

.PHONY: chaos
chaos: venv data train widget scaled-tools ## Scaled mode with the graph server, Redis, RabbitMQ, PostgreSQL cut and servers killed, one at a time: answer times, fallbacks, recovery (table + plot)
	$(ACT_PY) -m scripts.chaos

.PHONY: bench-messenger
bench-messenger: venv data train ## Messenger against a fake Graph API: webhook acknowledgement and answer p50/p95 at 1 and 20 customers (table + plot); SATURATE=2 with both cores busy, SCALED=1 on scaled mode
	$(ACT_PY) -m scripts.bench_messenger $(if $(SATURATE),--saturate $(SATURATE)) $(if $(SCALED),--scaled)

.PHONY: bench-whatsapp
bench-whatsapp: venv data train ## WhatsApp against a fake Cloud API: webhook acknowledgement and answer p50/p95 at 1 and 20 customers (table + plot)
	$(ACT_PY) -m scripts.bench_whatsapp

.PHONY: bench-nlu
bench-nlu: $(STAMPS)/bot-venv ## Train the NLU pipeline on Banking77 + CLINC150 (DATASETS=path) and score it (table + plot)
	$(BOT_PY) -m scripts.bench_nlu --datasets "$(DATASETS)" --out reports

.PHONY: eval-nlu
eval-nlu: train ## Score the assistant's NLU on its held-out test sets (rasa test nlu, both languages)
	$(BOT_PY) -m scripts.eval_nlu --model $(MODEL) --out reports

KG_PRODUCTS ?= 100000

.PHONY: bench-kg
bench-kg: $(STAMPS)/actions-venv ## Import KG_PRODUCTS (100k) products, time every query on every graph back end (table + plot)
	$(ACT_PY) -m scripts.bench_kg --products $(KG_PRODUCTS) --out reports

.PHONY: demo-embeddings
demo-embeddings: $(SHOP_DATA_DIR)/.built ## Rewrite the demo catalog's product-text embeddings shipped in shop/ (after changing the demo generator)
	$(ACT_PY) -m scripts.train_recsys --write-demo-seed

.PHONY: train-recsys
train-recsys: $(STAMPS)/actions-venv ## Retrain the recommender from the shop database; the action server hot-reloads it
	$(ACT_PY) -m scripts.train_recsys

.PHONY: recsys-report
recsys-report: $(STAMPS)/actions-venv ## Per-variant click-through and conversion of the recommendation experiment
	$(ACT_PY) -m scripts.recsys_report --out reports

.PHONY: train-pricing
train-pricing: $(STAMPS)/actions-venv ## Retrain the price policy from logged quotes and orders; the action server hot-reloads it
	$(ACT_PY) -m scripts.train_pricing

.PHONY: pricing-audit
pricing-audit: $(STAMPS)/actions-venv ## Every price decision of a conversation: make pricing-audit CONVERSATION=id
	@test -n "$(CONVERSATION)" || { echo "usage: make pricing-audit CONVERSATION=<sender id>"; exit 2; }
	$(ACT_PY) -m shopctl pricing audit "$(CONVERSATION)"

.PHONY: pricing-segments
pricing-segments: $(STAMPS)/actions-venv ## RFM segments of the shop's customers and this period's coupon allocation
	$(ACT_PY) -m shopctl pricing segments

.PHONY: import-competitor-prices
import-competitor-prices: $(STAMPS)/actions-venv ## Record competitor prices (CSV: sku,price[,currency,source,seen_at]): make import-competitor-prices FILE=...
	@test -n "$(FILE)" || { echo "usage: make import-competitor-prices FILE=prices.csv"; exit 2; }
	$(ACT_PY) -m shopctl pricing competitors "$(FILE)"

.PHONY: redeem-coupon
redeem-coupon: $(STAMPS)/actions-venv ## Redeem a coupon once: make redeem-coupon CODE=SAVE-... ORDER=SH-... [CUSTOMER=C...]
	@test -n "$(CODE)" -a -n "$(ORDER)" || { echo "usage: make redeem-coupon CODE=... ORDER=..."; exit 2; }
	$(ACT_PY) -m shopctl pricing redeem "$(CODE)" --order "$(ORDER)" $(if $(CUSTOMER),--customer "$(CUSTOMER)")

.PHONY: bench-pricing
bench-pricing: $(STAMPS)/actions-venv ## Price policies on a demand simulator fitted to Online Retail (DATASETS=path): table + plots
	OPENBLAS_NUM_THREADS=1 $(ACT_PY) -m scripts.bench_pricing --datasets "$(DATASETS)" --out reports

.PHONY: bench-recsys
bench-recsys: $(STAMPS)/actions-venv ## Recommender on Online Retail + MovieLens-100K (DATASETS=path): table + plots
	OPENBLAS_NUM_THREADS=1 $(ACT_PY) -m scripts.bench_recsys --datasets "$(DATASETS)" --out reports

.PHONY: bench-vision
bench-vision: $(STAMPS)/actions-venv ## Photo lookup on the Grocery Store dataset, products not sold included (DATASETS=path, VISION_MODEL=lite0|lite2): tables + plots
	$(ACT_PY) -m scripts.bench_vision --datasets "$(DATASETS)" --out reports --model "$(or $(VISION_MODEL),lite0)"

.PHONY: clean
clean: ## Remove generated data, models and test results (keeps the environments)
	rm -rf data models results reports/*.png reports/*.json nlu_data/generated .pytest_cache
