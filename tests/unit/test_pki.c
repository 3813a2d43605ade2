/*
 * Unit tests of ms_pki: CA and issued certificates verify with OpenSSL's
 * own verifier for what they are for (and only that), a CSR asking for
 * CA:TRUE or serverAuth gets a plain client certificate anyway, tampered
 * and weak requests are refused, CRLs revoke, tokens and the enrolment
 * frames round-trip and refuse malformed bytes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>

#include "ms_pki.h"
#include "ms_proto.h"

static EVP_PKEY *ca_key;
static X509 *ca;

static int
setup(void **state)
{
	char err[256];

	ca_key = ms_pki_key_new();
	ca = ms_pki_ca_new(ca_key, "test CA", 86400 * 365, err, sizeof(err));
	return ca ? 0 : -1;
}

static int
teardown(void **state)
{
	X509_free(ca);
	EVP_PKEY_free(ca_key);
	return 0;
}

/* OpenSSL's verdict on cert against ca for purpose (X509_PURPOSE_*). */
static int
verify(X509 *cert, int purpose, X509_CRL *crl)
{
	X509_STORE *store = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	int rc;

	X509_STORE_add_cert(store, ca);
	if (crl) {
		X509_STORE_add_crl(store, crl);
		X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK);
	}
	X509_STORE_CTX_init(ctx, store, cert, NULL);
	X509_STORE_CTX_set_purpose(ctx, purpose);
	rc = X509_verify_cert(ctx) == 1 ? X509_V_OK : X509_STORE_CTX_get_error(ctx);
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	return rc;
}

static X509 *
issue_agent(EVP_PKEY *pub, const char *id, const char *sys)
{
	struct ms_pki_profile p = { .kind = MS_PKI_AGENT, .cn = id, .system = sys,
		.validity_s = 3600 };
	char err[256];
	X509 *x = ms_pki_issue(ca, ca_key, pub, &p, err, sizeof(err));

	if (x == NULL)
		fail_msg("issue: %s", err);
	return x;
}

static void
test_ca(void **state)
{
	char pin[65];

	assert_int_equal(verify(ca, X509_PURPOSE_ANY, NULL), X509_V_OK);
	assert_int_equal(X509_check_ca(ca), 1);
	assert_int_equal(ms_pki_spki_sha256(ca, pin), 0);
	assert_int_equal(strlen(pin), 64);
}

