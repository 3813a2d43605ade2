/*
 * ctl_pki – minisocctl pki: the deployment's CA, collector certificates,
 * enrolment tokens, the list of enrolled agents and revocation.
 *
 * Files of a PKI folder (pki init):
 *   ca.key, ca.crt          root CA (keep ca.key offline once collectors are issued)
 *   enroll-ca.key/.crt      intermediate CA the collector signs agent certificates with
 *   crl.pem                 one CRL per CA whose key is in the folder (tls.crl)
 *   collector.key/.crt      from pki collector
 * Redis (the collector's): minisoc:enroll:token:<sha256> (one-time tokens),
 * minisoc:enroll:agents (id -> JSON record), minisoc:enroll:serials:<id>
 * (every serial issued to the id), minisoc:enroll:revoked (serial -> JSON).
 * See docs/security.md "Enrolment".
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include "ctl.h"
#include "ms_redis.h"
#include "ctl_comp.h"
#include "ms_json.h"
#include "ms_pki.h"
#include "ms_util.h"

#define PKI_DEFAULT_DIR "/etc/minisoc/pki"
/* A CRL past its next update refuses every agent (fail-closed): keep it long, renew on revoke. */
#define PKI_CRL_VALIDITY_S (180 * 86400)
/* Expired tokens stay this long so an enrolment says "expired" rather than "unknown". */
#define PKI_TOKEN_KEEP_S (7 * 86400)

static void
pki_usage(FILE *out)
{
	fprintf(out,
	    "usage: minisocctl pki COMMAND [options]\n"
	    "\n"
	    "  init DIR [--days N]           create the root CA, the enrolment CA and an empty CRL\n"
	    "  collector DIR --name NAME [--dns NAME]... [--ip ADDR]... [--days N] [--out BASE]\n"
	    "                                issue a collector (TLS server) certificate and key\n"
	    "  token --agent ID --system SYS [--ttl 24h] [--replace] [--dir DIR] [REDIS]\n"
	    "        [--collector HOST:PORT]  a one-time enrolment token, printed once (with\n"
	    "                                --collector, also the agent's enrol command)\n"
	    "  list [REDIS]                  enrolled agents and pending tokens\n"
	    "  revoke ID [--dir DIR] [--crl FILE] [REDIS]\n"
	    "                                revoke ID's certificate, and every earlier one\n"
	    "                                issued to ID, and rewrite the CRL; then SIGHUP\n"
	    "                                the collector\n"
	    "  revoke --serial HEX [--dir DIR] [--crl FILE] [REDIS]\n"
	    "                                the same for a certificate made elsewhere\n"
	    "  crl [--dir DIR] [--crl FILE] [REDIS]\n"
	    "                                rewrite the CRL (it is valid 180 days)\n"
	    "\n"
	    "REDIS: -r HOST:PORT (default 127.0.0.1:6379) or -s SOCKET, the collector's Redis.\n"
	    "DIR defaults to " PKI_DEFAULT_DIR ". Durations: 90s, 15m, 24h, 30d.\n"
	    "Exit status: 0 ok, 1 usage or refused, 2 Redis or file error.\n");
}

struct pki_opts {
	const char *dir;
	const char *crl;
	char redis_host[256];
	int64_t redis_port;
	const char *redis_sock;
};

static int
redis_opt(struct pki_opts *o, int ch, const char *arg)
{
	const char *colon;

	if (ch == 's') {
		o->redis_sock = arg;
		return 0;
	}
	colon = strrchr(arg, ':');
	if (colon == NULL || ms_parse_i64(colon + 1, 1, 65535, &o->redis_port) < 0 ||
	    (size_t)(colon - arg) >= sizeof(o->redis_host)) {
		fprintf(stderr, "minisocctl pki: --redis wants HOST:PORT\n");
		return -1;
	}
	ms_copy(o->redis_host, sizeof(o->redis_host), arg, (size_t)(colon - arg));
	return 0;
}

