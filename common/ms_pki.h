/*
 * ms_pki – the deployment's X.509 work with the OpenSSL 3 API, shared by
 * minisocctl (CA, collector certificates, CRL), the collector (signs
 * enrolment requests) and the agent (key and request, renewal).
 *
 * What a certificate may do is decided here, never by the request: an
 * issued agent certificate always has CN = the agent id the token (or the
 * current certificate) names, a SAN URI urn:minisoc:system:<SYS>,
 * basicConstraints CA:FALSE, keyUsage digitalSignature and extendedKeyUsage
 * clientAuth only, whatever the CSR asked for. Serials are random 128-bit.
 *
 * Also the enrolment wire format (docs/security.md "Enrolment"): one
 * ENROLL frame from the agent, one ENROLL_RESULT frame back, in the
 * ms_proto frame style.
 */
#ifndef MS_PKI_H
#define MS_PKI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "ms_buf.h"

/* Longest agent or system id (CN and SAN); letters, digits and ".-_@". */
#define MS_PKI_MAX_ID 64
/* The SAN URI prefix carrying the information system id. */
#define MS_PKI_SYSTEM_URN "urn:minisoc:system:"

/* Whether s is a usable agent / system id (1..MS_PKI_MAX_ID of [A-Za-z0-9.-_@]). */
bool ms_pki_id_ok(const char *s);

/* A new ECDSA P-256 key (caller frees with EVP_PKEY_free), or NULL. */
EVP_PKEY *ms_pki_key_new(void);
/*
 * Writes key as PEM (PKCS#8, unencrypted) to path with mode 0600 through a
 * temporary file and rename, so a crash never leaves half a key. 0 or -1.
 */
int ms_pki_key_write(const char *path, EVP_PKEY *key, char *err, size_t errsz);
EVP_PKEY *ms_pki_key_read(const char *path, char *err, size_t errsz);

/* Reads the first certificate of a PEM file (caller frees), or NULL with err. */
X509 *ms_pki_cert_read(const char *path, char *err, size_t errsz);
/* Reads every certificate of a PEM file (caller frees with sk_X509_pop_free), or NULL. */
STACK_OF(X509) *ms_pki_chain_read(const char *path, char *err, size_t errsz);
/* Writes len bytes to path (mode) through a temporary file, fsync and rename. 0 or -1. */
int ms_pki_file_write(const char *path, const void *data, size_t len, int mode, char *err,
    size_t errsz);
/* Appends certs as PEM to out (grows out; its cap applies). 0 or -1. */
int ms_pki_pem_certs(struct ms_buf *out, X509 *const *certs, size_t n);
/* Parses every certificate of a PEM buffer (caller frees), NULL when there is none. */
STACK_OF(X509) *ms_pki_pem_parse(const char *pem, size_t len);

/* What kind of certificate to issue. */
enum ms_pki_kind {
	MS_PKI_AGENT,		/* clientAuth; CN = id, SAN URI with the system */
	MS_PKI_SERVER,		/* serverAuth; CN = name, SAN DNS names and IPs */
	MS_PKI_SUB_CA,		/* CA:TRUE, pathlen 0, keyCertSign + cRLSign, EKU clientAuth */
};

struct ms_pki_profile {
	enum ms_pki_kind kind;
	const char *cn;
	const char *system;		/* MS_PKI_AGENT: the information system id */
	const char *const *dns;		/* MS_PKI_SERVER: DNS names (cn is added) */
	size_t ndns;
	const char *const *ips;		/* MS_PKI_SERVER: IPv4/IPv6 literals */
	size_t nips;
	int64_t validity_s;		/* from now (backdated 5 minutes for clock skew) */
};

/* A self-signed root CA for key (CA:TRUE, keyCertSign, cRLSign). NULL with err. */
X509 *ms_pki_ca_new(EVP_PKEY *key, const char *cn, int64_t validity_s, char *err, size_t errsz);
/*
 * Issues a certificate for pub as profile p says, signed by ca / ca_key.
 * The validity never runs past the CA's own. NULL with err.
 */
X509 *ms_pki_issue(X509 *ca, EVP_PKEY *ca_key, EVP_PKEY *pub, const struct ms_pki_profile *p,
    char *err, size_t errsz);

/* A signed request (CN = cn, may be empty) for key; caller frees. */
X509_REQ *ms_pki_csr_new(EVP_PKEY *key, const char *cn);
/* The request as DER into out (appended). 0 or -1. */
int ms_pki_csr_der(X509_REQ *req, struct ms_buf *out);
/*
 * Parses an untrusted DER request and checks it: its own signature, and a
 * key that is EC P-256/P-384 or RSA of 2048 to 4096 bits with a public
 * exponent of at most 32 bits (checked first: the cost of the signature
 * check is the sender's choice). Whatever
 * extensions or subject it asks for are ignored by ms_pki_issue. Returns
 * the request (caller frees) or NULL with a reason in err.
 */
X509_REQ *ms_pki_csr_parse(const uint8_t *der, size_t len, char *err, size_t errsz);

/* SHA-256 of cert's DER SubjectPublicKeyInfo, 64 hex digits (ms_tls_peer_pin's pin). 0 or -1. */
int ms_pki_spki_sha256(X509 *cert, char out[65]);
/* The serial as lower-case hex (no leading zeros). 0 or -1. */
int ms_pki_serial_hex(X509 *cert, char *out, size_t outsz);
/* The subject CN (id characters only). 0 or -1. */
int ms_pki_cert_cn(X509 *cert, char *out, size_t outsz);
/* The system id of the SAN URI urn:minisoc:system:<SYS>. 0 or -1 when none. */
int ms_pki_cert_system(X509 *cert, char *out, size_t outsz);
/* notBefore / notAfter as seconds since the epoch, or -1. */
int64_t ms_pki_cert_not_before(X509 *cert);
int64_t ms_pki_cert_not_after(X509 *cert);