static void
test_agent_cert(void **state)
{
	EVP_PKEY *k = ms_pki_key_new();
	X509 *x = issue_agent(k, "web-01", "erp");
	char buf[128];
	int64_t nb = ms_pki_cert_not_before(x), na = ms_pki_cert_not_after(x), now = time(NULL);

	assert_int_equal(verify(x, X509_PURPOSE_SSL_CLIENT, NULL), X509_V_OK);
	/* Not a server, not a CA. */
	assert_int_not_equal(verify(x, X509_PURPOSE_SSL_SERVER, NULL), X509_V_OK);
	assert_int_equal(X509_check_ca(x), 0);
	assert_int_equal(ms_pki_cert_cn(x, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "web-01");
	assert_int_equal(ms_pki_cert_system(x, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "erp");
	assert_true(nb <= now && nb >= now - 400);
	assert_true(na >= now + 3590 && na <= now + 3610);
	assert_int_equal(ms_pki_serial_hex(x, buf, sizeof(buf)), 0);
	assert_int_equal(strlen(buf), 32);	/* 128 bits, top bits set by us */
	X509_free(x);
	EVP_PKEY_free(k);
}

static void
test_server_cert(void **state)
{
	EVP_PKEY *k = ms_pki_key_new();
	const char *dns[] = { "localhost" }, *ips[] = { "127.0.0.1" };
	struct ms_pki_profile p = { .kind = MS_PKI_SERVER, .cn = "collector.example",
		.dns = dns, .ndns = 1, .ips = ips, .nips = 1, .validity_s = 3600 };
	char err[256];
	X509 *x = ms_pki_issue(ca, ca_key, k, &p, err, sizeof(err));

	assert_non_null(x);
	assert_int_equal(verify(x, X509_PURPOSE_SSL_SERVER, NULL), X509_V_OK);
	assert_int_not_equal(verify(x, X509_PURPOSE_SSL_CLIENT, NULL), X509_V_OK);
	assert_int_equal(X509_check_host(x, "collector.example", 0, 0, NULL), 1);
	assert_int_equal(X509_check_host(x, "localhost", 0, 0, NULL), 1);
	assert_int_equal(X509_check_ip_asc(x, "127.0.0.1", 0), 1);
	assert_int_not_equal(X509_check_host(x, "other.example", 0, 0, NULL), 1);
	X509_free(x);
	EVP_PKEY_free(k);
}

/* A CSR asking for CA:TRUE and serverAuth, with a subject naming someone else. */
static void
test_csr_extensions_ignored(void **state)
{
	EVP_PKEY *k = ms_pki_key_new();
	X509_REQ *r = X509_REQ_new();
	STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
	struct ms_buf der;
	char err[256], cn[128];
	X509_REQ *parsed;
	X509 *x;

	X509_NAME_add_entry_by_txt(X509_REQ_get_subject_name(r), "CN", MBSTRING_ASC,
	    (const unsigned char *)"admin", -1, -1, 0);
	sk_X509_EXTENSION_push(exts, X509V3_EXT_conf_nid(NULL, NULL, NID_basic_constraints,
	    "critical,CA:TRUE"));
	sk_X509_EXTENSION_push(exts, X509V3_EXT_conf_nid(NULL, NULL, NID_ext_key_usage,
	    "serverAuth,clientAuth"));
	X509_REQ_add_extensions(r, exts);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	X509_REQ_set_pubkey(r, k);
	X509_REQ_sign(r, k, EVP_sha256());
	ms_buf_init(&der, 65536);
	assert_int_equal(ms_pki_csr_der(r, &der), 0);
	parsed = ms_pki_csr_parse((const uint8_t *)der.data, der.len, err, sizeof(err));
	assert_non_null(parsed);
	x = issue_agent(X509_REQ_get0_pubkey(parsed), "web-02", "erp");
	assert_int_equal(X509_check_ca(x), 0);
	assert_int_not_equal(verify(x, X509_PURPOSE_SSL_SERVER, NULL), X509_V_OK);
	assert_int_equal(verify(x, X509_PURPOSE_SSL_CLIENT, NULL), X509_V_OK);
	assert_int_equal(ms_pki_cert_cn(x, cn, sizeof(cn)), 0);
	assert_string_equal(cn, "web-02");	/* the token's id, never the CSR's subject */
	X509_free(x);
	X509_REQ_free(parsed);
	X509_REQ_free(r);
	ms_buf_fini(&der);
	EVP_PKEY_free(k);
}

static void
test_csr_refused(void **state)
{
	EVP_PKEY *k = ms_pki_key_new(), *rsa;
	X509_REQ *r = ms_pki_csr_new(k, "x");
	struct ms_buf der;
	char err[256];

	ms_buf_init(&der, 65536);
	assert_int_equal(ms_pki_csr_der(r, &der), 0);
	/* Proof of possession: one flipped byte in the signature. */
	der.data[der.len - 3] ^= 0x01;
	assert_null(ms_pki_csr_parse((const uint8_t *)der.data, der.len, err, sizeof(err)));
	/* Trailing garbage, truncation, empty. */
	der.data[der.len - 3] ^= 0x01;
	ms_buf_addc(&der, 0);
	assert_null(ms_pki_csr_parse((const uint8_t *)der.data, der.len, err, sizeof(err)));
	assert_null(ms_pki_csr_parse((const uint8_t *)der.data, der.len / 2, err, sizeof(err)));
	assert_null(ms_pki_csr_parse((const uint8_t *)der.data, 0, err, sizeof(err)));
	X509_REQ_free(r);
	/* A weak key. */
	rsa = EVP_RSA_gen(1024);
	r = ms_pki_csr_new(rsa, "x");
	ms_buf_reset(&der);
	assert_int_equal(ms_pki_csr_der(r, &der), 0);
	assert_null(ms_pki_csr_parse((const uint8_t *)der.data, der.len, err, sizeof(err)));
	assert_non_null(strstr(err, "2048"));
	X509_REQ_free(r);
	EVP_PKEY_free(rsa);
	ms_buf_fini(&der);
	EVP_PKEY_free(k);
}

/*
 * What a client of the enrolment port (before any authentication) can make
 * the collector's event loop compute: the request's signature is checked
 * against the key it carries, and an RSA key with a public exponent as
 * long as its modulus makes that check a full exponentiation (about 13 ms
 * per request for 3072 bits, against 0.1 ms for the P-256 key an agent
 * makes), as does a modulus of 15,000 bits with a short exponent. Such keys
 * are refused before the signature is checked.
 */
static EVP_PKEY *
rsa_public(const BIGNUM *n, const BIGNUM *e)
{
	OSSL_PARAM_BLD *b = OSSL_PARAM_BLD_new();
	OSSL_PARAM *p = NULL;
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	EVP_PKEY *k = NULL;

	assert_non_null(b);
	assert_non_null(c);
	assert_int_equal(OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_N, n), 1);
	assert_int_equal(OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_E, e), 1);
	assert_non_null(p = OSSL_PARAM_BLD_to_param(b));
	assert_int_equal(EVP_PKEY_fromdata_init(c), 1);
	assert_int_equal(EVP_PKEY_fromdata(c, &k, EVP_PKEY_PUBLIC_KEY, p), 1);
	OSSL_PARAM_free(p);
	OSSL_PARAM_BLD_free(b);
	EVP_PKEY_CTX_free(c);
	return k;
}

