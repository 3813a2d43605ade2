/*
 * enroll – the agent's side of enrolment and renewal (docs/security.md
 * "Enrolment").
 *
 * `minisoc-agent enroll --collector HOST:PORT --token TOKEN -c CONFIG`
 * makes a key here (it never leaves the host), a CSR, and trades the
 * one-time token for a certificate at the collector's enrolment listener.
 * The collector is trusted only when its chain leads to a CA whose public
 * key hash is the one in the token, and its certificate names the host
 * asked for; that CA is then stored as tls.ca.
 *
 * A renewal does the same exchange without a token, presenting the
 * current certificate (renew.c runs it in a thread of the running agent).
 * Everything here blocks, with timeouts.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netdb.h>
#include <poll.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "agent.h"
#include "ms_log.h"
#include "ms_pki.h"
#include "ms_priv.h"
#include "ms_proto.h"
#include "ms_tls.h"
#include "ms_util.h"

/* Connects to host:port within timeout_ms; a blocking socket with I/O timeouts, or -1. */
static int
tcp_connect(const char *host, int64_t port, int timeout_ms, char *err, size_t errsz)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM }, *res, *ai;
	char portstr[16];
	struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
	int fd = -1, rc, e = 0;

	snprintf(portstr, sizeof(portstr), "%lld", (long long)port);
	if ((rc = getaddrinfo(host, portstr, &hints, &res)) != 0) {
		snprintf(err, errsz, "cannot resolve %s: %s", host, gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		struct pollfd pfd;
		socklen_t elen = sizeof(e);

		if ((fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol)) < 0)
			continue;
		fcntl(fd, F_SETFL, O_NONBLOCK);
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0 && errno != EINPROGRESS) {
			e = errno;
			goto next;
		}
		pfd.fd = fd;
		pfd.events = POLLOUT;
		if (poll(&pfd, 1, timeout_ms) != 1) {
			e = ETIMEDOUT;
			goto next;
		}
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &elen) < 0 || e != 0)
			goto next;
		fcntl(fd, F_SETFL, 0);
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		freeaddrinfo(res);
		return fd;
next:
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	snprintf(err, errsz, "cannot connect to %s:%lld: %s", host, (long long)port,
	    strerror(e ? e : ECONNREFUSED));
	return -1;
}

static bool
is_ip(const char *s)
{
	unsigned char b[16];

	return inet_pton(AF_INET, s, b) == 1 || inet_pton(AF_INET6, s, b) == 1;
}

/*
 * First contact: the collector's chain must lead to a self-signed CA in
 * that chain whose key hash is pin, and its certificate must be a server
 * certificate for name. Returns the CA (caller frees) or NULL with err.
 */
