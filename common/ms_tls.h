/*
 * ms_tls – OpenSSL contexts for the agent <-> collector channel.
 *
 * Both sides speak TLS 1.3 only and authenticate each other: the collector
 * accepts only client certificates that chain to the deployment CA, the
 * agent accepts only a collector certificate that chains to the same CA
 * and carries the expected name. The agent's identity is its certificate's
 * subject CN (ms_tls_peer_id), never anything it says in a frame.
 */
#ifndef MS_TLS_H
#define MS_TLS_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/ssl.h>

/*
 * Returns a new server context (caller owns; SSL_CTX_free) that requires a
 * client certificate signed by ca_file, or NULL with a reason in err.
 */
SSL_CTX *ms_tls_server_ctx_new(const char *ca_file, const char *cert_file,
    const char *key_file, char *err, size_t errsz);

/*
 * Lets ctx also speak TLS 1.2 (TLS 1.3 stays preferred), with forward-secret
 * AEAD suites only (ECDHE with AES-GCM or ChaCha20-Poly1305). 0 or -1.
 */
int ms_tls_ctx_allow_tls12(SSL_CTX *ctx);

/*
 * A new server context with the CA re-read from ca_file and the
 * certificate and key of old (for a reload after root was dropped, when the
 * key file is no longer readable). NULL with err on failure.
 */
SSL_CTX *ms_tls_server_ctx_renew(SSL_CTX *old, const char *ca_file, char *err, size_t errsz);

/*
 * Loads the CRLs in crl_file (PEM) into ctx and makes every handshake check
 * the peer certificate against them (fail-closed: an expired CRL refuses
 * everyone – it is reported at load). 0, or -1 with err.
 */
int ms_tls_ctx_load_crl(SSL_CTX *ctx, const char *crl_file, char *err, size_t errsz);
/*
 * The soonest next update of the CRLs loaded into ctx, in ms since the
 * epoch, with that CRL's issuer in issuer (a one-line name); INT64_MAX when
 * none has one. Past it, the CA's own clients are refused (fail-closed).
 * The CRLs of roots (self-issued CAs of tls.ca) count only when no other
 * CA has one: stale, a root's refuses no one below an intermediate.
 */
int64_t ms_tls_ctx_crl_next_ms(SSL_CTX *ctx, char *issuer, size_t issuersz);
/*
 * Whether ssl's peer certificate, or a CA certificate of its verified
 * chain, is revoked by a CRL loaded into ctx.
 */
bool ms_tls_peer_revoked(SSL_CTX *ctx, SSL *ssl);

/* Returns a new client context (caller owns) presenting cert/key, or NULL. */
SSL_CTX *ms_tls_client_ctx_new(const char *ca_file, const char *cert_file,
    const char *key_file, char *err, size_t errsz);

/*
 * Prepares a client SSL for a connection to server_name: SNI plus
 * certificate name verification (DNS name or IP address). 0 or -1.
 */
int ms_tls_client_set_peer_name(SSL *ssl, const char *server_name);

/*
 * Copies the verified peer certificate's subject CN into out (printable
 * ASCII letters, digits and ".-_@" only; anything else is refused).
 * Returns 0, or -1 when there is no verified peer or the CN is unusable.
 */
int ms_tls_peer_id(SSL *ssl, char *out, size_t outsz);

/*
 * The pin of a public key: SHA-256 of its DER SubjectPublicKeyInfo as 64
 * lower-case hex digits (what `openssl x509 -pubkey -noout | openssl pkey
 * -pubin -outform der | sha256sum` prints). 0 or -1.
 */
int ms_tls_peer_pin(SSL *ssl, char out[65]);

/*
 * When cert is outside its validity now (expired, or not yet valid: a
 * clock behind), a sentence saying so and since when into out, and 1;
 * otherwise 0. For the agent's own certificate, which the collector
 * refuses then without a word the agent could read.
 */
int ms_tls_cert_out_of_date(X509 *cert, char *out, size_t outsz);

/* Reads the subject CN of the certificate in cert_file into out; 0 or -1. */
int ms_tls_cert_file_cn(const char *cert_file, char *out, size_t outsz);

/*
 * Drains OpenSSL's error queue into buf as one short line (the first and
 * the last error), for key=value logs. Returns buf.
 */
char *ms_tls_errstr(char *buf, size_t bufsz);

#endif
