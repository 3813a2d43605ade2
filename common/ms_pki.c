#include "ms_pki.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>

#include "ms_proto.h"
#include "ms_tls.h"
#include "ms_util.h"

/*
 * Issued certificates start this long ago (a tenth of their lifetime at
 * most): a host whose clock is a bit behind still accepts them.
 */
#define PKI_BACKDATE_S 300

bool
ms_pki_id_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > MS_PKI_MAX_ID)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_' || c == '@'))
			return false;
	}
	return true;
}

EVP_PKEY *
ms_pki_key_new(void)
{
	return EVP_EC_gen("P-256");
}

int
ms_pki_file_write(const char *path, const void *data, size_t len, int mode, char *err,
    size_t errsz)
{
	char tmp[4200];
	int fd = -1;
	size_t off = 0;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof(tmp)) {
		snprintf(err, errsz, "%s: path too long", path);
		return -1;
	}
	/* O_EXCL: never write through a link someone left at the temporary name. */
	unlink(tmp);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode)) < 0) {
		/* The file asked for is named: the temporary one is ours. */
		snprintf(err, errsz, "cannot write %s: %s", path, strerror(errno));
		return -1;
	}
	if (fchmod(fd, (mode_t)mode) < 0)
		goto fail;
	while (off < len) {
		ssize_t w = write(fd, (const char *)data + off, len - off);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		off += (size_t)w;
	}
	if (fsync(fd) < 0 || close(fd) < 0) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) < 0)
		goto fail;
	return 0;
fail:
	snprintf(err, errsz, "cannot write %s: %s", path, strerror(errno));
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return -1;
}

/* The PEM text of whatever write() puts into a memory BIO, then written to path. */
static int
bio_to_file(BIO *bio, const char *path, int mode, char *err, size_t errsz)
{
	char *data;
	long len = BIO_get_mem_data(bio, &data);

	if (len <= 0) {
		snprintf(err, errsz, "%s: nothing to write", path);
		return -1;
	}
	return ms_pki_file_write(path, data, (size_t)len, mode, err, errsz);
}

int
ms_pki_key_write(const char *path, EVP_PKEY *key, char *err, size_t errsz)
{
	BIO *bio = BIO_new(BIO_s_mem());
	int rc = -1;

	if (bio == NULL || PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL) != 1) {
		snprintf(err, errsz, "cannot encode the key for %s", path);
		goto out;
	}
	rc = bio_to_file(bio, path, 0600, err, errsz);
out:
	BIO_free(bio);
	return rc;
}

EVP_PKEY *
ms_pki_key_read(const char *path, char *err, size_t errsz)
{
	BIO *bio = BIO_new_file(path, "r");
	EVP_PKEY *k = NULL;
	char why[256];

	if (bio == NULL || (k = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL)) == NULL)
		snprintf(err, errsz, "cannot read key %s: %s", path, ms_tls_errstr(why, sizeof(why)));
	BIO_free(bio);
	return k;
}

X509 *
ms_pki_cert_read(const char *path, char *err, size_t errsz)
{
	BIO *bio = BIO_new_file(path, "r");
	X509 *c = NULL;
	char why[256];

	if (bio == NULL || (c = PEM_read_bio_X509(bio, NULL, NULL, NULL)) == NULL)
		snprintf(err, errsz, "cannot read certificate %s: %s", path,
		    ms_tls_errstr(why, sizeof(why)));
	BIO_free(bio);
	return c;
}

