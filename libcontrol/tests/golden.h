/* golden: the annotated hex format of tests/golden/ (shared by the golden
 * test and the golden_dump tool).
 *
 * A golden file is text. '#' starts a comment to the end of the line.
 * A line starting with '@' is a directive that opens a new message; the
 * hex digits that follow (whitespace anywhere) are its bytes:
 *   @ok <fixture> [id=N] [skipped=N]  decodes to that fixture (with that
 *                                     request id) and, with no skipped
 *                                     TLVs, is exactly its encoding
 *   @error <NC_E_...>                 nc_decode() fails with that code
 *   @frame <NC_E_...|0>               nc_frame() answers that
 */
#ifndef NC_TEST_GOLDEN_H
#define NC_TEST_GOLDEN_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Name of a TLV type ("ENDPOINT"), or NULL. */
const char *gd_tlv_name(uint16_t t);

/* Print an encoded message as annotated hex: the header on one line, then
 * one TLV per line (long values wrapped), each with a comment. */
void gd_print(FILE *f, const uint8_t *p, size_t n);

#endif
