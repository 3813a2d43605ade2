#include "ms_tls.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "ms_log.h"
#include "ms_pki.h"
#include "ms_util.h"

char *
ms_tls_errstr(char *buf, size_t bufsz)
{
	unsigned long e, first = 0, last = 0;
	char a[256], b[256];

	while ((e = ERR_get_error()) != 0) {
		if (first == 0)
			first = e;
		last = e;
	}
	if (first == 0) {
		ms_copy(buf, bufsz, "unknown", 7);
		return buf;
	}
	ERR_error_string_n(first, a, sizeof(a));
	if (last != first) {
		ERR_error_string_n(last, b, sizeof(b));
		snprintf(buf, bufsz, "%s / %s", a, b);
	} else {
		snprintf(buf, bufsz, "%s", a);
	}
	return buf;
}

static SSL_CTX *
tls_ctx_common(const SSL_METHOD *method, const char *ca_file, const char *cert_file,
    const char *key_file, char *err, size_t errsz)
{
	SSL_CTX *ctx = NULL;
	char why[512];

	ERR_clear_error();
	if ((ctx = SSL_CTX_new(method)) == NULL) {
		snprintf(err, errsz, "SSL_CTX_new: %s", ms_tls_errstr(why, sizeof(why)));
		goto fail;
	}
	if (SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) != 1)
		goto fail_ssl;
	/* Renegotiation and compression are TLS 1.2 only; nothing else to switch off. */
	SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
	/*
	 * No read-ahead: libevent's OpenSSL bufferevent does not look at what
	 * OpenSSL buffered beyond the current record, so a frame could wait
	 * there with no socket event to wake it (seen: a hello never read).
	 */
	if (SSL_CTX_load_verify_locations(ctx, ca_file, NULL) != 1) {
		snprintf(err, errsz, "cannot load CA file %s: %s", ca_file,
		    ms_tls_errstr(why, sizeof(why)));
		goto fail;
	}
	if (cert_file == NULL)
		goto done;	/* the caller sets certificate and key */
	if (SSL_CTX_use_certificate_chain_file(ctx, cert_file) != 1) {
		snprintf(err, errsz, "cannot load certificate %s: %s", cert_file,
		    ms_tls_errstr(why, sizeof(why)));
		goto fail;
	}
	ms_secret_mode_check(key_file, -1, "tls key");
	if (SSL_CTX_use_PrivateKey_file(ctx, key_file, SSL_FILETYPE_PEM) != 1) {
		snprintf(err, errsz, "cannot load key %s: %s", key_file,
		    ms_tls_errstr(why, sizeof(why)));
		goto fail;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		snprintf(err, errsz, "key %s does not match certificate %s", key_file, cert_file);
		goto fail;
	}
done:
	SSL_CTX_set_verify_depth(ctx, 4);
	return ctx;

fail_ssl:
	snprintf(err, errsz, "TLS setup: %s", ms_tls_errstr(why, sizeof(why)));
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

/* What every server context has on top of tls_ctx_common. */
static SSL_CTX *
server_ctx_finish(SSL_CTX *ctx, const char *ca_file)
{
	static const unsigned char sid_ctx[] = "minisoc-collector";

	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	/* A client certificate must be fit for client authentication. */
	SSL_CTX_set_purpose(ctx, X509_PURPOSE_SSL_CLIENT);
	SSL_CTX_set_session_id_context(ctx, sid_ctx, sizeof(sid_ctx) - 1);
	/*
	 * No resumption: a resumed handshake carries no certificate and is not
	 * verified again, so a session (2 hours by default) outlived the
	 * certificate's end, and a copy of its secret was as good as the key.
	 * Agents connect seldom; every handshake is a full one.
	 */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_num_tickets(ctx, 0);
	/* The CA is the only one whose names we ask for. */
	SSL_CTX_set_client_CA_list(ctx, SSL_load_client_CA_file(ca_file));
	return ctx;
}

SSL_CTX *
ms_tls_server_ctx_new(const char *ca_file, const char *cert_file, const char *key_file,
    char *err, size_t errsz)
{
	SSL_CTX *ctx = tls_ctx_common(TLS_server_method(), ca_file, cert_file, key_file,
	    err, errsz);

	return ctx ? server_ctx_finish(ctx, ca_file) : NULL;
}

SSL_CTX *
ms_tls_server_ctx_renew(SSL_CTX *old, const char *ca_file, char *err, size_t errsz)
{
	SSL_CTX *ctx = tls_ctx_common(TLS_server_method(), ca_file, NULL, NULL, err, errsz);
	STACK_OF(X509) *chain = NULL;

	if (ctx == NULL)
		return NULL;
	SSL_CTX_get0_chain_certs(old, &chain);
	if (SSL_CTX_use_certificate(ctx, SSL_CTX_get0_certificate(old)) != 1 ||
	    SSL_CTX_use_PrivateKey(ctx, SSL_CTX_get0_privatekey(old)) != 1 ||
	    (chain != NULL && SSL_CTX_set1_chain(ctx, chain) != 1)) {
		snprintf(err, errsz, "cannot reuse the loaded certificate and key");
		SSL_CTX_free(ctx);
		return NULL;
	}
	return server_ctx_finish(ctx, ca_file);
}