static void
test_csr_costly_key(void **state)
{
	EVP_PKEY *k = EVP_RSA_gen(2048), *big;
	BIGNUM *n = NULL, *e = BN_new();
	X509_REQ *r, *ok;
	const ASN1_BIT_STRING *sig;
	unsigned char s[1875];
	struct ms_buf der;
	char err[256];

	(void)state;
	assert_non_null(k);
	ms_buf_init(&der, 65536);
	/* The request as the key's owner signed it: accepted. */
	r = ms_pki_csr_new(k, "x");
	assert_int_equal(ms_pki_csr_der(r, &der), 0);
	assert_non_null(ok = ms_pki_csr_parse((const uint8_t *)der.data, der.len, err, sizeof(err)));
	X509_REQ_free(ok);
	/* The same signature (of the right length) under a key with e = n - 2. */
	assert_int_equal(EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_RSA_N, &n), 1);
	assert_int_equal(BN_sub(e, n, BN_value_one()), 1);
	assert_int_equal(BN_sub(e, e, BN_value_one()), 1);
	big = rsa_public(n, e);
	assert_int_equal(X509_REQ_set_pubkey(r, big), 1);
	ms_buf_reset(&der);
	assert_int_equal(ms_pki_csr_der(r, &der), 0);
	assert_null(ms_pki_csr_parse((const uint8_t *)der.data, der.len, err, sizeof(err)));
	if (strstr(err, "exponent") == NULL)
		fail_msg("a 2048-bit public exponent checked as a signature: %s", err);
	EVP_PKEY_free(big);
	/* A 15,000-bit modulus (what 4 KiB of request hold), e = 65537, a signature as long. */
	assert_int_equal(BN_rand(n, 15000, BN_RAND_TOP_ONE, BN_RAND_BOTTOM_ODD), 1);
	assert_int_equal(BN_set_word(e, 65537), 1);
	big = rsa_public(n, e);
	assert_int_equal(X509_REQ_set_pubkey(r, big), 1);
	memset(s, 0x01, sizeof(s));
	X509_REQ_get0_signature(r, &sig, NULL);
	assert_int_equal(ASN1_BIT_STRING_set((ASN1_BIT_STRING *)sig, s, (int)sizeof(s)), 1);
	ms_buf_reset(&der);
	assert_int_equal(ms_pki_csr_der(r, &der), 0);
	assert_true(der.len <= MS_ENROLL_MAX_CSR);
	assert_null(ms_pki_csr_parse((const uint8_t *)der.data, der.len, err, sizeof(err)));
	if (strstr(err, "4096") == NULL)
		fail_msg("a 15,000-bit modulus checked as a signature: %s", err);
	EVP_PKEY_free(big);
	X509_REQ_free(r);
	BN_free(n);
	BN_free(e);
	ms_buf_fini(&der);
	EVP_PKEY_free(k);
}