static redisContext *
redis_open(const struct pki_opts *o)
{
	redisContext *rc = o->redis_sock ? redisConnectUnix(o->redis_sock) :
	    redisConnect(o->redis_host, (int)o->redis_port);
	char err[512];

	if (rc == NULL || rc->err) {
		fprintf(stderr, "minisocctl pki: cannot connect to Redis: %s\n",
		    rc ? rc->errstr : "out of memory");
		if (rc)
			redisFree(rc);
		return NULL;
	}
	if (ms_redis_auth_env(rc, err, sizeof(err)) < 0) {
		fprintf(stderr, "minisocctl pki: %s\n", err);
		redisFree(rc);
		return NULL;
	}
	return rc;
}

static void
path_in(char *out, size_t outsz, const char *dir, const char *name)
{
	snprintf(out, outsz, "%s/%s", dir, name);
}

static bool
exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

static int
write_cert(const char *path, X509 *const *certs, size_t n)
{
	struct ms_buf b;
	char err[512];
	int rc;

	ms_buf_init(&b, 1 << 20);
	rc = ms_pki_pem_certs(&b, certs, n);
	if (rc == 0)
		rc = ms_pki_file_write(path, b.data, b.len, 0644, err, sizeof(err));
	else
		snprintf(err, sizeof(err), "cannot encode %s", path);
	if (rc < 0)
		fprintf(stderr, "minisocctl pki: %s\n", err);
	ms_buf_fini(&b);
	return rc;
}

/* --- CRL ----------------------------------------------------------------- */

/* The revoked serials from Redis into *out (caller frees); count or -1. */
static long
revoked_list(redisContext *rc, struct ms_pki_revoked **out)
{
	redisReply *r = redisCommand(rc, "HGETALL minisoc:enroll:revoked");
	struct ms_pki_revoked *v = NULL;
	long n = 0;

	*out = NULL;
	if (r == NULL || r->type != REDIS_REPLY_ARRAY) {
		fprintf(stderr, "minisocctl pki: cannot read minisoc:enroll:revoked: %s\n",
		    r && r->type == REDIS_REPLY_ERROR ? r->str : rc->errstr);
		if (r)
			freeReplyObject(r);
		return -1;
	}
	if (r->elements && (v = calloc(r->elements / 2, sizeof(*v))) == NULL) {
		freeReplyObject(r);
		return -1;
	}
	for (size_t i = 0; i + 1 < r->elements; i += 2) {
		const char *t = strstr(r->element[i + 1]->str, "\"time_s\":");
		ms_copy(v[n].serial, sizeof(v[n].serial), r->element[i]->str, r->element[i]->len);
		v[n].time_s = t ? strtoll(t + 9, NULL, 10) : (int64_t)time(NULL);
		n++;
	}
	freeReplyObject(r);
	*out = v;
	return n;
}

/*
 * CRLs of the old file from a CA whose key is not in dir (a root kept
 * offline) are kept as they are: the collector needs a CRL from the issuer
 * of every agent certificate it checks.
 */
static void
crl_keep_others(const char *crlpath, const char *dir, struct ms_buf *pem)
{
	static const char *const cas[] = { "ca", "enroll-ca" };
	BIO *in = BIO_new_file(crlpath, "r"), *out = BIO_new(BIO_s_mem());
	X509_CRL *crl;

	while (in && out && (crl = PEM_read_bio_X509_CRL(in, NULL, NULL, NULL)) != NULL) {
		bool ours = false;

		for (size_t i = 0; i < MS_ARRAY_LEN(cas) && !ours; i++) {
			char p[4200], err[256];
			X509 *ca;

			snprintf(p, sizeof(p), "%s/%s.key", dir, cas[i]);
			if (!exists(p))
				continue;
			snprintf(p, sizeof(p), "%s/%s.crt", dir, cas[i]);
			if ((ca = ms_pki_cert_read(p, err, sizeof(err))) != NULL) {
				ours = X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(ca)) == 0;
				X509_free(ca);
			}
		}
		if (!ours && PEM_write_bio_X509_CRL(out, crl) == 1) {
			char name[256];

			X509_NAME_oneline(X509_CRL_get_issuer(crl), name, sizeof(name));
			printf("kept the CRL of %s from %s as it is (that CA's key is not in %s)\n",
			    name, crlpath, dir);
		}
		X509_CRL_free(crl);
	}
	if (out) {
		char *data;
		long len = BIO_get_mem_data(out, &data);
		if (len > 0)
			ms_buf_add(pem, data, (size_t)len);
	}
	ERR_clear_error();
	BIO_free(in);
	BIO_free(out);
}