static void
ms_warn_crl_expired(const char *crl_file, X509_CRL *crl)
{
	char name[256], q[300];

	X509_NAME_oneline(X509_CRL_get_issuer(crl), name, sizeof(name));
	ms_log_quote(q, sizeof(q), name, strlen(name));
	ms_warn("event=crl_expired file=%s issuer=%s note=\"past its next update: every client whose "
	    "own certificate this CA signed is refused until a fresh CRL is loaded (SIGHUP); as the "
	    "CRL of a CA above them it still revokes what it lists\"", crl_file, q);
}

int
ms_tls_ctx_allow_tls12(SSL_CTX *ctx)
{
	if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
	    SSL_CTX_set_cipher_list(ctx, "ECDHE+AESGCM:ECDHE+CHACHA20:!aNULL:!SHA1") != 1)
		return -1;
	/*
	 * No renegotiation: nothing here needs it, and a renegotiating
	 * SSL_write reads from the socket behind libevent's back (the agent
	 * writes to its TLS connection directly, uplink.c).
	 */
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION);
	return 0;
}

/*
 * Whether crl may be loaded into store: when a CA certificate of its
 * issuer's name is there (tls.ca), that CA must have signed it. Every
 * `pki init` names its root alike, so another deployment's CRL has the
 * right name and the wrong key: loaded, it refused every agent (CRL
 * signature failure). A CRL of a CA not in tls.ca (the enrolment CA, which
 * the agents send) is checked by OpenSSL at the handshake.
 */
static bool
crl_signer_ok(X509_STORE *store, X509_CRL *crl)
{
	STACK_OF(X509_OBJECT) *objs = X509_STORE_get0_objects(store);
	bool named = false;

	for (int i = 0; i < sk_X509_OBJECT_num(objs); i++) {
		X509 *ca = X509_OBJECT_get0_X509(sk_X509_OBJECT_value(objs, i));
		EVP_PKEY *pub;

		if (ca == NULL || X509_NAME_cmp(X509_get_subject_name(ca), X509_CRL_get_issuer(crl)) != 0)
			continue;
		named = true;
		if ((pub = X509_get0_pubkey(ca)) != NULL && X509_CRL_verify(crl, pub) == 1)
			return true;
	}
	ERR_clear_error();
	return !named;
}

/*
 * The CRL of a CA above the agent's certificate (the root's, which lists a
 * revoked enrolment CA) refuses what it lists; missing, or past its next
 * update, it refuses no one: the root key is meant to be offline, and a
 * root CRL gone stale would lock the whole fleet out until someone fetched
 * that key. The CRL of the agents' own certificates (depth 0) stays
 * fail-closed. OpenSSL still reads the entries of a stale CRL once its
 * time error is let through.
 */
static int
crl_ca_verify_cb(int ok, X509_STORE_CTX *x)
{
	int e = X509_STORE_CTX_get_error(x);

	if (!ok && X509_STORE_CTX_get_error_depth(x) > 0 && (e == X509_V_ERR_UNABLE_TO_GET_CRL ||
	    e == X509_V_ERR_CRL_HAS_EXPIRED || e == X509_V_ERR_CRL_NOT_YET_VALID)) {
		/* Not left as the verify result, which the identity check reads. */
		X509_STORE_CTX_set_error(x, X509_V_OK);
		return 1;
	}
	return ok;
}

/* Whether a self-issued CA certificate of store (a root: tls.ca) has name as its subject. */
static bool
crl_of_root(STACK_OF(X509_OBJECT) *objs, const X509_NAME *name)
{
	for (int i = 0; i < sk_X509_OBJECT_num(objs); i++) {
		X509 *ca = X509_OBJECT_get0_X509(sk_X509_OBJECT_value(objs, i));

		if (ca != NULL && X509_NAME_cmp(X509_get_subject_name(ca), name) == 0 &&
		    X509_NAME_cmp(X509_get_issuer_name(ca), name) == 0)
			return true;
	}
	return false;
}