static STACK_OF(X509) *
chain_from_bio(BIO *bio)
{
	STACK_OF(X509) *sk = sk_X509_new_null();
	X509 *c;

	if (sk == NULL)
		return NULL;
	while ((c = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
		if (sk_X509_push(sk, c) <= 0) {
			X509_free(c);
			break;
		}
	}
	ERR_clear_error();	/* the end of the file is an "error" too */
	if (sk_X509_num(sk) == 0) {
		sk_X509_free(sk);
		return NULL;
	}
	return sk;
}

STACK_OF(X509) *
ms_pki_chain_read(const char *path, char *err, size_t errsz)
{
	BIO *bio = BIO_new_file(path, "r");
	STACK_OF(X509) *sk = bio ? chain_from_bio(bio) : NULL;

	if (sk == NULL)
		snprintf(err, errsz, "cannot read certificates from %s", path);
	BIO_free(bio);
	return sk;
}

STACK_OF(X509) *
ms_pki_pem_parse(const char *pem, size_t len)
{
	BIO *bio;
	STACK_OF(X509) *sk;

	if (len == 0 || len > INT32_MAX || (bio = BIO_new_mem_buf(pem, (int)len)) == NULL)
		return NULL;
	sk = chain_from_bio(bio);
	BIO_free(bio);
	return sk;
}

int
ms_pki_pem_certs(struct ms_buf *out, X509 *const *certs, size_t n)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data;
	long len;
	int rc = -1;

	if (bio == NULL)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (PEM_write_bio_X509(bio, certs[i]) != 1)
			goto out;
	len = BIO_get_mem_data(bio, &data);
	if (len > 0 && ms_buf_add(out, data, (size_t)len) == 0)
		rc = 0;
out:
	BIO_free(bio);
	return rc;
}

/* A random positive serial of 128 bits (top bit clear: DER keeps it 16 bytes). */
static int
random_serial(X509 *x)
{
	unsigned char b[16];
	BIGNUM *bn = NULL;
	int rc = -1;

	if (RAND_bytes(b, sizeof(b)) != 1)
		return -1;
	b[0] = (unsigned char)((b[0] & 0x7f) | 0x40);	/* never zero, never negative */
	if ((bn = BN_bin2bn(b, sizeof(b), NULL)) != NULL &&
	    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL)
		rc = 0;
	BN_free(bn);
	return rc;
}

static int
add_ext(X509 *issuer, X509 *x, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;
	int rc;

	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, issuer ? issuer : x, x, NULL, NULL, 0);
	if ((ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value)) == NULL)
		return -1;
	rc = X509_add_ext(x, ext, -1) == 1 ? 0 : -1;
	X509_EXTENSION_free(ext);
	return rc;
}

static int
set_name(X509_NAME *n, const char *cn)
{
	if (X509_NAME_add_entry_by_txt(n, "O", MBSTRING_ASC, (const unsigned char *)"minisoc", -1,
	    -1, 0) != 1)
		return -1;
	if (cn && cn[0] && X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8,
	    (const unsigned char *)cn, -1, -1, 0) != 1)
		return -1;
	return 0;
}

X509 *
ms_pki_ca_new(EVP_PKEY *key, const char *cn, int64_t validity_s, char *err, size_t errsz)
{
	X509 *x = X509_new();
	char why[256];

	if (x == NULL || X509_set_version(x, X509_VERSION_3) != 1 || random_serial(x) < 0 ||
	    X509_gmtime_adj(X509_getm_notBefore(x), -PKI_BACKDATE_S) == NULL ||
	    X509_gmtime_adj(X509_getm_notAfter(x), (long)validity_s) == NULL ||
	    set_name(X509_get_subject_name(x), cn) < 0 ||
	    X509_set_issuer_name(x, X509_get_subject_name(x)) != 1 || X509_set_pubkey(x, key) != 1 ||
	    add_ext(NULL, x, NID_basic_constraints, "critical,CA:TRUE") < 0 ||
	    add_ext(NULL, x, NID_key_usage, "critical,keyCertSign,cRLSign") < 0 ||
	    add_ext(NULL, x, NID_subject_key_identifier, "hash") < 0 ||
	    X509_sign(x, key, EVP_sha256()) <= 0) {
		snprintf(err, errsz, "cannot create the CA certificate: %s",
		    ms_tls_errstr(why, sizeof(why)));
		X509_free(x);
		return NULL;
	}
	return x;
}