static X509 *
verify_by_pin(SSL *ssl, const char *pin, const char *name, char *err, size_t errsz)
{
	STACK_OF(X509) *chain = SSL_get_peer_cert_chain(ssl);
	X509 *leaf = SSL_get0_peer_certificate(ssl), *anchor = NULL;
	X509_STORE *store = NULL;
	X509_STORE_CTX *vctx = NULL;
	X509_VERIFY_PARAM *vp;
	char h[65];

	for (int i = 0; chain && i < sk_X509_num(chain) && anchor == NULL; i++) {
		X509 *x = sk_X509_value(chain, i);
		if (ms_pki_spki_sha256(x, h) == 0 && strcmp(h, pin) == 0 && X509_check_ca(x) > 0 &&
		    X509_check_issued(x, x) == X509_V_OK)
			anchor = x;
	}
	if (leaf == NULL || anchor == NULL) {
		snprintf(err, errsz, "wrong CA: the collector's chain has no CA with the key hash of "
		    "the token (a different deployment, or someone in between)");
		return NULL;
	}
	if ((store = X509_STORE_new()) == NULL || X509_STORE_add_cert(store, anchor) != 1 ||
	    (vctx = X509_STORE_CTX_new()) == NULL ||
	    X509_STORE_CTX_init(vctx, store, leaf, chain) != 1)
		goto fail_mem;
	X509_STORE_CTX_set_purpose(vctx, X509_PURPOSE_SSL_SERVER);
	vp = X509_STORE_CTX_get0_param(vctx);
	X509_VERIFY_PARAM_set_hostflags(vp, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	if (is_ip(name) ? X509_VERIFY_PARAM_set1_ip_asc(vp, name) != 1 :
	    X509_VERIFY_PARAM_set1_host(vp, name, 0) != 1)
		goto fail_mem;
	if (X509_verify_cert(vctx) != 1) {
		snprintf(err, errsz, "collector certificate does not verify against the token's CA "
		    "for %s: %s", name, X509_verify_cert_error_string(X509_STORE_CTX_get_error(vctx)));
		goto fail;
	}
	X509_STORE_CTX_free(vctx);
	X509_STORE_free(store);
	X509_up_ref(anchor);
	return anchor;
fail_mem:
	snprintf(err, errsz, "out of memory");
fail:
	X509_STORE_CTX_free(vctx);
	X509_STORE_free(store);
	return NULL;
}

/* Reads one whole frame of type from ssl into buf (cap bytes). 0 and *len, or -1. */
static int
read_frame(SSL *ssl, struct ms_buf *buf, int type, struct ms_frame_hdr *h, char *err, size_t errsz)
{
	uint8_t tmp[4096];

	ms_buf_reset(buf);
	for (;;) {
		int n, rc = buf->len ? ms_proto_hdr_parse((uint8_t *)buf->data, buf->len,
		    MS_ENROLL_MAX_RESULT, h) : MS_PROTO_NEED_MORE;

		if (rc == MS_PROTO_OK && h->type != type) {
			snprintf(err, errsz, "the collector answered with a %s frame (is this the "
			    "enrolment port?)", ms_proto_type_name(h->type));
			return -1;
		}
		if (rc != MS_PROTO_OK && rc != MS_PROTO_NEED_MORE) {
			snprintf(err, errsz, "bad answer: %s (is this the enrolment port?)",
			    ms_proto_strerror(rc));
			return -1;
		}
		if (rc == MS_PROTO_OK && buf->len >= MS_PROTO_HDR_LEN + (size_t)h->len)
			return 0;
		if ((n = SSL_read(ssl, tmp, sizeof(tmp))) <= 0) {
			char why[256];
			snprintf(err, errsz, "the collector closed the connection: %s",
			    ms_tls_errstr(why, sizeof(why)));
			return -1;
		}
		if (ms_buf_add(buf, tmp, (size_t)n) < 0) {
			snprintf(err, errsz, "answer too big");
			return -1;
		}
	}
}

int
agent_enroll_exchange(const struct agent_enroll_job *j, struct agent_enroll_result *res)
{
	SSL_CTX *ctx = NULL;
	SSL *ssl = NULL;
	EVP_PKEY *key = NULL;
	X509_REQ *csr = NULL;
	X509 *anchor = NULL;
	STACK_OF(X509) *got = NULL;
	struct ms_buf csrder, frame;
	struct ms_enroll_req req;
	struct ms_frame_hdr h;
	const char *chain;
	size_t chain_len;
	uint16_t code;
	char *err = res->msg, why[256];
	size_t errsz = sizeof(res->msg);
	int fd = -1, rc = -1;

	memset(res, 0, sizeof(*res));
	res->code = -1;
	ms_buf_init(&csrder, MS_ENROLL_MAX_CSR);
	ms_buf_init(&frame, MS_ENROLL_MAX_RESULT + MS_PROTO_HDR_LEN);
	/* The key is made here and never sent. */
	if ((key = ms_pki_key_new()) == NULL || (csr = ms_pki_csr_new(key, j->hostname)) == NULL ||
	    ms_pki_csr_der(csr, &csrder) < 0) {
		snprintf(err, errsz, "cannot make a key and request");
		goto out;
	}
	if (j->token[0]) {
		/* First contact: trust comes from the token's CA hash, checked after the handshake. */
		if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL ||
		    SSL_CTX_set_min_proto_version(ctx, j->allow_tls12 ? TLS1_2_VERSION :
		    TLS1_3_VERSION) != 1) {
			snprintf(err, errsz, "TLS setup: %s", ms_tls_errstr(why, sizeof(why)));
			goto out;
		}
		SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	} else {
		/* Renewal: the usual mutual TLS with the current certificate and CA. */
		if ((ctx = ms_tls_client_ctx_new(j->ca, j->cert, j->key, err, errsz)) == NULL)
			goto out;
		if (j->allow_tls12)
			ms_tls_ctx_allow_tls12(ctx);
	}
	if ((fd = tcp_connect(j->host, j->port, j->timeout_ms, err, errsz)) < 0)
		goto out;
	if ((ssl = SSL_new(ctx)) == NULL || SSL_set_fd(ssl, fd) != 1) {
		snprintf(err, errsz, "out of memory");
		goto out;
	}
	if (j->token[0]) {
		if (!is_ip(j->server_name))
			SSL_set_tlsext_host_name(ssl, j->server_name);
	} else if (ms_tls_client_set_peer_name(ssl, j->server_name) < 0) {
		snprintf(err, errsz, "bad server name %s", j->server_name);
		goto out;
	}
	if (SSL_connect(ssl) != 1) {
		long vr = SSL_get_verify_result(ssl);
		snprintf(err, errsz, "TLS handshake with %s:%lld failed: %s", j->host,
		    (long long)j->port, vr != X509_V_OK ? X509_verify_cert_error_string(vr) :
		    ms_tls_errstr(why, sizeof(why)));
		goto out;
	}
	if (j->token[0] && (anchor = verify_by_pin(ssl, j->ca_pin, j->server_name, err,
	    errsz)) == NULL)
		goto out;
	memset(&req, 0, sizeof(req));
	ms_copy(req.token, sizeof(req.token), j->token, strlen(j->token));
	req.csr = (const uint8_t *)csrder.data;
	req.csr_len = csrder.len;
	ms_copy(req.version, sizeof(req.version), MINISOC_VERSION, strlen(MINISOC_VERSION));
	ms_copy(req.hostname, sizeof(req.hostname), j->hostname, strlen(j->hostname));
	if (ms_enroll_req_encode(&frame, &req) < 0 ||
	    SSL_write(ssl, frame.data, (int)frame.len) != (int)frame.len) {
		snprintf(err, errsz, "cannot send the request: %s", ms_tls_errstr(why, sizeof(why)));
		goto out;
	}
	if (read_frame(ssl, &frame, MS_MSG_ENROLL_RESULT, &h, err, errsz) < 0)
		goto out;
	if (ms_enroll_result_decode((uint8_t *)frame.data + MS_PROTO_HDR_LEN, h.len, &code, why,
	    sizeof(why), &chain, &chain_len) < 0) {
		snprintf(err, errsz, "malformed answer from the collector");
		goto out;
	}
	res->code = code;
	if (code != MS_ENROLL_OK) {
		snprintf(err, errsz, "%s: %s", ms_enroll_code_name(code), why);
		goto out;
	}
	/* The certificate must be for the key made here, and a client certificate. */
	if ((got = ms_pki_pem_parse(chain, chain_len)) == NULL ||
	    X509_check_private_key(sk_X509_value(got, 0), key) != 1 ||
	    X509_check_purpose(sk_X509_value(got, 0), X509_PURPOSE_SSL_CLIENT, 0) != 1) {
		snprintf(err, errsz, "the collector sent no usable certificate for our key");
		goto out;
	}
	if (ms_pki_cert_cn(sk_X509_value(got, 0), res->agent_id, sizeof(res->agent_id)) < 0)
		res->agent_id[0] = '\0';
	ms_pki_serial_hex(sk_X509_value(got, 0), res->serial, sizeof(res->serial));
	res->not_after = ms_pki_cert_not_after(sk_X509_value(got, 0));
	/*
	 * Files: the new key and certificate go next to the configured ones
	 * first (.new) and are renamed in place key first; a crash between the
	 * two renames is finished at the next start (agent_tls_recover).
	 */
	{
		char kp[4200], cp[4200];
		X509 *certs[8];
		size_t n = 0;
		struct ms_buf pem;

		ms_buf_init(&pem, MS_ENROLL_MAX_RESULT);
		for (int i = 0; i < sk_X509_num(got) && n < MS_ARRAY_LEN(certs); i++)
			certs[n++] = sk_X509_value(got, i);
		snprintf(kp, sizeof(kp), "%s.new", j->key);
		snprintf(cp, sizeof(cp), "%s.new", j->cert);
		err[0] = '\0';
		if (ms_pki_pem_certs(&pem, certs, n) < 0 ||
		    ms_pki_file_write(cp, pem.data, pem.len, 0644, err, errsz) < 0 ||
		    ms_pki_key_write(kp, key, err, errsz) < 0)
			goto files_failed;
		if (anchor) {
			ms_buf_reset(&pem);
			if (ms_pki_pem_certs(&pem, &anchor, 1) < 0 ||
			    ms_pki_file_write(j->ca, pem.data, pem.len, 0644, err, errsz) < 0)
				goto files_failed;
		}
		if (rename(kp, j->key) < 0 || rename(cp, j->cert) < 0) {
files_failed:
			if (err[0] == '\0')
				snprintf(err, errsz, "cannot put the new files in place: %s",
				    strerror(errno));
			unlink(kp);
			unlink(cp);
			ms_buf_fini(&pem);
			goto out;
		}
		ms_buf_fini(&pem);
	}
	snprintf(err, errsz, "ok");
	rc = 0;
out:
	if (ssl) {
		SSL_shutdown(ssl);
		SSL_free(ssl);
	}
	if (fd >= 0)
		close(fd);
	SSL_CTX_free(ctx);
	EVP_PKEY_free(key);
	X509_REQ_free(csr);
	X509_free(anchor);
	if (got)
		sk_X509_pop_free(got, X509_free);
	ms_buf_fini(&csrder);
	ms_buf_fini(&frame);
	ERR_clear_error();
	return rc;
}

