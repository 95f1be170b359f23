#include "CRabbitMQ.h"

amqp_rpc_reply_t bookrec_amqp_login(amqp_connection_state_t state, const char *vhost,
                                    int channel_max, int frame_max, int heartbeat,
                                    const char *user, const char *password) {
    // authentication_failure_close: a wrong user or password is answered with connection.close
    // 403 ACCESS_REFUSED (a refusal, reported at once) instead of a dropped socket, which would
    // look like a broker that is down and be retried forever.
    amqp_table_entry_t capabilities[4];
    capabilities[0].key = amqp_cstring_bytes("connection.blocked");
    capabilities[0].value.kind = AMQP_FIELD_KIND_BOOLEAN;
    capabilities[0].value.value.boolean = 1;
    capabilities[1].key = amqp_cstring_bytes("publisher_confirms");
    capabilities[1].value.kind = AMQP_FIELD_KIND_BOOLEAN;
    capabilities[1].value.value.boolean = 1;
    capabilities[2].key = amqp_cstring_bytes("consumer_cancel_notify");
    capabilities[2].value.kind = AMQP_FIELD_KIND_BOOLEAN;
    capabilities[2].value.value.boolean = 1;
    capabilities[3].key = amqp_cstring_bytes("authentication_failure_close");
    capabilities[3].value.kind = AMQP_FIELD_KIND_BOOLEAN;
    capabilities[3].value.value.boolean = 1;

    amqp_table_entry_t properties[2];
    properties[0].key = amqp_cstring_bytes("capabilities");
    properties[0].value.kind = AMQP_FIELD_KIND_TABLE;
    properties[0].value.value.table.num_entries = 4;
    properties[0].value.value.table.entries = capabilities;
    properties[1].key = amqp_cstring_bytes("product");
    properties[1].value.kind = AMQP_FIELD_KIND_UTF8;
    properties[1].value.value.bytes = amqp_cstring_bytes("bookrec");

    amqp_table_t table = {2, properties};
    return amqp_login_with_properties(state, vhost, channel_max, frame_max, heartbeat, &table,
                                      AMQP_SASL_METHOD_PLAIN, user, password);
}