X509 *
ms_pki_issue(X509 *ca, EVP_PKEY *ca_key, EVP_PKEY *pub, const struct ms_pki_profile *p,
    char *err, size_t errsz)
{
	X509 *x = NULL;
	struct ms_buf san;
	char why[256];
	int64_t ca_end = ms_pki_cert_not_after(ca), now = (int64_t)time(NULL), end;

	ms_buf_init(&san, 8192);
	if (!ms_pki_id_ok(p->cn) || (p->kind == MS_PKI_AGENT &&
	    (p->system == NULL || !ms_pki_id_ok(p->system)))) {
		snprintf(err, errsz, "invalid name or system id");
		goto fail;
	}
	if (p->validity_s <= 0 || ca_end < 0 || ca_end <= now) {
		snprintf(err, errsz, "no validity left (the CA expires %lld)", (long long)ca_end);
		goto fail;
	}
	end = now + p->validity_s;
	if (end > ca_end)
		end = ca_end;	/* a certificate never outlives its issuer */
	if (X509_check_private_key(ca, ca_key) != 1) {
		snprintf(err, errsz, "the CA key does not match the CA certificate");
		goto fail;
	}
	if ((x = X509_new()) == NULL || X509_set_version(x, X509_VERSION_3) != 1 ||
	    random_serial(x) < 0 || X509_gmtime_adj(X509_getm_notBefore(x),
	    -(p->validity_s / 10 < PKI_BACKDATE_S ? (long)(p->validity_s / 10) : PKI_BACKDATE_S)) == NULL ||
	    X509_time_adj_ex(X509_getm_notAfter(x), 0, (long)(end - now), NULL) == NULL ||
	    set_name(X509_get_subject_name(x), p->cn) < 0 ||
	    X509_set_issuer_name(x, X509_get_subject_name(ca)) != 1 || X509_set_pubkey(x, pub) != 1)
		goto fail_ssl;
	switch (p->kind) {
	case MS_PKI_AGENT:
		ms_buf_printf(&san, "URI:%s%s", MS_PKI_SYSTEM_URN, p->system);
		if (add_ext(ca, x, NID_basic_constraints, "critical,CA:FALSE") < 0 ||
		    add_ext(ca, x, NID_key_usage, "critical,digitalSignature") < 0 ||
		    add_ext(ca, x, NID_ext_key_usage, "clientAuth") < 0)
			goto fail_ssl;
		break;
	case MS_PKI_SERVER:
		ms_buf_printf(&san, "DNS:%s", p->cn);
		for (size_t i = 0; i < p->ndns; i++)
			if (strcmp(p->dns[i], p->cn) != 0)
				ms_buf_printf(&san, ",DNS:%s", p->dns[i]);
		for (size_t i = 0; i < p->nips; i++)
			ms_buf_printf(&san, ",IP:%s", p->ips[i]);
		if (add_ext(ca, x, NID_basic_constraints, "critical,CA:FALSE") < 0 ||
		    add_ext(ca, x, NID_key_usage, "critical,digitalSignature") < 0 ||
		    add_ext(ca, x, NID_ext_key_usage, "serverAuth") < 0)
			goto fail_ssl;
		break;
	case MS_PKI_SUB_CA:
		/*
		 * EKU clientAuth on the CA itself: OpenSSL then refuses a TLS server
		 * certificate below it, so a thief of this key (it is online, on
		 * the collector) cannot pose as a collector to the agents, which
		 * have no CRL to learn of its revocation.
		 */
		if (add_ext(ca, x, NID_basic_constraints, "critical,CA:TRUE,pathlen:0") < 0 ||
		    add_ext(ca, x, NID_key_usage, "critical,keyCertSign,cRLSign") < 0 ||
		    add_ext(ca, x, NID_ext_key_usage, "clientAuth") < 0)
			goto fail_ssl;
		break;
	}
	if (san.toobig) {
		snprintf(err, errsz, "too many names");
		goto fail;
	}
	if ((san.len && add_ext(ca, x, NID_subject_alt_name, san.data) < 0) ||
	    add_ext(ca, x, NID_subject_key_identifier, "hash") < 0 ||
	    add_ext(ca, x, NID_authority_key_identifier, "keyid:always") < 0 ||
	    X509_sign(x, ca_key, EVP_sha256()) <= 0)
		goto fail_ssl;
	ms_buf_fini(&san);
	return x;
fail_ssl:
	snprintf(err, errsz, "cannot issue the certificate: %s", ms_tls_errstr(why, sizeof(why)));
fail:
	ms_buf_fini(&san);
	X509_free(x);
	return NULL;
}