int
agent_tls_recover(const struct agent_conf *c)
{
	char cp[4200], err[512];
	struct stat st;
	SSL_CTX *ctx;

	snprintf(cp, sizeof(cp), "%s.new", c->tls_cert);
	if (stat(cp, &st) != 0)
		return 0;
	/* The key was renamed, the certificate not: the pair is (cert.new, key). */
	if ((ctx = ms_tls_client_ctx_new(c->tls_ca, cp, c->tls_key, err, sizeof(err))) != NULL) {
		SSL_CTX_free(ctx);
		if (rename(cp, c->tls_cert) == 0) {
			ms_warn("event=cert_recovered file=%s note=\"an interrupted renewal was finished\"",
			    c->tls_cert);
			return 1;
		}
	}
	/* Otherwise the old pair is whole: the leftover goes. */
	unlink(cp);
	return 0;
}

static void
enroll_usage(FILE *out)
{
	fprintf(out,
	    "usage: minisoc-agent enroll --collector HOST:PORT --token TOKEN [-c FILE]\n"
	    "                            [--server-name NAME] [--timeout SECONDS]\n"
	    "\n"
	    "Enrols this host: makes a private key here (it never leaves the host), asks the\n"
	    "collector's enrolment listener for a certificate with the one-time TOKEN from\n"
	    "`minisocctl pki token`, and writes key, certificate and CA where the\n"
	    "configuration's tls.key, tls.cert and tls.ca point. The collector is trusted\n"
	    "only if its chain leads to the CA whose key hash is in the token.\n"
	    "\n"
	    "  -c, --config FILE       agent configuration (default /etc/minisoc/agent.yml)\n"
	    "  -C, --collector H:P     the collector's enrolment listener (enroll.port)\n"
	    "  -T, --token TOKEN       the token (or @FILE to read it from a file)\n"
	    "  -n, --server-name NAME  name the collector's certificate must carry\n"
	    "                          (default: collector.server_name, else HOST)\n"
	    "  -w, --timeout S         network timeout in seconds (default 30)\n"
	    "  -u, --owner USER        give the folders made for the files to USER, the\n"
	    "                          account the agent runs as (systemd unit: minisoc),\n"
	    "                          then write the files as USER (root is dropped)\n"
	    "\n"
	    "Exit status: 0 enrolled; 1 usage or configuration error; 2 refused by the\n"
	    "collector (token expired, used, unknown, agent already enrolled, ...);\n"
	    "3 network, TLS or trust failure (wrong CA hash, name mismatch).\n");
}

