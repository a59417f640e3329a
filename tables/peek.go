package tables

import (
	"bufio"
	"io"
)

type peeker struct{ *bufio.Reader }

func bufioPeek(r io.Reader) peeker { return peeker{bufio.NewReaderSize(r, 64<<10)} }

func (p peeker) peek(n int) ([]byte, error) { return p.Reader.Peek(n) }