/* Rewrites the CRL file: one CRL per CA of dir whose key is there. 0 or -1. */
static int
crl_write(redisContext *rc, const struct pki_opts *o)
{
	static const char *const cas[] = { "ca", "enroll-ca" };
	struct ms_pki_revoked *rv = NULL;
	struct ms_buf pem;
	char crt[4200], key[4200], crlpath[4200], err[512];
	long n = revoked_list(rc, &rv);
	int rc2 = -1, signers = 0;

	if (n < 0)
		return -1;
	ms_buf_init(&pem, 64u << 20);
	for (size_t i = 0; i < MS_ARRAY_LEN(cas); i++) {
		X509 *ca;
		EVP_PKEY *k;

		snprintf(crt, sizeof(crt), "%s/%s.crt", o->dir, cas[i]);
		snprintf(key, sizeof(key), "%s/%s.key", o->dir, cas[i]);
		if (!exists(key))
			continue;	/* a root kept offline signs no CRL here */
		ca = ms_pki_cert_read(crt, err, sizeof(err));
		k = ca ? ms_pki_key_read(key, err, sizeof(err)) : NULL;
		if (k == NULL || ms_pki_crl_pem(&pem, ca, k, rv, (size_t)n, PKI_CRL_VALIDITY_S, err,
		    sizeof(err)) < 0) {
			fprintf(stderr, "minisocctl pki: %s\n", err);
			X509_free(ca);
			EVP_PKEY_free(k);
			goto out;
		}
		signers++;
		X509_free(ca);
		EVP_PKEY_free(k);
	}
	if (signers == 0) {
		fprintf(stderr, "minisocctl pki: no CA key in %s to sign the CRL with\n", o->dir);
		goto out;
	}
	if (o->crl)
		ms_copy(crlpath, sizeof(crlpath), o->crl, strlen(o->crl));
	else
		path_in(crlpath, sizeof(crlpath), o->dir, "crl.pem");
	crl_keep_others(crlpath, o->dir, &pem);
	if (ms_pki_file_write(crlpath, pem.data, pem.len, 0644, err, sizeof(err)) < 0) {
		fprintf(stderr, "minisocctl pki: %s\n", err);
		goto out;
	}
	printf("wrote %s (%ld revoked, %d CRL%s, valid %d days)\n", crlpath, n, signers,
	    signers > 1 ? "s" : "", PKI_CRL_VALIDITY_S / 86400);
	rc2 = 0;
out:
	free(rv);
	ms_buf_fini(&pem);
	return rc2;
}

/* --- init ------------------------------------------------------------------ */

static int
cmd_init(const char *dir, int64_t days)
{
	char p[4200], err[512];
	EVP_PKEY *rk = NULL, *ek = NULL;
	X509 *root = NULL, *sub = NULL;
	struct ms_buf crl;
	struct ms_pki_profile prof = { .kind = MS_PKI_SUB_CA, .cn = "minisoc-enrollment-CA",
		.validity_s = days * 86400 };
	char pin[65];
	int rc = 2;

	ms_buf_init(&crl, 1 << 20);
	if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
		fprintf(stderr, "minisocctl pki init: cannot create %s: %s\n", dir, strerror(errno));
		goto out;
	}
	path_in(p, sizeof(p), dir, "ca.key");
	if (exists(p)) {
		fprintf(stderr, "minisocctl pki init: %s exists: refusing to replace a CA\n", p);
		rc = 1;
		goto out;
	}
	if ((rk = ms_pki_key_new()) == NULL || (ek = ms_pki_key_new()) == NULL ||
	    (root = ms_pki_ca_new(rk, "minisoc-root-CA", days * 86400, err, sizeof(err))) == NULL ||
	    (sub = ms_pki_issue(root, rk, ek, &prof, err, sizeof(err))) == NULL) {
		fprintf(stderr, "minisocctl pki init: %s\n", err);
		goto out;
	}
	if (ms_pki_key_write(p, rk, err, sizeof(err)) < 0)
		goto fail_err;
	path_in(p, sizeof(p), dir, "ca.crt");
	if (write_cert(p, &root, 1) < 0)
		goto out;
	path_in(p, sizeof(p), dir, "enroll-ca.key");
	if (ms_pki_key_write(p, ek, err, sizeof(err)) < 0)
		goto fail_err;
	/* The collector sends the intermediate with each certificate it issues. */
	path_in(p, sizeof(p), dir, "enroll-ca.crt");
	if (write_cert(p, &sub, 1) < 0)
		goto out;
	path_in(p, sizeof(p), dir, "crl.pem");
	if (ms_pki_crl_pem(&crl, root, rk, NULL, 0, PKI_CRL_VALIDITY_S, err, sizeof(err)) < 0 ||
	    ms_pki_crl_pem(&crl, sub, ek, NULL, 0, PKI_CRL_VALIDITY_S, err, sizeof(err)) < 0 ||
	    ms_pki_file_write(p, crl.data, crl.len, 0644, err, sizeof(err)) < 0)
		goto fail_err;
	ms_pki_spki_sha256(root, pin);
	printf("created in %s: ca.key ca.crt (root, %lld days), enroll-ca.key enroll-ca.crt "
	    "(enrolment CA), crl.pem\nCA public key SHA-256: %s\n", dir, (long long)days, pin);
	rc = 0;
	goto out;