static void
test_bad_ids(void **state)
{
	EVP_PKEY *k = ms_pki_key_new();
	struct ms_pki_profile p = { .kind = MS_PKI_AGENT, .cn = "a b", .system = "s",
		.validity_s = 60 };
	char err[256];

	assert_null(ms_pki_issue(ca, ca_key, k, &p, err, sizeof(err)));
	p.cn = "ok";
	p.system = "s/../x";
	assert_null(ms_pki_issue(ca, ca_key, k, &p, err, sizeof(err)));
	assert_false(ms_pki_id_ok(""));
	assert_false(ms_pki_id_ok("a,CN=b"));
	assert_true(ms_pki_id_ok("web-01.example_x@y"));
	EVP_PKEY_free(k);
}

static void
test_crl(void **state)
{
	EVP_PKEY *k = ms_pki_key_new();
	X509 *a = issue_agent(k, "a1", "s"), *b = issue_agent(k, "a2", "s");
	struct ms_pki_revoked rv = { .time_s = time(NULL) };
	char path[] = "/tmp/test_pki_crl.XXXXXX", err[256];
	int fd = mkstemp(path);
	X509_CRL *crl;
	FILE *f;
	struct stat st;

	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(ms_pki_serial_hex(a, rv.serial, sizeof(rv.serial)), 0);
	struct ms_buf pem;

	ms_buf_init(&pem, 1 << 20);
	assert_int_equal(ms_pki_crl_pem(&pem, ca, ca_key, &rv, 1, 86400, err, sizeof(err)), 0);
	assert_int_equal(ms_pki_file_write(path, pem.data, pem.len, 0644, err, sizeof(err)), 0);
	ms_buf_fini(&pem);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644);
	f = fopen(path, "r");
	crl = PEM_read_X509_CRL(f, NULL, NULL, NULL);
	fclose(f);
	assert_non_null(crl);
	assert_int_equal(X509_CRL_verify(crl, ca_key), 1);
	assert_int_equal(verify(a, X509_PURPOSE_SSL_CLIENT, crl), X509_V_ERR_CERT_REVOKED);
	assert_int_equal(verify(b, X509_PURPOSE_SSL_CLIENT, crl), X509_V_OK);
	X509_CRL_free(crl);
	unlink(path);
	X509_free(a);
	X509_free(b);
	EVP_PKEY_free(k);
}

