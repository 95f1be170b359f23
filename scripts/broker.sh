#!/usr/bin/env bash
# A private RabbitMQ broker whose data and logs stay in .run/rabbitmq-PORT. It listens on
# BOOKREC_BROKER_LISTEN (default 127.0.0.1); its Erlang distribution stays on loopback.
# usage: scripts/broker.sh start|stop|status
# The port is BOOKREC_BROKER_PORT (default 5672); the Erlang distribution port is 20000 above it.
# With BOOKREC_BROKER_TLS_DIR (holding ca.pem, server.pem and server.key) it listens for amqps
# on BOOKREC_BROKER_TLS_PORT (default 1000 above the port) too.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
port="${BOOKREC_BROKER_PORT:-5672}"
base="$root/.run/rabbitmq-$port"
node="bookrec$port@localhost"
# The Debian wrappers in /usr/sbin switch to the rabbitmq user; these run as the caller.
bin=/usr/lib/rabbitmq/bin

export HOME="$base/home"
export RABBITMQ_NODENAME="$node"
listen="${BOOKREC_BROKER_LISTEN:-127.0.0.1}"
export RABBITMQ_NODE_IP_ADDRESS="$listen"
export RABBITMQ_NODE_PORT="$port"
export RABBITMQ_DIST_PORT="$((port + 20000))"
export RABBITMQ_MNESIA_BASE="$base/mnesia"
export RABBITMQ_LOG_BASE="$base/log"
export RABBITMQ_PID_FILE="$base/rabbitmq.pid"
export RABBITMQ_ENABLED_PLUGINS_FILE="$base/enabled_plugins"
export RABBITMQ_CONFIG_FILE="$base/rabbitmq"
export ERL_EPMD_ADDRESS=127.0.0.1
export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"

case "${1:-}" in
start)
    if "$bin/rabbitmqctl" -n "$node" -q status >/dev/null 2>&1; then
        echo "broker $node already running on $listen:$port"
        exit 0
    fi
    mkdir -p "$HOME" "$RABBITMQ_MNESIA_BASE" "$RABBITMQ_LOG_BASE"
    echo "[]." > "$RABBITMQ_ENABLED_PLUGINS_FILE"
    # Lenient disk alarm so that a nearly full development disk does not block publishers.
    printf 'disk_free_limit.absolute = 50MB\nloopback_users = none\n' > "$RABBITMQ_CONFIG_FILE.conf"
    if [[ -n "${BOOKREC_BROKER_TLS_DIR:-}" ]]; then
        cat >>"$RABBITMQ_CONFIG_FILE.conf" <<EOF
listeners.ssl.default = ${BOOKREC_BROKER_TLS_PORT:-$((port + 1000))}
ssl_options.cacertfile = $BOOKREC_BROKER_TLS_DIR/ca.pem
ssl_options.certfile = $BOOKREC_BROKER_TLS_DIR/server.pem
ssl_options.keyfile = $BOOKREC_BROKER_TLS_DIR/server.key
ssl_options.verify = verify_none
ssl_options.fail_if_no_peer_cert = false
EOF
    fi
    "$bin/rabbitmq-server" -detached >"$base/start.log" 2>&1
    if ! timeout 60 "$bin/rabbitmqctl" -n "$node" -q wait "$RABBITMQ_PID_FILE" >/dev/null 2>&1; then
        echo "broker failed to start; see $RABBITMQ_LOG_BASE" >&2
        tail -n 20 "$RABBITMQ_LOG_BASE"/*.log >&2 || true
        exit 1
    fi
    echo "broker $node running on $listen:$port${BOOKREC_BROKER_TLS_DIR:+ (amqps on ${BOOKREC_BROKER_TLS_PORT:-$((port + 1000))})}"
    ;;
stop)
    if "$bin/rabbitmqctl" -n "$node" -q status >/dev/null 2>&1; then
        "$bin/rabbitmqctl" -n "$node" -q stop "$RABBITMQ_PID_FILE" >/dev/null 2>&1 || true
    fi
    # epmd outlives the node; stop it too unless another Erlang node still uses it.
    if ! epmd -names 2>/dev/null | grep -q "^name "; then epmd -kill >/dev/null 2>&1 || true; fi
    ;;
status)
    "$bin/rabbitmqctl" -n "$node" -q status >/dev/null 2>&1 && echo running || { echo stopped; exit 1; }
    ;;
*)
    echo "usage: $0 start|stop|status" >&2
    exit 2
    ;;
esac