fail_err:
	fprintf(stderr, "minisocctl pki init: %s\n", err);
out:
	ms_buf_fini(&crl);
	X509_free(root);
	X509_free(sub);
	EVP_PKEY_free(rk);
	EVP_PKEY_free(ek);
	return rc;
}

/* --- collector --------------------------------------------------------------- */

#define PKI_MAX_NAMES 16

static int
cmd_collector(const char *dir, const char *name, const char *const *dns, size_t ndns,
    const char *const *ips, size_t nips, int64_t days, const char *base)
{
	char p[4200], err[512];
	EVP_PKEY *ck = NULL, *k = NULL;
	X509 *ca = NULL, *x = NULL;
	struct ms_pki_profile prof = { .kind = MS_PKI_SERVER, .cn = name, .dns = dns, .ndns = ndns,
		.ips = ips, .nips = nips, .validity_s = days * 86400 };
	int rc = 2;

	path_in(p, sizeof(p), dir, "ca.crt");
	if ((ca = ms_pki_cert_read(p, err, sizeof(err))) == NULL)
		goto fail_err;
	path_in(p, sizeof(p), dir, "ca.key");
	if ((ck = ms_pki_key_read(p, err, sizeof(err))) == NULL)
		goto fail_err;
	if ((k = ms_pki_key_new()) == NULL ||
	    (x = ms_pki_issue(ca, ck, k, &prof, err, sizeof(err))) == NULL)
		goto fail_err;
	snprintf(p, sizeof(p), "%s/%s.key", dir, base);
	if (ms_pki_key_write(p, k, err, sizeof(err)) < 0)
		goto fail_err;
	snprintf(p, sizeof(p), "%s/%s.crt", dir, base);
	if (write_cert(p, &x, 1) < 0)
		goto out;
	printf("created %s/%s.key and %s/%s.crt (CN=%s, %lld days)\n", dir, base, dir, base, name,
	    (long long)days);
	rc = 0;
	goto out;
fail_err:
	fprintf(stderr, "minisocctl pki collector: %s\n", err);
out:
	X509_free(ca);
	X509_free(x);
	EVP_PKEY_free(ck);
	EVP_PKEY_free(k);
	return rc;
}

/* --- token --------------------------------------------------------------------- */