X509_REQ *
ms_pki_csr_new(EVP_PKEY *key, const char *cn)
{
	X509_REQ *r = X509_REQ_new();

	if (r == NULL || X509_REQ_set_version(r, 0) != 1 ||
	    set_name(X509_REQ_get_subject_name(r), cn) < 0 || X509_REQ_set_pubkey(r, key) != 1 ||
	    X509_REQ_sign(r, key, EVP_sha256()) <= 0) {
		X509_REQ_free(r);
		return NULL;
	}
	return r;
}

int
ms_pki_csr_der(X509_REQ *req, struct ms_buf *out)
{
	unsigned char *der = NULL;
	int len = i2d_X509_REQ(req, &der);
	int rc;

	if (len <= 0)
		return -1;
	rc = ms_buf_add(out, der, (size_t)len);
	OPENSSL_free(der);
	return rc;
}

/*
 * Whether the key is one we issue for: EC P-256/P-384, or RSA of 2048 to
 * 4096 bits with a public exponent of at most 32 bits. Checked before the
 * request's signature: a client of the enrolment port (not authenticated)
 * chooses the key, and a 3072-bit exponent or a 15,000-bit modulus made
 * that check cost the collector's event loop about 13 ms a request (0.1 ms
 * for an agent's P-256 key).
 */
static int
key_ok(EVP_PKEY *k, char *err, size_t errsz)
{
	char group[64];
	size_t glen = 0;

	if (EVP_PKEY_is_a(k, "EC")) {
		if (EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_GROUP_NAME, group,
		    sizeof(group), &glen) != 1 ||
		    (strcmp(group, "prime256v1") != 0 && strcmp(group, "secp384r1") != 0)) {
			snprintf(err, errsz, "EC key on an unsupported curve");
			return -1;
		}
		return 0;
	}
	if (EVP_PKEY_is_a(k, "RSA")) {
		BIGNUM *e = NULL;
		int ebits;

		if (EVP_PKEY_get_bits(k) < 2048) {
			snprintf(err, errsz, "RSA key under 2048 bits");
			return -1;
		}
		if (EVP_PKEY_get_bits(k) > 4096) {
			snprintf(err, errsz, "RSA key over 4096 bits");
			return -1;
		}
		if (EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_RSA_E, &e) != 1) {
			ERR_clear_error();
			snprintf(err, errsz, "RSA key without a public exponent");
			return -1;
		}
		ebits = BN_num_bits(e);
		BN_free(e);
		if (ebits > 32) {
			snprintf(err, errsz, "RSA public exponent of %d bits (at most 32)", ebits);
			return -1;
		}
		return 0;
	}
	snprintf(err, errsz, "unsupported key type");
	return -1;
}