static void
test_key_file(void **state)
{
	char path[] = "/tmp/test_pki_key.XXXXXX", err[256];
	int fd = mkstemp(path);
	EVP_PKEY *k = ms_pki_key_new(), *back;
	struct stat st;

	close(fd);
	chmod(path, 0644);
	assert_int_equal(ms_pki_key_write(path, k, err, sizeof(err)), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	back = ms_pki_key_read(path, err, sizeof(err));
	assert_non_null(back);
	assert_int_equal(EVP_PKEY_eq(k, back), 1);
	EVP_PKEY_free(back);
	EVP_PKEY_free(k);
	unlink(path);
}

static void
test_token(void **state)
{
	char secret[65], h1[65], h2[65], tok[200];
	struct ms_pki_token t;
	int64_t d;

	assert_int_equal(ms_pki_token_secret(secret), 0);
	snprintf(tok, sizeof(tok), "%s.%064d", secret, 7);
	assert_int_equal(ms_pki_token_parse(tok, &t), 0);
	assert_string_equal(t.secret, secret);
	ms_pki_token_hash(secret, h1);
	ms_pki_token_hash(t.secret, h2);
	assert_string_equal(h1, h2);
	assert_string_not_equal(h1, secret);
	tok[10] = 'G';
	assert_int_equal(ms_pki_token_parse(tok, &t), -1);
	assert_int_equal(ms_pki_token_parse(secret, &t), -1);
	assert_int_equal(ms_pki_parse_duration("24h", 1, 86400 * 365, &d), 0);
	assert_int_equal(d, 86400);
	assert_int_equal(ms_pki_parse_duration("90", 1, 1000, &d), 0);
	assert_int_equal(d, 90);
	assert_int_equal(ms_pki_parse_duration("0s", 1, 1000, &d), -1);
	assert_int_equal(ms_pki_parse_duration("1y", 1, 1000, &d), -1);
	assert_int_equal(ms_pki_parse_duration("", 1, 1000, &d), -1);
}

static void
test_wire(void **state)
{
	struct ms_buf b;
	struct ms_enroll_req r = { 0 }, back;
	struct ms_frame_hdr h;
	const char *why, *chain;
	uint8_t csr[100];
	uint16_t code;
	char msg[64];
	size_t clen;

	memset(csr, 0xab, sizeof(csr));
	memset(r.token, 'a', 64);
	r.csr = csr;
	r.csr_len = sizeof(csr);
	strcpy(r.hostname, "host\x01x");
	ms_buf_init(&b, 65536);
	assert_int_equal(ms_enroll_req_encode(&b, &r), 0);
	assert_int_equal(ms_proto_hdr_parse((uint8_t *)b.data, b.len, 65536, &h), MS_PROTO_OK);
	assert_int_equal(h.type, MS_MSG_ENROLL);
	assert_int_equal(ms_enroll_req_decode((uint8_t *)b.data + 12, h.len, &back, &why), 0);
	assert_string_equal(back.token, r.token);
	assert_int_equal(back.csr_len, sizeof(csr));
	assert_memory_equal(back.csr, csr, sizeof(csr));
	assert_string_equal(back.hostname, "host?x");
	/* Truncated anywhere but after the CSR item (token 3+64, CSR 3+100): refused. */
	for (size_t n = 0; n < h.len; n++)
		assert_int_equal(ms_enroll_req_decode((uint8_t *)b.data + 12, n, &back, &why),
		    n == 67 + 103 ? 0 : -1);
	/* A token that is not 64 hex digits. */
	b.data[12 + 3] = 'Z';
	assert_int_equal(ms_enroll_req_decode((uint8_t *)b.data + 12, h.len, &back, &why), -1);
	assert_string_equal(why, "bad_token");

	ms_buf_reset(&b);
	assert_int_equal(ms_enroll_result_encode(&b, MS_ENROLL_OK, "fine", "PEM", 3), 0);
	assert_int_equal(ms_proto_hdr_parse((uint8_t *)b.data, b.len, 65536, &h), MS_PROTO_OK);
	assert_int_equal(h.type, MS_MSG_ENROLL_RESULT);
	assert_int_equal(ms_enroll_result_decode((uint8_t *)b.data + 12, h.len, &code, msg,
	    sizeof(msg), &chain, &clen), 0);
	assert_int_equal(code, 0);
	assert_string_equal(msg, "fine");
	assert_int_equal(clen, 3);
	assert_memory_equal(chain, "PEM", 3);
	assert_int_equal(ms_enroll_result_decode((uint8_t *)b.data + 12, h.len - 1, &code, msg,
	    sizeof(msg), &chain, &clen), -1);
	assert_string_equal(ms_enroll_code_name(MS_ENROLL_ALREADY_ENROLLED), "already_enrolled");
	ms_buf_fini(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ca),
		cmocka_unit_test(test_agent_cert),
		cmocka_unit_test(test_server_cert),
		cmocka_unit_test(test_csr_extensions_ignored),
		cmocka_unit_test(test_csr_refused),
		cmocka_unit_test(test_csr_costly_key),
		cmocka_unit_test(test_bad_ids),
		cmocka_unit_test(test_crl),
		cmocka_unit_test(test_key_file),
		cmocka_unit_test(test_token),
		cmocka_unit_test(test_wire),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
