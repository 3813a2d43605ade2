#include "ms_redis.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "ms_log.h"
#include "ms_util.h"

int
ms_redis_password_load(const char *file, char *out, size_t outsz, char *err, size_t errsz)
{
	FILE *f;
	size_t n;

	out[0] = '\0';
	if (file == NULL || file[0] == '\0')
		return 0;
	if ((f = fopen(file, "re")) == NULL) {
		snprintf(err, errsz, "redis.password_file %.900s: %s", file, strerror(errno));
		return -1;
	}
	ms_secret_mode_check(file, fileno(f), "redis password");
	if (fgets(out, (int)outsz, f) == NULL)
		out[0] = '\0';
	fclose(f);
	n = strlen(out);
	while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == '\r' || out[n - 1] == ' ' ||
	    out[n - 1] == '\t'))
		out[--n] = '\0';
	if (n == 0 || n >= outsz - 1) {
		OPENSSL_cleanse(out, outsz);
		snprintf(err, errsz, "redis.password_file %.900s: %s", file,
		    n == 0 ? "no password on its first line" : "password too long");
		return -1;
	}
	return 0;
}

static void
auth_cb(redisAsyncContext *ac, void *reply, void *privdata)
{
	const redisReply *r = reply;

	(void)privdata;
	/*
	 * No reply: the connection failed or was lost before Redis answered
	 * (Redis down, restarted, being closed) – nothing refused the
	 * password, and the daemon's own callbacks say what happened; said
	 * here, a Redis that is down read as a wrong password.
	 */
	if (r == NULL)
		return;
	/*
	 * The daemons say redis_connected when the connection is made, before
	 * this answer: this line tells that the password was taken.
	 */
	if (r->type != REDIS_REPLY_ERROR) {
		ms_info("event=redis_authenticated");
		return;
	}
	/*
	 * Redis' own words (WRONGPASS, NOAUTH…) never carry the password. An
	 * error that is not about the password (a Redis at maxclients or
	 * still loading answers the first command with it) is no wrong
	 * password: said as it is.
	 */
	if (strncmp(r->str, "WRONGPASS", 9) == 0 || strncmp(r->str, "NOAUTH", 6) == 0 ||
	    strstr(r->str, "password") != NULL || strstr(r->str, "AUTH") != NULL)
		ms_warn("event=redis_auth_failed reason=\"%.200s\"", r->str);
	else
		ms_warn("event=redis_unavailable reason=\"%.200s\"", r->str);
	/*
	 * Every command after it would fail with NOAUTH: the connection goes
	 * (their callbacks get no reply, as at any loss of Redis) and the
	 * daemon's disconnect callback retries later.
	 */
	redisAsyncFree(ac);
}

int
ms_redis_auth_async(redisAsyncContext *ac, const char *user, const char *password)
{
	const char *argv[3] = { "AUTH", user, password };
	int argc = 3;

	if (password == NULL || password[0] == '\0')
		return 0;
	if (user == NULL || user[0] == '\0') {
		argv[1] = password;
		argc = 2;
	}
	return redisAsyncCommandArgv(ac, auth_cb, NULL, argc, argv, NULL) == REDIS_OK ? 0 : -1;
}

int
ms_redis_auth_env(redisContext *rc, char *err, size_t errsz)
{
	const char *pw = getenv("REDISCLI_AUTH"), *user = getenv("MINISOC_REDIS_USER");
	const char *argv[3] = { "AUTH", user, pw };
	redisReply *r;
	int argc = 3, ret = 0;

	if (pw == NULL || pw[0] == '\0') {
		/* No password given: one PING, so that a Redis wanting one says how to give it. */
		r = redisCommand(rc, "PING");
		if (r != NULL && r->type == REDIS_REPLY_ERROR && strncmp(r->str, "NOAUTH", 6) == 0) {
			snprintf(err, errsz, "%.100s: Redis wants a password: put it in the "
			    "environment's REDISCLI_AUTH (and the ACL user in MINISOC_REDIS_USER)", r->str);
			ret = -1;
		}
		if (r)
			freeReplyObject(r);
		return ret;
	}
	if (user == NULL || user[0] == '\0') {
		argv[1] = pw;
		argc = 2;
	}
	r = redisCommandArgv(rc, argc, argv, NULL);
	if (r == NULL || r->type == REDIS_REPLY_ERROR) {
		snprintf(err, errsz, "Redis refused the password of REDISCLI_AUTH%s: %.200s",
		    argc == 3 ? " (user MINISOC_REDIS_USER)" : "", r ? r->str : rc->errstr);
		ret = -1;
	}
	if (r)
		freeReplyObject(r);
	return ret;
}
