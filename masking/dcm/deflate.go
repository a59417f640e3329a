package dcm

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"io"

	"hdw/masking"
)

// inflate turns a Deflated Explicit VR Little Endian file (PS3.5 A.5) into
// the same file in Explicit VR Little Endian: the file meta is copied with
// its transfer syntax replaced, the dataset inflated, at most limit bytes
// (a deflate bomb is quarantined). The output is then written native.
func inflate(buf []byte, limit int64) ([]byte, error) {
	s, err := scanMeta(buf)
	if err != nil {
		return nil, err
	}
	metaEnd := s.pos
	var meta []byte
	for pos := 132 + 12; pos < metaEnd; {
		e := &scanner{b: buf, pos: pos, bo: littleEndian}
		if err := e.element(metaEnd, 0); err != nil {
			return nil, err
		}
		if e.u16(pos) == 0x0002 && e.u16(pos+2) == 0x0010 {
			v := []byte(tsExplicitLE + "\x00")
			meta = append(meta, 0x02, 0x00, 0x10, 0x00, 'U', 'I')
			meta = binary.LittleEndian.AppendUint16(meta, uint16(len(v)))
			meta = append(meta, v...)
		} else {
			meta = append(meta, buf[pos:e.pos]...)
		}
		pos = e.pos
	}
	var out bytes.Buffer
	out.Write(buf[:132])
	out.Write([]byte{0x02, 0x00, 0x00, 0x00, 'U', 'L', 4, 0})
	_ = binary.Write(&out, binary.LittleEndian, uint32(len(meta)))
	out.Write(meta)
	r := flate.NewReader(bytes.NewReader(buf[metaEnd:]))
	n, err := io.Copy(&out, io.LimitReader(r, limit-int64(out.Len())+1))
	if err != nil {
		return nil, masking.Quarantine("deflated dataset does not inflate")
	}
	if int64(out.Len()) > limit || n == 0 {
		if n == 0 {
			return nil, masking.Quarantine("deflated dataset empty")
		}
		return nil, masking.Quarantine("deflated dataset exceeds the limit of %d bytes", limit)
	}
	return out.Bytes(), nil
}