int64_t
ms_tls_ctx_crl_next_ms(SSL_CTX *ctx, char *issuer, size_t issuersz)
{
	STACK_OF(X509_OBJECT) *objs = SSL_CTX_get_cert_store(ctx) ?
	    X509_STORE_get0_objects(SSL_CTX_get_cert_store(ctx)) : NULL;
	/* [0]: CRLs of the CAs below the roots (the enrolment CA); [1]: the roots' */
	int64_t soonest[2] = { INT64_MAX, INT64_MAX };
	char name[2][256] = { "", "" };
	int k;

	for (int i = 0; objs && i < sk_X509_OBJECT_num(objs); i++) {
		X509_CRL *crl = X509_OBJECT_get0_X509_CRL(sk_X509_OBJECT_value(objs, i));
		const ASN1_TIME *next = crl ? X509_CRL_get0_nextUpdate(crl) : NULL;
		struct tm tm;
		int64_t ms;

		if (next == NULL || ASN1_TIME_to_tm(next, &tm) != 1)
			continue;
		ms = (int64_t)timegm(&tm) * 1000;
		/*
		 * A root's CRL past its next update refuses no one below an
		 * intermediate (crl_ca_verify_cb), and with the root key offline
		 * pki crl keeps it as it is: it goes stale 180 days after pki
		 * init by design. It counts only when no CA below a root has a
		 * CRL here (the root signs the agents itself).
		 */
		k = crl_of_root(objs, X509_CRL_get_issuer(crl)) ? 1 : 0;
		if (ms < soonest[k]) {
			soonest[k] = ms;
			X509_NAME_oneline(X509_CRL_get_issuer(crl), name[k], (int)sizeof(name[k]));
		}
	}
	k = soonest[0] != INT64_MAX ? 0 : 1;
	if (issuersz)
		ms_copy(issuer, issuersz, name[k], strlen(name[k]));
	return soonest[k];
}

int
ms_tls_ctx_load_crl(SSL_CTX *ctx, const char *crl_file, char *err, size_t errsz)
{
	X509_STORE *store = SSL_CTX_get_cert_store(ctx);
	STACK_OF(X509_INFO) *infos = NULL;
	BIO *bio = NULL;
	char why[256];
	int ncrl = 0, rc = -1;

	if ((bio = BIO_new_file(crl_file, "r")) == NULL ||
	    (infos = PEM_X509_INFO_read_bio(bio, NULL, NULL, NULL)) == NULL) {
		snprintf(err, errsz, "cannot read CRL file %s: %s", crl_file,
		    ms_tls_errstr(why, sizeof(why)));
		goto out;
	}
	for (int i = 0; i < sk_X509_INFO_num(infos); i++) {
		X509_CRL *crl = sk_X509_INFO_value(infos, i)->crl;
		const ASN1_TIME *next;

		if (crl == NULL)
			continue;
		if (!crl_signer_ok(store, crl)) {
			char name[256];

			X509_NAME_oneline(X509_CRL_get_issuer(crl), name, sizeof(name));
			snprintf(err, errsz, "%s: the CRL of %s is not signed by the CA of that name in "
			    "tls.ca (a CRL of another deployment?)", crl_file, name);
			goto out;
		}
		if (X509_STORE_add_crl(store, crl) != 1) {
			snprintf(err, errsz, "%s: %s", crl_file, ms_tls_errstr(why, sizeof(why)));
			goto out;
		}
		ncrl++;
		/* Fail-closed: a CRL past its next update refuses every client. Say so now. */
		next = X509_CRL_get0_nextUpdate(crl);
		if (next != NULL && X509_cmp_current_time(next) <= 0)
			ms_warn_crl_expired(crl_file, crl);
	}
	if (ncrl == 0) {
		snprintf(err, errsz, "%s: no CRL in the file", crl_file);
		goto out;
	}
	/*
	 * Every certificate of the chain, not only the agent's: revoking the
	 * enrolment CA (an intermediate, sent by the agent) must refuse what a
	 * thief signs with its key. The file holds one CRL per CA (pki crl).
	 */
	X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL);
	X509_STORE_set_verify_cb(store, crl_ca_verify_cb);
	rc = 0;
out:
	sk_X509_INFO_pop_free(infos, X509_INFO_free);
	BIO_free(bio);
	return rc;
}

/* Whether a CRL of store lists cert (by its issuer's name and its serial). */
static bool
cert_revoked(X509_STORE *store, X509 *cert)
{
	STACK_OF(X509_OBJECT) *objs = X509_STORE_get0_objects(store);

	for (int i = 0; i < sk_X509_OBJECT_num(objs); i++) {
		X509_CRL *crl = X509_OBJECT_get0_X509_CRL(sk_X509_OBJECT_value(objs, i));
		X509_REVOKED *r = NULL;

		if (crl != NULL &&
		    X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_issuer_name(cert)) == 0 &&
		    X509_CRL_get0_by_cert(crl, &r, cert) == 1)
			return true;
	}
	return false;
}