/* One revoked certificate for ms_pki_crl_write. */
struct ms_pki_revoked {
	char serial[80];	/* hex */
	int64_t time_s;		/* revocation time */
};

/*
 * Appends to out (PEM) a CRL signed by ca / ca_key listing revoked[0..n),
 * valid next_update_s from now. Several CRLs (one per issuing CA) may go
 * into one file. 0 or -1.
 */
int ms_pki_crl_pem(struct ms_buf *out, X509 *ca, EVP_PKEY *ca_key,
    const struct ms_pki_revoked *revoked, size_t n, int64_t next_update_s, char *err,
    size_t errsz);

/* --- enrolment tokens -------------------------------------------------- */

/*
 * Redis set (this prefix + agent id) of the serial of every certificate
 * issued to an id: at enrolment, at a --replace enrolment (the replaced
 * one too) and at each renewal (the renewed one too). A certificate stays
 * valid until it expires after it is superseded, so `minisocctl pki revoke`
 * revokes every serial of the set, not only the one on record.
 */
#define MS_ENROLL_SERIALS_KEY "minisoc:enroll:serials:"

/*
 * A token is "<secret>.<ca pin>": 64 hex digits of a random 256-bit secret,
 * a dot, and the SHA-256 of the deployment CA's public key (64 hex). Only
 * SHA-256(secret hex) is stored (Redis key minisoc:enroll:token:<hash>).
 */
#define MS_PKI_TOKEN_LEN (64 + 1 + 64)
struct ms_pki_token {
	char secret[65];
	char ca_pin[65];
};
/* Splits and checks a token string; 0 or -1. */
int ms_pki_token_parse(const char *s, struct ms_pki_token *t);
/* A new random secret (64 hex). 0 or -1. */
int ms_pki_token_secret(char out[65]);
/* SHA-256 of the secret's 64 hex characters as 64 hex: its storage name. */
void ms_pki_token_hash(const char *secret, char out[65]);

/* Parses "90", "90s", "15m", "24h", "30d" into seconds within [min,max]. 0 or -1. */
int ms_pki_parse_duration(const char *s, int64_t min, int64_t max, int64_t *out);

/* --- enrolment wire format --------------------------------------------- */

/* Largest ENROLL payload the collector reads, and ENROLL_RESULT the agent reads. */
#define MS_ENROLL_MAX_REQUEST	8192u
#define MS_ENROLL_MAX_RESULT	65536u
#define MS_ENROLL_MAX_CSR	4096u

/* ENROLL payload: TLV items (u8 tag, u16 length, value); unknown tags skipped. */
enum ms_enroll_tag {
	MS_ENROLL_TOKEN = 1,	/* the 64 hex secret; absent on a renewal */
	MS_ENROLL_CSR = 2,	/* DER request, required */
	MS_ENROLL_VERSION = 3,	/* agent version, informational */
	MS_ENROLL_HOSTNAME = 4,	/* informational */
};

struct ms_enroll_req {
	char token[65];		/* "" on a renewal */
	const uint8_t *csr;	/* slice of the payload */
	size_t csr_len;
	char version[32];
	char hostname[256];
};

/* Appends a complete ENROLL frame; 0 or -1. */
int ms_enroll_req_encode(struct ms_buf *out, const struct ms_enroll_req *r);
/*
 * Decodes an untrusted ENROLL payload: each length checked against what is
 * left, a token of exactly 64 hex digits when present, a CSR of 1..4096
 * bytes, at most one of each tag. 0, or -1 with *why a static reason.
 */
int ms_enroll_req_decode(const uint8_t *p, size_t len, struct ms_enroll_req *r,
    const char **why);

/* Result codes of ENROLL_RESULT. */
enum ms_enroll_code {
	MS_ENROLL_OK = 0,
	MS_ENROLL_BAD_REQUEST = 1,	/* malformed frame or request */
	MS_ENROLL_TOKEN_UNKNOWN = 2,	/* never issued (or Redis lost it) */
	MS_ENROLL_TOKEN_EXPIRED = 3,
	MS_ENROLL_TOKEN_USED = 4,
	MS_ENROLL_ALREADY_ENROLLED = 5,	/* the id has a certificate; token made without --replace */
	MS_ENROLL_BAD_CSR = 6,
	MS_ENROLL_UNAVAILABLE = 7,	/* Redis or signing failed: try again */
	MS_ENROLL_NOT_ALLOWED = 8,	/* renewal refused: revoked, replaced, unknown id */
	MS_ENROLL_CODE_N
};
const char *ms_enroll_code_name(int code);

/*
 * ENROLL_RESULT payload: u16 code | u16 message length | message |
 * u32 chain length | chain (PEM: the new certificate, then its issuers
 * below the root; empty unless code is OK).
 */
int ms_enroll_result_encode(struct ms_buf *out, uint16_t code, const char *msg,
    const char *chain, size_t chain_len);
/* Decodes untrusted bytes; msg copied (truncated), chain a slice. 0 or -1. */
int ms_enroll_result_decode(const uint8_t *p, size_t len, uint16_t *code, char *msg,
    size_t msgsz, const char **chain, size_t *chain_len);

#endif