static int
cmd_token(const struct pki_opts *o, const char *agent, const char *system, int64_t ttl,
    bool replace, const char *collector)
{
	char p[4200], err[512], secret[65], hash[65], pin[65], key[128], exp[24], now[24];
	char when[40];
	X509 *ca = NULL;
	redisContext *rc = NULL;
	redisReply *r = NULL;
	int64_t now_ms = ms_now_ms(), exp_ms = now_ms + ttl * 1000;
	int ret = 2;

	path_in(p, sizeof(p), o->dir, "ca.crt");
	if ((ca = ms_pki_cert_read(p, err, sizeof(err))) == NULL) {
		fprintf(stderr, "minisocctl pki token: %s\n", err);
		goto out;
	}
	ms_pki_spki_sha256(ca, pin);
	if (ms_pki_token_secret(secret) < 0 || (rc = redis_open(o)) == NULL)
		goto out;
	ms_pki_token_hash(secret, hash);
	snprintf(key, sizeof(key), "minisoc:enroll:token:%s", hash);
	snprintf(exp, sizeof(exp), "%" PRId64, exp_ms);
	snprintf(now, sizeof(now), "%" PRId64, now_ms);
	r = redisCommand(rc, "HSET %s agent %s system %s replace %s expires_ms %s created_ms %s",
	    key, agent, system, replace ? "1" : "0", exp, now);
	if (r == NULL || r->type == REDIS_REPLY_ERROR) {
		fprintf(stderr, "minisocctl pki token: Redis: %s\n", r ? r->str : rc->errstr);
		goto out;
	}
	freeReplyObject(r);
	r = redisCommand(rc, "PEXPIREAT %s %lld", key,
	    (long long)(exp_ms + PKI_TOKEN_KEEP_S * 1000));
	if (r)
		freeReplyObject(r);
	r = redisCommand(rc, "HGET minisoc:enroll:agents %s", agent);
	if (r && r->type == REDIS_REPLY_STRING && !replace && strstr(r->str, "\"revoked\":true") == NULL)
		fprintf(stderr, "minisocctl pki token: warning: %s is already enrolled; this token "
		    "will be refused unless made with --replace\n", agent);
	ms_fmt_time(when, sizeof(when), exp_ms);
	fprintf(stderr, "token for agent %s (system %s%s), one use, valid until %s:\n", agent,
	    system, replace ? ", replaces its certificate" : "", when);
	printf("%s.%s\n", secret, pin);
	if (collector)
		fprintf(stderr, "on the agent's host (as root):\n  minisoc-agent enroll --collector %s "
		    "--owner minisoc --token %s.%s\n", collector, secret, pin);
	OPENSSL_cleanse(secret, sizeof(secret));
	ret = 0;
out:
	if (r)
		freeReplyObject(r);
	if (rc)
		redisFree(rc);
	X509_free(ca);
	return ret;
}

/* --- list ------------------------------------------------------------------------ */

/* "key":"value" or "key":number from our own record JSON. */
static void
rec_field(const char *json, const char *k, char *out, size_t outsz)
{
	char pat[64];
	const char *p;
	size_t n = 0;

	out[0] = '\0';
	snprintf(pat, sizeof(pat), "\"%s\":", k);
	if ((p = strstr(json, pat)) == NULL)
		return;
	p += strlen(pat);
	if (*p == '"')
		p++;
	while (p[n] && p[n] != '"' && p[n] != ',' && p[n] != '}')
		n++;
	ms_copy(out, outsz, p, n);
}

/* pki list: one enrolment token (ctl_scan over minisoc:enroll:token:*); arg: now, ms. */
static void
list_token(redisContext *rc, const char *key, void *arg)
{
	int64_t now = *(const int64_t *)arg, exp;
	redisReply *h = redisCommand(rc, "HMGET %s agent system replace expires_ms used", key);
	char when[40];

	if (h && h->type == REDIS_REPLY_ARRAY && h->elements == 5 &&
	    h->element[0]->type == REDIS_REPLY_STRING && h->element[3]->type == REDIS_REPLY_STRING) {
		exp = strtoll(h->element[3]->str, NULL, 10);
		ms_fmt_time(when, sizeof(when), exp);
		printf("  %.16s…  agent=%s system=%s replace=%s expires=%s %s\n",
		    key + strlen("minisoc:enroll:token:"), h->element[0]->str,
		    h->element[1]->type == REDIS_REPLY_STRING ? h->element[1]->str : "-",
		    h->element[2]->type == REDIS_REPLY_STRING ? h->element[2]->str : "0",
		    when, h->element[4]->type == REDIS_REPLY_STRING ? "used" :
		    exp <= now ? "expired" : "unused");
	}
	if (h)
		freeReplyObject(h);
}

