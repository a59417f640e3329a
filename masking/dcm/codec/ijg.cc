//go:build dcmcodec

// The JPEG decoders of dcmtk (its IJG 6b builds for 8, 12 and 16 bits,
// with the lossless extension), reached through dcmtk's frame-level
// DJDecompressIJG* classes, which trap IJG's fatal errors with setjmp.
#include "dcmtk/config/osconfig.h"
#include "dcmtk/dcmjpeg/djcparam.h"
#include "dcmtk/dcmjpeg/djdijg12.h"
#include "dcmtk/dcmjpeg/djdijg16.h"
#include "dcmtk/dcmjpeg/djdijg8.h"

#include "ijg.h"

extern "C" int hdw_ijg_decode(int bits, const unsigned char *src, unsigned int srclen,
                              unsigned char *dst, unsigned int dstlen, int ybr, int is_signed) {
  if (src == NULL || dst == NULL || srclen == 0 || dstlen == 0) return -1;
  try {
    DJCodecParameter cp(ECC_lossyYCbCr, EDC_photometricInterpretation, EUC_default, EPC_default);
    DJDecoder *d;
    switch (bits) {
    case 8: d = new DJDecompressIJG8Bit(cp, ybr != 0); break;
    case 12: d = new DJDecompressIJG12Bit(cp, ybr != 0); break;
    case 16: d = new DJDecompressIJG16Bit(cp, ybr != 0); break;
    default: return -1;
    }
    int rc = 0;
    if (d->init().bad()) {
      rc = -2;
    } else if (d->decode(const_cast<Uint8 *>(src), srclen, dst, dstlen, is_signed != 0).bad()) {
      rc = -3;
    }
    delete d;
    return rc;
  } catch (...) {
    return -4;
  }
}
