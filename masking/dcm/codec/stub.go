//go:build !dcmcodec

package codec

// Built reports whether the codecs were built in (the "dcmcodec" tag).
const Built = false

func ijg(int, []byte, []byte, bool, bool) error     { return ErrNotBuilt }
func openjpeg([]byte, []byte, bool, Spec) error     { return ErrNotBuilt }
func charls([]byte, []byte, Spec, int) (int, error) { return 0, ErrNotBuilt }
