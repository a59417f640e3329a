//go:build !heif

package photo

import (
	"bufio"
	"context"
	"io"

	"hdw/masking"
)

// heif quarantines HEIC/HEIF/AVIF photos in builds without the "heif" tag.
func (h *Handler) heif(context.Context, io.Writer, *bufio.Reader, masking.Options) (masking.Result, error) {
	return masking.Result{}, masking.Quarantine("HEIC/HEIF/AVIF photo: built without the heif tag (libheif); convert to JPEG before upload")
}
