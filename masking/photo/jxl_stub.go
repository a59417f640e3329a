//go:build !jxl

package photo

import (
	"bufio"
	"context"
	"io"

	"hdw/masking"
)

// jxl quarantines JPEG XL images in builds without the "jxl" tag.
func (h *Handler) jxl(context.Context, io.Writer, *bufio.Reader, masking.Options) (masking.Result, error) {
	return masking.Result{}, masking.Quarantine("JPEG XL photo: built without the jxl tag (libjxl); convert to JPEG or PNG before upload")
}