static int
cmd_list(const struct pki_opts *o)
{
	redisContext *rc = redis_open(o);
	redisReply *r;
	int64_t now = ms_now_ms();

	if (rc == NULL)
		return 2;
	r = redisCommand(rc, "HGETALL minisoc:enroll:agents");
	if (r == NULL || r->type != REDIS_REPLY_ARRAY) {
		fprintf(stderr, "minisocctl pki list: Redis: %s\n",
		    r && r->type == REDIS_REPLY_ERROR ? r->str : rc->errstr);
		if (r)
			freeReplyObject(r);
		redisFree(rc);
		return 2;
	}
	printf("%-24s %-16s %-10s %-24s %-24s %s\n", "AGENT", "SYSTEM", "STATE", "NOT_AFTER",
	    "ISSUED", "SERIAL");
	for (size_t i = 0; i + 1 < r->elements; i += 2) {
		const char *j = r->element[i + 1]->str;
		char sys[80], na[40], iss[40], serial[80], revoked[8], pending[8];

		rec_field(j, "system", sys, sizeof(sys));
		rec_field(j, "not_after", na, sizeof(na));
		rec_field(j, "issued", iss, sizeof(iss));
		rec_field(j, "serial", serial, sizeof(serial));
		rec_field(j, "revoked", revoked, sizeof(revoked));
		rec_field(j, "pending", pending, sizeof(pending));
		printf("%-24s %-16s %-10s %-24s %-24s %s\n", r->element[i]->str, sys,
		    strcmp(revoked, "true") == 0 ? "revoked" : strcmp(pending, "true") == 0 ?
		    "pending" : "enrolled", na[0] ? na : "-", iss[0] ? iss : "-", serial[0] ? serial : "-");
	}
	if (r->elements == 0)
		printf("(no agent enrolled)\n");
	freeReplyObject(r);
	printf("\ntokens (by their hash; the secret is never stored)\n");
	(void)ctl_scan(rc, "minisoc:enroll:token:*", list_token, &now);
	redisFree(rc);
	return 0;
}

/* --- revoke ------------------------------------------------------------------------ */

/* A certificate made elsewhere (deploy/pki.sh): its serial goes into the revoked set as it is. */
static int
cmd_revoke_serial(const struct pki_opts *o, const char *serial)
{
	redisContext *rc = redis_open(o);
	redisReply *r;
	char json[96];
	int ret = 2;

	if (rc == NULL)
		return 2;
	snprintf(json, sizeof(json), "{\"agent\":\"\",\"time_s\":%lld}", (long long)time(NULL));
	r = redisCommand(rc, "HSET minisoc:enroll:revoked %s %s", serial, json);
	if (r == NULL || r->type == REDIS_REPLY_ERROR) {
		fprintf(stderr, "minisocctl pki revoke: Redis: %s\n", r ? r->str : rc->errstr);
	} else {
		printf("revoked serial %s\n", serial);
		if (crl_write(rc, o) == 0) {
			printf("now reload the collector (systemctl reload minisoc-collector)\n");
			ret = 0;
		}
	}
	if (r)
		freeReplyObject(r);
	redisFree(rc);
	return ret;
}

