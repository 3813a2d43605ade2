/*
 * ms_redis – signing in to Redis (AUTH) for the daemons and minisocctl.
 *
 * A Redis on loopback is reachable by every local user: without a password
 * any of them could make enrolment tokens or delete alerts. With
 * requirepass (or an ACL user) each connection sends AUTH first.
 */
#ifndef MS_REDIS_H
#define MS_REDIS_H

#include <stddef.h>

#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#define MS_REDIS_PASSWORD_MAX 512

/*
 * Reads the password from the first line of file (redis.password_file):
 * trailing CR, LF and blanks dropped; an empty line is an error. file
 * empty: no password, out = "". 0, or -1 with the reason in err (which
 * never holds the password).
 */
int ms_redis_password_load(const char *file, char *out, size_t outsz, char *err, size_t errsz);

/*
 * Queues AUTH [user] password on a new context, before any other command
 * (hiredis sends commands in order, and this one goes once connected). A
 * refusal is logged (event=redis_auth_failed prog_what=who) and the
 * connection closed, so the caller's disconnect callback retries later.
 * No password: nothing. 0, or -1 when the command could not be queued.
 */
int ms_redis_auth_async(redisAsyncContext *ac, const char *user, const char *password);

/*
 * The same on a blocking context. For minisocctl: the password comes from
 * the environment's REDISCLI_AUTH (as for redis-cli) and the ACL user from
 * MINISOC_REDIS_USER. No password: a PING, so that a Redis that wants one
 * is said clearly. 0, or -1 with the reason in err.
 */
int ms_redis_auth_env(redisContext *rc, char *err, size_t errsz);

#endif