X509_REQ *
ms_pki_csr_parse(const uint8_t *der, size_t len, char *err, size_t errsz)
{
	const unsigned char *p = der;
	X509_REQ *r;
	EVP_PKEY *k;

	if (len == 0 || len > MS_ENROLL_MAX_CSR) {
		snprintf(err, errsz, "request of %zu bytes", len);
		return NULL;
	}
	if ((r = d2i_X509_REQ(NULL, &p, (long)len)) == NULL || p != der + len) {
		ERR_clear_error();
		snprintf(err, errsz, "not a DER certificate request");
		X509_REQ_free(r);
		return NULL;
	}
	if ((k = X509_REQ_get0_pubkey(r)) == NULL || key_ok(k, err, errsz) < 0) {
		if (k == NULL)
			snprintf(err, errsz, "request without a usable key");
		X509_REQ_free(r);
		return NULL;
	}
	/* Proof of possession: the request is signed by the key it carries. */
	if (X509_REQ_verify(r, k) != 1) {
		ERR_clear_error();
		snprintf(err, errsz, "request signature does not verify");
		X509_REQ_free(r);
		return NULL;
	}
	return r;
}

int
ms_pki_spki_sha256(X509 *cert, char out[65])
{
	unsigned char *der = NULL, md[SHA256_DIGEST_LENGTH];
	int len = i2d_PUBKEY(X509_get0_pubkey(cert), &der);

	if (len <= 0)
		return -1;
	SHA256(der, (size_t)len, md);
	OPENSSL_free(der);
	for (size_t i = 0; i < sizeof(md); i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	return 0;
}

int
ms_pki_serial_hex(X509 *cert, char *out, size_t outsz)
{
	BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), NULL);
	char *hex = bn ? BN_bn2hex(bn) : NULL;
	int rc = -1;

	if (hex && strlen(hex) < outsz) {
		for (size_t i = 0; hex[i]; i++)
			out[i] = (hex[i] >= 'A' && hex[i] <= 'F') ? (char)(hex[i] - 'A' + 'a') : hex[i];
		out[strlen(hex)] = '\0';
		rc = 0;
	}
	OPENSSL_free(hex);
	BN_free(bn);
	return rc;
}

int
ms_pki_cert_cn(X509 *cert, char *out, size_t outsz)
{
	X509_NAME *name = X509_get_subject_name(cert);
	int idx = name ? X509_NAME_get_index_by_NID(name, NID_commonName, -1) : -1;
	ASN1_STRING *s;
	int len;

	if (idx < 0 || X509_NAME_get_index_by_NID(name, NID_commonName, idx) >= 0)
		return -1;
	s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, idx));
	len = s ? ASN1_STRING_length(s) : -1;
	if (len <= 0 || (size_t)len >= outsz)
		return -1;
	memcpy(out, ASN1_STRING_get0_data(s), (size_t)len);
	out[len] = '\0';
	return ms_pki_id_ok(out) ? 0 : -1;
}

int
ms_pki_cert_system(X509 *cert, char *out, size_t outsz)
{
	GENERAL_NAMES *gens = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
	const size_t plen = strlen(MS_PKI_SYSTEM_URN);
	int rc = -1;

	for (int i = 0; gens && i < sk_GENERAL_NAME_num(gens) && rc < 0; i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
		const char *d;
		int len;

		if (g->type != GEN_URI)
			continue;
		d = (const char *)ASN1_STRING_get0_data(g->d.uniformResourceIdentifier);
		len = ASN1_STRING_length(g->d.uniformResourceIdentifier);
		if (len <= (int)plen || strncmp(d, MS_PKI_SYSTEM_URN, plen) != 0 ||
		    (size_t)len - plen >= outsz)
			continue;
		memcpy(out, d + plen, (size_t)len - plen);
		out[len - plen] = '\0';
		if (ms_pki_id_ok(out))
			rc = 0;
	}
	GENERAL_NAMES_free(gens);
	return rc;
}

static int64_t
asn1_time_s(const ASN1_TIME *t)
{
	struct tm tm;

	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
		return -1;
	return ms_days_from_civil(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday) * 86400 +
	    tm.tm_hour * 3600 + tm.tm_min * 60 + tm.tm_sec;
}

int64_t
ms_pki_cert_not_before(X509 *cert)
{
	return asn1_time_s(X509_get0_notBefore(cert));
}

