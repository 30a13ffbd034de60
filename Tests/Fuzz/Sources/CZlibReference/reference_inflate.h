// A strict, one-shot zlib (RFC 1950) inflate used as the fuzz harness's reference for
// MessageCompression.decompress. Plain zlib, no wrapper library in between.
#ifndef DUNLIN_REFERENCE_INFLATE_H
#define DUNLIN_REFERENCE_INFLATE_H

#include <stddef.h>
#include <string.h>
#include <zlib.h>

enum dunlin_reference_outcome {
    DUNLIN_REF_OK = 0,         // one complete zlib stream, checksum verified, no bytes after it
    DUNLIN_REF_TOO_LARGE = 1,  // inflates past max_size bytes
    DUNLIN_REF_CORRUPT = 2,    // zlib refused the data (bad header, block, distance or checksum)
    DUNLIN_REF_TRUNCATED = 3,  // the input ends before the stream does
    DUNLIN_REF_TRAILING = 4,   // bytes follow the end of the stream
    DUNLIN_REF_NEED_DICT = 5,  // the stream asks for a preset dictionary
    DUNLIN_REF_INTERNAL = 6,
};

// Inflates `input` into `output`, which must hold max_size + 1 bytes. `produced` receives the
// number of bytes written (max_size + 1 means "more than max_size").
static inline int dunlin_reference_inflate(const unsigned char *input, size_t input_length,
                                           unsigned char *output, size_t max_size, size_t *produced) {
    z_stream stream;
    memset(&stream, 0, sizeof stream);
    *produced = 0;
    if (inflateInit(&stream) != Z_OK) return DUNLIN_REF_INTERNAL;
    stream.next_in = (Bytef *)input;
    stream.avail_in = (uInt)input_length;
    stream.next_out = output;
    stream.avail_out = (uInt)(max_size + 1);
    int rc = inflate(&stream, Z_FINISH);
    *produced = (max_size + 1) - stream.avail_out;
    int outcome;
    switch (rc) {
    case Z_STREAM_END:
        if (*produced > max_size) outcome = DUNLIN_REF_TOO_LARGE;
        else if (stream.avail_in != 0) outcome = DUNLIN_REF_TRAILING;
        else outcome = DUNLIN_REF_OK;
        break;
    case Z_BUF_ERROR:
    case Z_OK:
        // Z_FINISH stops early either because the output is full or because the input ran out.
        outcome = stream.avail_out == 0 ? DUNLIN_REF_TOO_LARGE : DUNLIN_REF_TRUNCATED;
        break;
    case Z_DATA_ERROR:
        outcome = DUNLIN_REF_CORRUPT;
        break;
    case Z_NEED_DICT:
        outcome = DUNLIN_REF_NEED_DICT;
        break;
    default:
        outcome = DUNLIN_REF_INTERNAL;
        break;
    }
    inflateEnd(&stream);
    return outcome;
}

#endif
