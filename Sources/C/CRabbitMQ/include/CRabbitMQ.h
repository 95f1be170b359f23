#ifndef BOOKREC_CRABBITMQ_H
#define BOOKREC_CRABBITMQ_H
#include <amqp.h>
#include <amqp_framing.h>
#include <amqp_tcp_socket.h>
#include <amqp_ssl_socket.h>

/// `amqp_login_with_properties` is variadic, which Swift cannot call; this fixes the SASL
/// method to PLAIN and advertises the client capabilities bookrec relies on
/// (`connection.blocked`, `publisher_confirms`, `consumer_cancel_notify`).
amqp_rpc_reply_t bookrec_amqp_login(amqp_connection_state_t state, const char *vhost,
                                    int channel_max, int frame_max, int heartbeat,
                                    const char *user, const char *password);
#endif