int64_t
ms_pki_cert_not_after(X509 *cert)
{
	return asn1_time_s(X509_get0_notAfter(cert));
}

int
ms_pki_crl_pem(struct ms_buf *out, X509 *ca, EVP_PKEY *ca_key,
    const struct ms_pki_revoked *revoked, size_t n, int64_t next_update_s, char *err,
    size_t errsz)
{
	X509_CRL *crl = X509_CRL_new();
	ASN1_TIME *t = ASN1_TIME_new();
	BIO *bio = NULL;
	char why[256];
	int rc = -1;

	if (crl == NULL || t == NULL || X509_CRL_set_version(crl, 1) != 1 ||
	    X509_CRL_set_issuer_name(crl, X509_get_subject_name(ca)) != 1 ||
	    X509_gmtime_adj(t, -PKI_BACKDATE_S) == NULL || X509_CRL_set1_lastUpdate(crl, t) != 1 ||
	    X509_gmtime_adj(t, (long)next_update_s) == NULL || X509_CRL_set1_nextUpdate(crl, t) != 1)
		goto fail_ssl;
	for (size_t i = 0; i < n; i++) {
		X509_REVOKED *r = X509_REVOKED_new();
		BIGNUM *bn = NULL;
		ASN1_INTEGER *serial = NULL;
		ASN1_TIME *when = ASN1_TIME_set(NULL, (time_t)revoked[i].time_s);
		int ok = r && when && BN_hex2bn(&bn, revoked[i].serial) > 0 &&
		    (serial = BN_to_ASN1_INTEGER(bn, NULL)) != NULL &&
		    X509_REVOKED_set_serialNumber(r, serial) == 1 &&
		    X509_REVOKED_set_revocationDate(r, when) == 1 && X509_CRL_add0_revoked(crl, r) == 1;

		BN_free(bn);
		ASN1_INTEGER_free(serial);
		ASN1_TIME_free(when);
		if (!ok) {
			X509_REVOKED_free(r);
			snprintf(err, errsz, "bad serial %s", revoked[i].serial);
			goto fail;
		}
	}
	if (X509_CRL_sort(crl) != 1 || X509_CRL_sign(crl, ca_key, EVP_sha256()) <= 0 ||
	    (bio = BIO_new(BIO_s_mem())) == NULL || PEM_write_bio_X509_CRL(bio, crl) != 1)
		goto fail_ssl;
	{
		char *data;
		long len = BIO_get_mem_data(bio, &data);
		if (len <= 0 || ms_buf_add(out, data, (size_t)len) < 0) {
			snprintf(err, errsz, "CRL too big");
			goto out;
		}
	}
	rc = 0;
	goto out;
fail_ssl:
	snprintf(err, errsz, "cannot build the CRL: %s", ms_tls_errstr(why, sizeof(why)));
fail:
out:
	BIO_free(bio);
	ASN1_TIME_free(t);
	X509_CRL_free(crl);
	return rc;
}

/* --- tokens ----------------------------------------------------------- */