/*
 * Makes the folder of path (and its parents) when missing, mode 0700; with
 * pw (--owner) each is given to that user at once, through a descriptor
 * opened without following links: a name chowned later could by then be
 * a link the user (who may own the parent) put there, to /etc. 0 or -1.
 */
static int
make_parent(const char *path, const struct passwd *pw)
{
	char d[4200];
	char *slash;
	int fd;

	ms_copy(d, sizeof(d), path, strlen(path));
	if ((slash = strrchr(d, '/')) == NULL || slash == d)
		return 0;
	*slash = '\0';
	if (access(d, F_OK) == 0)
		return 0;
	if (make_parent(d, pw) < 0 || (mkdir(d, 0700) < 0 && errno != EEXIST))
		return -1;
	if (pw == NULL)
		return 0;
	if ((fd = open(d, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return -1;
	if (fchown(fd, pw->pw_uid, pw->pw_gid) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	close(fd);
	return 0;
}

/*
 * Whether the running user may create files next to path (as the
 * enrolment's writes and the agent's renewals do). 0, or -1 with errno.
 */
static int
can_write_beside(const char *path)
{
	char probe[4300];
	int fd;

	snprintf(probe, sizeof(probe), "%s.probe.%ld", path, (long)getpid());
	if ((fd = open(probe, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600)) < 0)
		return -1;
	close(fd);
	unlink(probe);
	return 0;
}

/* Reads a token given as @FILE (keeps it out of shell history and ps). */
static int
token_arg(const char *arg, char *out, size_t outsz)
{
	FILE *f;
	size_t n;

	if (arg[0] != '@') {
		ms_copy(out, outsz, arg, strlen(arg));
		return 0;
	}
	if ((f = fopen(arg + 1, "r")) == NULL)
		return -1;
	n = fread(out, 1, outsz - 1, f);
	fclose(f);
	out[n] = '\0';
	while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == '\r' || out[n - 1] == ' '))
		out[--n] = '\0';
	return 0;
}

int
agent_enroll_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "collector", required_argument, NULL, 'C' },
		{ "token", required_argument, NULL, 'T' },
		{ "server-name", required_argument, NULL, 'n' },
		{ "timeout", required_argument, NULL, 'w' },
		{ "owner", required_argument, NULL, 'u' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static struct agent_conf conf;
	static struct agent_file_conf files[AGENT_MAX_FILES];
	struct agent_enroll_job j;
	struct agent_enroll_result res;
	struct ms_yaml_node *root = NULL;
	struct ms_pki_token tok;
	const char *config = "/etc/minisoc/agent.yml", *collector = NULL, *name = NULL;
	const char *owner = NULL;
	struct passwd *pw = NULL;
	char tokbuf[512] = "", err[1024], na[40];
	const char *colon;
	size_t nfiles = 0;
	int64_t timeout = 30;
	int ch, rc = 1;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "c:C:T:n:w:u:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'c': config = optarg; break;
		case 'C': collector = optarg; break;
		case 'T':
			if (token_arg(optarg, tokbuf, sizeof(tokbuf)) < 0) {
				fprintf(stderr, "minisoc-agent enroll: cannot read %s\n", optarg + 1);
				return 1;
			}
			/*
			 * Any local user reads our arguments (ps, /proc/PID/cmdline)
			 * for as long as the exchange lasts: the token given there is
			 * blotted out at once (@FILE never shows it at all).
			 */
			if (optarg[0] != '@')
				memset(optarg, 'x', strlen(optarg));
			break;
		case 'n': name = optarg; break;
		case 'w':
			if (ms_parse_i64(optarg, 1, 600, &timeout) < 0) {
				fprintf(stderr, "minisoc-agent enroll: --timeout wants 1..600\n");
				return 1;
			}
			break;
		case 'u': owner = optarg; break;
		case 'h': enroll_usage(stdout); return 0;
		default: enroll_usage(stderr); return 1;
		}
	}
	if (owner && (pw = getpwnam(owner)) == NULL) {
		fprintf(stderr, "minisoc-agent enroll: no user %s\n", owner);
		return 1;
	}
	if (collector == NULL || tokbuf[0] == '\0' || optind != argc) {
		enroll_usage(stderr);
		return 1;
	}
	if (ms_pki_token_parse(tokbuf, &tok) < 0) {
		fprintf(stderr, "minisoc-agent enroll: malformed token (expected 64 hex digits, '.', "
		    "64 hex digits, as printed by minisocctl pki token)\n");
		return 1;
	}
	if (agent_conf_load(config, &conf, files, &nfiles, &root, err, sizeof(err)) < 0) {
		fprintf(stderr, "minisoc-agent enroll: %s\n", err);
		return 1;
	}
	memset(&j, 0, sizeof(j));
	colon = strrchr(collector, ':');
	if (colon == NULL || ms_parse_i64(colon + 1, 1, 65535, &j.port) < 0 ||
	    (size_t)(colon - collector) >= sizeof(j.host) || colon == collector) {
		fprintf(stderr, "minisoc-agent enroll: --collector wants HOST:PORT\n");
		goto out;
	}
	ms_copy(j.host, sizeof(j.host), collector, (size_t)(colon - collector));
	if (j.host[0] == '[' && j.host[strlen(j.host) - 1] == ']') {
		memmove(j.host, j.host + 1, strlen(j.host));
		j.host[strlen(j.host) - 1] = '\0';
	}
	if (name == NULL)
		name = conf.server_name[0] ? conf.server_name : j.host;
	ms_copy(j.server_name, sizeof(j.server_name), name, strlen(name));
	memcpy(j.token, tok.secret, sizeof(j.token));
	memcpy(j.ca_pin, tok.ca_pin, sizeof(j.ca_pin));
	OPENSSL_cleanse(tokbuf, sizeof(tokbuf));
	ms_copy(j.ca, sizeof(j.ca), conf.tls_ca, strlen(conf.tls_ca));
	ms_copy(j.cert, sizeof(j.cert), conf.tls_cert, strlen(conf.tls_cert));
	ms_copy(j.key, sizeof(j.key), conf.tls_key, strlen(conf.tls_key));
	if (gethostname(j.hostname, sizeof(j.hostname) - 1) != 0)
		j.hostname[0] = '\0';
	if (!ms_pki_id_ok(j.hostname))
		j.hostname[0] = '\0';	/* it goes into the CSR subject (ignored anyway) */
	j.allow_tls12 = conf.tls_allow_tls12;
	j.timeout_ms = (int)timeout * 1000;
	if (make_parent(j.key, pw) < 0 || make_parent(j.cert, pw) < 0 || make_parent(j.ca, pw) < 0) {
		fprintf(stderr, "minisoc-agent enroll: cannot create the folders of tls.key, tls.cert "
		    "and tls.ca: %s\n", strerror(errno));
		goto out;
	}
	/*
	 * --owner: root goes now, before the network and the files. Written
	 * as root and chowned after, the files went wherever the owner (who
	 * may own the folders) pointed them meanwhile, and the chown followed
	 * a link to any folder. Checked first, so that a token is not spent
	 * on files that could not be written.
	 */
	if (pw != NULL && pw->pw_uid != 0) {
		const char *paths[] = { j.key, j.cert, j.ca };

		if (ms_priv_drop(owner, err, sizeof(err)) < 0) {
			fprintf(stderr, "minisoc-agent enroll: %s\n", err);
			goto out;
		}
		for (size_t i = 0; i < MS_ARRAY_LEN(paths); i++)
			if (can_write_beside(paths[i]) < 0) {
				fprintf(stderr, "minisoc-agent enroll: %s: %s cannot write there (%s); the "
				    "agent renews its certificate in place: put tls.key, tls.cert and "
				    "tls.ca in a folder of its own (/var/lib/minisoc-agent/tls)\n",
				    paths[i], owner, strerror(errno));
				goto out;
			}
	}
	if (agent_enroll_exchange(&j, &res) < 0) {
		fprintf(stderr, "minisoc-agent enroll: %s\n", res.msg);
		rc = res.code > 0 ? 2 : 3;
		goto out;
	}
	ms_fmt_time(na, sizeof(na), res.not_after * 1000);
	printf("enrolled as agent %s (certificate %s, valid until %s)\n"
	    "  key  %s (made here, mode 0600)\n  cert %s\n  ca   %s\n"
	    "start the agent: systemctl enable --now minisoc-agent\n", res.agent_id, res.serial, na,
	    conf.tls_key, conf.tls_cert, conf.tls_ca);
	rc = 0;
out:
	ms_yaml_node_free(root);
	return rc;
}
