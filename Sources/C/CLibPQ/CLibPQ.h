#ifndef BOOKREC_CLIBPQ_H
#define BOOKREC_CLIBPQ_H
// libpq from Debian's libpq-dev: PostgreSQL's own client library.
#include <postgresql/libpq-fe.h>
#endif