bool
ms_tls_peer_revoked(SSL_CTX *ctx, SSL *ssl)
{
	X509_STORE *store = SSL_CTX_get_cert_store(ctx);
	STACK_OF(X509) *chain = SSL_get0_verified_chain(ssl);
	X509 *peer;
	bool revoked;

	/* The verified chain: the agent's certificate and every CA above it. */
	if (chain != NULL && sk_X509_num(chain) > 0) {
		for (int i = 0; i < sk_X509_num(chain); i++)
			if (cert_revoked(store, sk_X509_value(chain, i)))
				return true;
		return false;
	}
	if ((peer = SSL_get1_peer_certificate(ssl)) == NULL)
		return false;
	revoked = cert_revoked(store, peer);
	X509_free(peer);
	return revoked;
}

SSL_CTX *
ms_tls_client_ctx_new(const char *ca_file, const char *cert_file, const char *key_file,
    char *err, size_t errsz)
{
	SSL_CTX *ctx = tls_ctx_common(TLS_client_method(), ca_file, cert_file, key_file,
	    err, errsz);

	if (ctx == NULL)
		return NULL;
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	SSL_CTX_set_purpose(ctx, X509_PURPOSE_SSL_SERVER);
	return ctx;
}

int
ms_tls_client_set_peer_name(SSL *ssl, const char *server_name)
{
	X509_VERIFY_PARAM *param = SSL_get0_param(ssl);
	unsigned char ip[16];

	X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	if (inet_pton(AF_INET, server_name, ip) == 1 || inet_pton(AF_INET6, server_name, ip) == 1) {
		if (X509_VERIFY_PARAM_set1_ip_asc(param, server_name) != 1)
			return -1;
		return 0;
	}
	if (SSL_set_tlsext_host_name(ssl, server_name) != 1)
		return -1;
	if (SSL_set1_host(ssl, server_name) != 1)
		return -1;
	return 0;
}

static int
cn_of(X509 *cert, char *out, size_t outsz)
{
	X509_NAME *name = X509_get_subject_name(cert);
	int idx;
	X509_NAME_ENTRY *e;
	ASN1_STRING *s;
	const unsigned char *d;
	int len;

	if (name == NULL)
		return -1;
	idx = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
	if (idx < 0)
		return -1;
	/* Two CNs would make the identity ambiguous. */
	if (X509_NAME_get_index_by_NID(name, NID_commonName, idx) >= 0)
		return -1;
	if ((e = X509_NAME_get_entry(name, idx)) == NULL || (s = X509_NAME_ENTRY_get_data(e)) == NULL)
		return -1;
	d = ASN1_STRING_get0_data(s);
	len = ASN1_STRING_length(s);
	if (len <= 0 || (size_t)len >= outsz)
		return -1;
	for (int i = 0; i < len; i++) {
		unsigned char c = d[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_' || c == '@'))
			return -1;
	}
	memcpy(out, d, (size_t)len);
	out[len] = '\0';
	return 0;
}

int
ms_tls_peer_id(SSL *ssl, char *out, size_t outsz)
{
	X509 *peer;
	int rc;

	if (SSL_get_verify_result(ssl) != X509_V_OK)
		return -1;
	if ((peer = SSL_get1_peer_certificate(ssl)) == NULL)
		return -1;
	rc = cn_of(peer, out, outsz);
	X509_free(peer);
	return rc;
}

int
ms_tls_peer_pin(SSL *ssl, char out[65])
{
	X509 *peer = SSL_get1_peer_certificate(ssl);
	int rc;

	if (peer == NULL)
		return -1;
	rc = ms_pki_spki_sha256(peer, out);
	X509_free(peer);
	return rc;
}

int
ms_tls_cert_out_of_date(X509 *cert, char *out, size_t outsz)
{
	int64_t nb = ms_pki_cert_not_before(cert), na = ms_pki_cert_not_after(cert);
	int64_t now = (int64_t)time(NULL);
	char when[40];

	if (na >= 0 && na < now) {
		ms_fmt_time(when, sizeof(when), na * 1000);
		snprintf(out, outsz, "this agent's certificate expired at %s: collectors refuse it "
		    "(enrol again with a --replace token; events wait in the spool)", when);
		return 1;
	}
	if (nb > now) {
		ms_fmt_time(when, sizeof(when), nb * 1000);
		snprintf(out, outsz, "this agent's certificate is not valid before %s: collectors "
		    "refuse it until then (is this host's clock right?)", when);
		return 1;
	}
	return 0;
}

int
ms_tls_cert_file_cn(const char *cert_file, char *out, size_t outsz)
{
	FILE *f = fopen(cert_file, "r");
	X509 *cert;
	int rc;

	if (f == NULL)
		return -1;
	cert = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (cert == NULL)
		return -1;
	rc = cn_of(cert, out, outsz);
	X509_free(cert);
	return rc;
}