static int
cmd_revoke(const struct pki_opts *o, const char *agent)
{
	/*
	 * One script: the record says which serial is current; it and every
	 * other serial issued to the id (MS_ENROLL_SERIALS_KEY: a renewed or
	 * replaced certificate is valid until it expires, and a thief may
	 * hold one) go into the revoked set and the record is marked, at once.
	 */
	static const char lua[] =
	    "local cur = redis.call('HGET', KEYS[1], ARGV[1])\n"
	    "if not cur then return {'unknown'} end\n"
	    "local serial = string.match(cur, '\"serial\":\"([0-9a-f]+)\"')\n"
	    "if not serial then return {'no_serial'} end\n"
	    "redis.call('HSET', KEYS[2], serial, ARGV[2])\n"
	    "local n = 1\n"
	    "for _, s in ipairs(redis.call('SMEMBERS', KEYS[3])) do\n"
	    "  if s ~= serial then redis.call('HSET', KEYS[2], s, ARGV[2]); n = n + 1 end\n"
	    "end\n"
	    "if not string.find(cur, '\"revoked\":true', 1, true) then\n"
	    "  cur = string.sub(cur, 1, -2) .. ',\"revoked\":true}'\n"
	    "  redis.call('HSET', KEYS[1], ARGV[1], cur)\n"
	    "end\n"
	    "return {'ok', serial, n}\n";
	redisContext *rc = redis_open(o);
	redisReply *r = NULL;
	struct ms_buf b;
	struct ms_json j;
	int ret = 2;

	if (rc == NULL)
		return 2;
	ms_buf_init(&b, 4096);
	ms_json_init(&j, &b);
	ms_json_obj_open(&j);
	ms_json_key(&j, "agent");
	ms_json_str(&j, agent);
	ms_json_key(&j, "time_s");
	ms_json_int(&j, (int64_t)time(NULL));
	ms_json_obj_close(&j);
	ms_json_finish(&j);
	r = redisCommand(rc, "EVAL %s 3 minisoc:enroll:agents minisoc:enroll:revoked "
	    MS_ENROLL_SERIALS_KEY "%s %s %s", lua, agent, agent, b.data);
	if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements < 1) {
		fprintf(stderr, "minisocctl pki revoke: Redis: %s\n",
		    r && r->type == REDIS_REPLY_ERROR ? r->str : rc->errstr);
		goto out;
	}
	if (strcmp(r->element[0]->str, "ok") != 0) {
		fprintf(stderr, "minisocctl pki revoke: %s: %s\n", agent,
		    strcmp(r->element[0]->str, "unknown") == 0 ? "no such enrolled agent" :
		    "its record has no certificate serial (enrolment not finished)");
		ret = 1;
		goto out;
	}
	if (r->elements >= 3 && r->element[2]->type == REDIS_REPLY_INTEGER && r->element[2]->integer > 1)
		printf("revoked %s (serial %s, and %lld earlier certificates of it)\n", agent,
		    r->element[1]->str, r->element[2]->integer - 1);
	else
		printf("revoked %s (serial %s)\n", agent, r->element[1]->str);
	if (crl_write(rc, o) < 0)
		goto out;
	printf("now reload the collector (systemctl reload minisoc-collector, or kill -HUP): "
	    "the agent's session is closed, the others stay\n");
	ret = 0;
out:
	ms_buf_fini(&b);
	if (r)
		freeReplyObject(r);
	redisFree(rc);
	return ret;
}

