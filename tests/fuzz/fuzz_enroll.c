/*
 * Fuzz target: what the collector's enrolment listener does with the bytes
 * of an unauthenticated client after the TLS handshake – the frame header,
 * the ENROLL request, and the CSR inside it – and what the agent does with
 * the collector's ENROLL_RESULT.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>

#include "ms_pki.h"
#include "ms_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ms_frame_hdr h;
	struct ms_enroll_req r;
	const char *why, *chain;
	char err[256], msg[256];
	uint16_t code;
	size_t clen;

	if (ms_proto_hdr_parse(data, size, MS_ENROLL_MAX_RESULT, &h) != MS_PROTO_OK ||
	    size < MS_PROTO_HDR_LEN + (size_t)h.len)
		return 0;
	data += MS_PROTO_HDR_LEN;
	if (h.type == MS_MSG_ENROLL && ms_enroll_req_decode(data, h.len, &r, &why) == 0) {
		X509_REQ *req = ms_pki_csr_parse(r.csr, r.csr_len, err, sizeof(err));
		X509_REQ_free(req);
	} else if (h.type == MS_MSG_ENROLL_RESULT &&
	    ms_enroll_result_decode(data, h.len, &code, msg, sizeof(msg), &chain, &clen) == 0) {
		STACK_OF(X509) *sk = ms_pki_pem_parse(chain, clen);
		if (sk)
			sk_X509_pop_free(sk, X509_free);
	}
	return 0;
}
