package dcm

import "encoding/binary"

// order is a dataset's byte order as a value, little endian unless big:
// its methods inline where calls through binary.ByteOrder could not (the
// pre-scan, the decoder and the encoder read and write a file's element
// headers two bytes at a time).
type order struct{ big bool }

var (
	littleEndian = order{}
	bigEndian    = order{big: true}
)

func (o order) Uint16(b []byte) uint16 {
	if o.big {
		return binary.BigEndian.Uint16(b)
	}
	return binary.LittleEndian.Uint16(b)
}

func (o order) Uint32(b []byte) uint32 {
	if o.big {
		return binary.BigEndian.Uint32(b)
	}
	return binary.LittleEndian.Uint32(b)
}

func (o order) Uint64(b []byte) uint64 {
	if o.big {
		return binary.BigEndian.Uint64(b)
	}
	return binary.LittleEndian.Uint64(b)
}

func (o order) PutUint16(b []byte, v uint16) {
	if o.big {
		binary.BigEndian.PutUint16(b, v)
		return
	}
	binary.LittleEndian.PutUint16(b, v)
}

func (o order) PutUint32(b []byte, v uint32) {
	if o.big {
		binary.BigEndian.PutUint32(b, v)
		return
	}
	binary.LittleEndian.PutUint32(b, v)
}

func (o order) AppendUint16(b []byte, v uint16) []byte {
	if o.big {
		return binary.BigEndian.AppendUint16(b, v)
	}
	return binary.LittleEndian.AppendUint16(b, v)
}

func (o order) AppendUint32(b []byte, v uint32) []byte {
	if o.big {
		return binary.BigEndian.AppendUint32(b, v)
	}
	return binary.LittleEndian.AppendUint32(b, v)
}

func (o order) AppendUint64(b []byte, v uint64) []byte {
	if o.big {
		return binary.BigEndian.AppendUint64(b, v)
	}
	return binary.LittleEndian.AppendUint64(b, v)
}
