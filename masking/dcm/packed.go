package dcm

// Packed 12-bit native pixel data (Bits Allocated 12, ACR-NEMA and early
// DICOM files): two samples in three bytes, in the little endian bit
// stream (PS3.5 8.1.1, as GDCM's Unpacker12Bits reads them), sample 2k in
// the low 12 bits of bytes 3k..3k+1, sample 2k+1 in the high 12 bits of
// bytes 3k+1..3k+2. The pixels are unpacked into 16-bit little endian
// samples for examination and masking, then packed again in place.

// packed12Len is the byte length of n packed 12-bit samples.
func packed12Len(n int64) int64 { return (n*12 + 7) / 8 }

// unpack12 returns the n samples of packed as 16-bit little endian bytes.
func unpack12(packed []byte, n int) []byte {
	out := make([]byte, 2*n)
	for i := 0; i < n; i++ {
		j := i / 2 * 3
		var v uint16
		if i%2 == 0 {
			v = uint16(packed[j]) | uint16(packed[j+1]&0x0F)<<8
		} else {
			v = uint16(packed[j+1]>>4) | uint16(packed[j+2])<<4
		}
		out[2*i], out[2*i+1] = byte(v), byte(v>>8)
	}
	return out
}

// pack12 writes the 16-bit little endian samples of unpacked back into
// packed (the low 12 bits of each).
func pack12(packed, unpacked []byte) {
	n := len(unpacked) / 2
	for i := 0; i < n; i++ {
		v := uint16(unpacked[2*i]) | uint16(unpacked[2*i+1])<<8
		j := i / 2 * 3
		if i%2 == 0 {
			packed[j] = byte(v)
			packed[j+1] = packed[j+1]&0xF0 | byte(v>>8)&0x0F
		} else {
			packed[j+1] = packed[j+1]&0x0F | byte(v<<4)
			packed[j+2] = byte(v >> 4)
		}
	}
}
