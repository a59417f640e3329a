#ifndef HDW_IJG_H
#define HDW_IJG_H
#ifdef __cplusplus
extern "C" {
#endif
/* hdw_ijg_decode decodes one JPEG frame with dcmtk's IJG build for bits
 * (8, 12 or 16) into dst (dstlen bytes). Returns 0 on success. */
int hdw_ijg_decode(int bits, const unsigned char *src, unsigned int srclen,
                   unsigned char *dst, unsigned int dstlen, int ybr, int is_signed);
#ifdef __cplusplus
}
#endif
#endif