static bool
hex64(const char *s)
{
	for (int i = 0; i < 64; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

int
ms_pki_token_parse(const char *s, struct ms_pki_token *t)
{
	if (strlen(s) != MS_PKI_TOKEN_LEN || s[64] != '.' || !hex64(s) || !hex64(s + 65))
		return -1;
	memcpy(t->secret, s, 64);
	t->secret[64] = '\0';
	memcpy(t->ca_pin, s + 65, 64);
	t->ca_pin[64] = '\0';
	return 0;
}

int
ms_pki_token_secret(char out[65])
{
	unsigned char b[32];

	if (RAND_bytes(b, sizeof(b)) != 1)
		return -1;
	for (size_t i = 0; i < sizeof(b); i++)
		snprintf(out + 2 * i, 3, "%02x", b[i]);
	OPENSSL_cleanse(b, sizeof(b));
	return 0;
}

void
ms_pki_token_hash(const char *secret, char out[65])
{
	unsigned char md[SHA256_DIGEST_LENGTH];

	SHA256((const unsigned char *)secret, strlen(secret), md);
	for (size_t i = 0; i < sizeof(md); i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

int
ms_pki_parse_duration(const char *s, int64_t min, int64_t max, int64_t *out)
{
	char num[32];
	size_t n = strlen(s);
	int64_t mult = 1, v;

	if (n == 0 || n >= sizeof(num))
		return -1;
	memcpy(num, s, n + 1);
	switch (num[n - 1]) {
	case 's': mult = 1; num[--n] = '\0'; break;
	case 'm': mult = 60; num[--n] = '\0'; break;
	case 'h': mult = 3600; num[--n] = '\0'; break;
	case 'd': mult = 86400; num[--n] = '\0'; break;
	default: break;
	}
	if (ms_parse_i64(num, 0, INT64_MAX / 86400, &v) < 0 || v * mult < min || v * mult > max)
		return -1;
	*out = v * mult;
	return 0;
}

/* --- wire format ------------------------------------------------------- */

static int
frame_begin(struct ms_buf *out, enum ms_msg_type type, size_t *mark)
{
	uint8_t hdr[MS_PROTO_HDR_LEN];

	*mark = out->len;
	ms_proto_hdr_write(hdr, type, 0);
	return ms_buf_add(out, hdr, sizeof(hdr));
}

/* Fills in the length of the frame begun at mark; -1 (frame removed) when out overflowed. */
static int
frame_end(struct ms_buf *out, enum ms_msg_type type, size_t mark)
{
	if (out->toobig || out->len - mark - MS_PROTO_HDR_LEN > UINT32_MAX) {
		out->len = mark;
		return -1;
	}
	ms_proto_hdr_write((uint8_t *)out->data + mark, type,
	    (uint32_t)(out->len - mark - MS_PROTO_HDR_LEN));
	return 0;
}

static void
tlv_add(struct ms_buf *out, uint8_t tag, const void *v, size_t len)
{
	uint8_t h[3] = { tag, (uint8_t)(len >> 8), (uint8_t)len };

	if (len > 0xffff) {
		out->toobig = true;
		return;
	}
	ms_buf_add(out, h, 3);
	ms_buf_add(out, v, len);
}

int
ms_enroll_req_encode(struct ms_buf *out, const struct ms_enroll_req *r)
{
	size_t mark;

	if (frame_begin(out, MS_MSG_ENROLL, &mark) < 0)
		return -1;
	if (r->token[0])
		tlv_add(out, MS_ENROLL_TOKEN, r->token, strlen(r->token));
	tlv_add(out, MS_ENROLL_CSR, r->csr, r->csr_len);
	if (r->version[0])
		tlv_add(out, MS_ENROLL_VERSION, r->version, strnlen(r->version, sizeof(r->version)));
	if (r->hostname[0])
		tlv_add(out, MS_ENROLL_HOSTNAME, r->hostname, strnlen(r->hostname, sizeof(r->hostname)));
	return frame_end(out, MS_MSG_ENROLL, mark);
}

/* An informational string: copied, control bytes replaced. */
static void
req_str(char *dst, size_t dstsz, const uint8_t *v, size_t len)
{
	size_t n = ms_copy(dst, dstsz, (const char *)v, len);

	for (size_t i = 0; i < n; i++)
		if ((unsigned char)dst[i] < 0x20 || dst[i] == 0x7f)
			dst[i] = '?';
}

int
ms_enroll_req_decode(const uint8_t *p, size_t len, struct ms_enroll_req *r, const char **why)
{
	const uint8_t *end = p + len;
	unsigned seen = 0;

	memset(r, 0, sizeof(*r));
	if (len > MS_ENROLL_MAX_REQUEST) {
		*why = "too_big";
		return -1;
	}
	while (p < end) {
		uint8_t tag;
		size_t vlen;

		if ((size_t)(end - p) < 3) {
			*why = "truncated";
			return -1;
		}
		tag = p[0];
		vlen = ((size_t)p[1] << 8) | p[2];
		p += 3;
		if ((size_t)(end - p) < vlen) {
			*why = "truncated";
			return -1;
		}
		if (tag >= 1 && tag <= 31) {
			if (seen & (1u << tag)) {
				*why = "duplicate_item";
				return -1;
			}
			seen |= 1u << tag;
		}
		switch (tag) {
		case MS_ENROLL_TOKEN:
			if (vlen != 64) {
				*why = "bad_token";
				return -1;
			}
			memcpy(r->token, p, 64);
			r->token[64] = '\0';
			if (!hex64(r->token)) {
				*why = "bad_token";
				return -1;
			}
			break;
		case MS_ENROLL_CSR:
			if (vlen == 0 || vlen > MS_ENROLL_MAX_CSR) {
				*why = "bad_csr_length";
				return -1;
			}
			r->csr = p;
			r->csr_len = vlen;
			break;
		case MS_ENROLL_VERSION:
			req_str(r->version, sizeof(r->version), p, vlen);
			break;
		case MS_ENROLL_HOSTNAME:
			req_str(r->hostname, sizeof(r->hostname), p, vlen);
			break;
		default:
			break;	/* newer agents may say more */
		}
		p += vlen;
	}
	if (r->csr == NULL) {
		*why = "no_csr";
		return -1;
	}
	return 0;
}

const char *
ms_enroll_code_name(int code)
{
	static const char *const names[MS_ENROLL_CODE_N] = {
		"ok", "bad_request", "token_unknown", "token_expired", "token_used",
		"already_enrolled", "bad_csr", "unavailable", "not_allowed",
	};

	return code >= 0 && code < MS_ENROLL_CODE_N ? names[code] : "unknown_code";
}

int
ms_enroll_result_encode(struct ms_buf *out, uint16_t code, const char *msg, const char *chain,
    size_t chain_len)
{
	size_t mark, mlen = msg ? strlen(msg) : 0;
	uint8_t b[4];

	if (mlen > 1024)
		mlen = 1024;
	if (frame_begin(out, MS_MSG_ENROLL_RESULT, &mark) < 0)
		return -1;
	b[0] = (uint8_t)(code >> 8);
	b[1] = (uint8_t)code;
	ms_buf_add(out, b, 2);
	b[0] = (uint8_t)(mlen >> 8);
	b[1] = (uint8_t)mlen;
	ms_buf_add(out, b, 2);
	ms_buf_add(out, msg ? msg : "", mlen);
	b[0] = (uint8_t)(chain_len >> 24);
	b[1] = (uint8_t)(chain_len >> 16);
	b[2] = (uint8_t)(chain_len >> 8);
	b[3] = (uint8_t)chain_len;
	ms_buf_add(out, b, 4);
	if (chain_len)
		ms_buf_add(out, chain, chain_len);
	return frame_end(out, MS_MSG_ENROLL_RESULT, mark);
}

int
ms_enroll_result_decode(const uint8_t *p, size_t len, uint16_t *code, char *msg, size_t msgsz,
    const char **chain, size_t *chain_len)
{
	size_t mlen, clen;

	if (len < 4)
		return -1;
	*code = (uint16_t)((p[0] << 8) | p[1]);
	mlen = ((size_t)p[2] << 8) | p[3];
	p += 4;
	len -= 4;
	if (len < mlen + 4)
		return -1;
	req_str(msg, msgsz, p, mlen);
	p += mlen;
	len -= mlen;
	clen = ((size_t)p[0] << 24) | ((size_t)p[1] << 16) | ((size_t)p[2] << 8) | p[3];
	p += 4;
	len -= 4;
	if (clen != len)
		return -1;
	*chain = (const char *)p;
	*chain_len = clen;
	return 0;
}