int
ctl_pki(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "days", required_argument, NULL, 'd' },
		{ "name", required_argument, NULL, 'n' },
		{ "dns", required_argument, NULL, 'D' },
		{ "ip", required_argument, NULL, 'I' },
		{ "out", required_argument, NULL, 'o' },
		{ "agent", required_argument, NULL, 'a' },
		{ "system", required_argument, NULL, 'S' },
		{ "ttl", required_argument, NULL, 't' },
		{ "replace", no_argument, NULL, 'R' },
		{ "dir", required_argument, NULL, 'C' },
		{ "crl", required_argument, NULL, 'c' },
		{ "serial", required_argument, NULL, 'x' },
		{ "collector", required_argument, NULL, 'L' },
		{ "redis", required_argument, NULL, 'r' },
		{ "socket", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct pki_opts o = { .dir = PKI_DEFAULT_DIR, .redis_host = "127.0.0.1", .redis_port = 6379 };
	const char *cmd, *name = NULL, *agent = NULL, *system = NULL, *base = "collector";
	const char *serial = NULL, *collector = NULL;
	const char *dns[PKI_MAX_NAMES], *ips[PKI_MAX_NAMES];
	size_t ndns = 0, nips = 0;
	int64_t days = -1, ttl = 86400;
	bool replace = false;
	int ch;

	if (argc < 2 || strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0) {
		pki_usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 1 : 0;
	}
	cmd = argv[1];
	argc--;
	argv++;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "d:n:D:I:o:a:S:t:RC:c:x:L:r:s:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'd':
			if (ms_parse_i64(optarg, 1, 36500, &days) < 0) {
				fprintf(stderr, "minisocctl pki: --days wants 1..36500\n");
				return 1;
			}
			break;
		case 'n': name = optarg; break;
		case 'D':
		case 'I':
			if ((ch == 'D' ? ndns : nips) >= PKI_MAX_NAMES) {
				fprintf(stderr, "minisocctl pki: at most %d --dns and --ip each\n",
				    PKI_MAX_NAMES);
				return 1;
			}
			if (ch == 'D')
				dns[ndns++] = optarg;
			else
				ips[nips++] = optarg;
			break;
		case 'o': base = optarg; break;
		case 'a': agent = optarg; break;
		case 'S': system = optarg; break;
		case 't':
			if (ms_pki_parse_duration(optarg, 1, 30 * 86400, &ttl) < 0) {
				fprintf(stderr, "minisocctl pki: --ttl wants 1s..30d (e.g. 24h)\n");
				return 1;
			}
			break;
		case 'R': replace = true; break;
		case 'C': o.dir = optarg; break;
		case 'c': o.crl = optarg; break;
		case 'x': serial = optarg; break;
		case 'L': collector = optarg; break;
		case 'r':
		case 's':
			if (redis_opt(&o, ch, optarg) < 0)
				return 1;
			break;
		case 'h': pki_usage(stdout); return 0;
		default: pki_usage(stderr); return 1;
		}
	}
	if (strcmp(cmd, "init") == 0 && optind + 1 == argc)
		return cmd_init(argv[optind], days > 0 ? days : 3650);
	if (strcmp(cmd, "collector") == 0 && optind + 1 == argc) {
		if (name == NULL || !ms_pki_id_ok(name)) {
			fprintf(stderr, "minisocctl pki collector: --name NAME (a DNS name) is required\n");
			return 1;
		}
		return cmd_collector(argv[optind], name, dns, ndns, ips, nips, days > 0 ? days : 825,
		    base);
	}
	if (strcmp(cmd, "token") == 0 && optind == argc) {
		if (agent == NULL || system == NULL || !ms_pki_id_ok(agent) || !ms_pki_id_ok(system)) {
			fprintf(stderr, "minisocctl pki token: --agent ID and --system SYS are required "
			    "(1..%d of letters, digits, '.', '-', '_', '@')\n", MS_PKI_MAX_ID);
			return 1;
		}
		return cmd_token(&o, agent, system, ttl, replace, collector);
	}
	if (strcmp(cmd, "list") == 0 && optind == argc)
		return cmd_list(&o);
	if (strcmp(cmd, "revoke") == 0 && serial != NULL && optind == argc) {
		size_t n = strlen(serial);
		bool hex = n > 0 && n <= 40;

		for (size_t i = 0; i < n && hex; i++)
			hex = (serial[i] >= '0' && serial[i] <= '9') || (serial[i] >= 'a' && serial[i] <= 'f');
		if (!hex) {
			fprintf(stderr, "minisocctl pki revoke: --serial wants lower-case hex "
			    "(openssl x509 -noout -serial, without leading zeros)\n");
			return 1;
		}
		return cmd_revoke_serial(&o, serial);
	}
	if (strcmp(cmd, "revoke") == 0 && optind + 1 == argc) {
		if (!ms_pki_id_ok(argv[optind])) {
			fprintf(stderr, "minisocctl pki revoke: invalid agent id\n");
			return 1;
		}
		return cmd_revoke(&o, argv[optind]);
	}
	if (strcmp(cmd, "crl") == 0 && optind == argc) {
		redisContext *rc = redis_open(&o);
		int ret;

		if (rc == NULL)
			return 2;
		ret = crl_write(rc, &o) < 0 ? 2 : 0;
		redisFree(rc);
		return ret;
	}
	/* What was wrong in one line, before the whole usage. */
	if (strcmp(cmd, "init") != 0 && strcmp(cmd, "collector") != 0 && strcmp(cmd, "token") != 0 &&
	    strcmp(cmd, "list") != 0 && strcmp(cmd, "revoke") != 0 && strcmp(cmd, "crl") != 0)
		fprintf(stderr, "minisocctl pki: unknown command \"%s\"\n", cmd);
	else {
		/* init, collector and revoke ID take one operand, the others none. */
		int want = strcmp(cmd, "init") == 0 || strcmp(cmd, "collector") == 0 ||
		    (strcmp(cmd, "revoke") == 0 && serial == NULL);

		fprintf(stderr, "minisocctl pki %s: %s\n", cmd,
		    argc - optind > want ? "too many arguments" : "an argument is missing");
	}
	pki_usage(stderr);
	return 1;
}
