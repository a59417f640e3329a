package pipeline

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// Manifest encodings (--encoding). UTF-8 is the default, with or without a
// byte-order mark; Latin-1 and Windows-1252 are converted to UTF-8 when
// declared. Undeclared, their accented letters are not valid UTF-8 and the
// rows that hold them are rejected with a message saying so: never stored
// as invalid UTF-8, never a second pseudonym for the same person.
const (
	EncodingUTF8        = "utf-8"
	EncodingLatin1      = "latin-1"
	EncodingWindows1252 = "windows-1252"
)

// NormalizeEncoding returns the canonical name of an encoding, or an error.
func NormalizeEncoding(s string) (string, error) {
	switch strings.ToLower(strings.ReplaceAll(strings.TrimSpace(s), "_", "-")) {
	case "", "utf-8", "utf8":
		return EncodingUTF8, nil
	case "latin-1", "latin1", "iso-8859-1", "iso8859-1", "l1":
		return EncodingLatin1, nil
	case "windows-1252", "cp1252", "win1252", "windows1252":
		return EncodingWindows1252, nil
	}
	return "", fmt.Errorf("unknown manifest encoding %q: use utf-8, latin-1 or windows-1252", s)
}

// win1252 maps the bytes 0x80-0x9F of Windows-1252 (elsewhere it is Latin-1);
// 0 marks the five undefined bytes, kept as their C1 control (then rejected).
var win1252 = [32]rune{
	0x20AC, 0, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0, 0x017D, 0,
	0, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0, 0x017E, 0x0178,
}

// decoder converts a single-byte encoding to UTF-8, streaming.
type decoder struct {
	r    *bufio.Reader
	win  bool
	out  []byte
	rbuf [4096]byte
}

func (d *decoder) Read(p []byte) (int, error) {
	if len(d.out) == 0 {
		n, err := d.r.Read(d.rbuf[:])
		if n == 0 {
			return 0, err
		}
		d.out = d.out[:0]
		for _, b := range d.rbuf[:n] {
			r := rune(b)
			if d.win && b >= 0x80 && b <= 0x9F && win1252[b-0x80] != 0 {
				r = win1252[b-0x80]
			}
			d.out = utf8.AppendRune(d.out, r)
		}
	}
	n := copy(p, d.out)
	d.out = d.out[n:]
	return n, nil
}

// stripBOM drops a UTF-8 byte-order mark at the start of r.
func stripBOM(r *bufio.Reader) {
	if b, err := r.Peek(3); err == nil && bytes.Equal(b, []byte{0xEF, 0xBB, 0xBF}) {
		r.Discard(3)
	}
}

// decodeManifest returns r as UTF-8 for encoding enc (canonical name).
func decodeManifest(r io.Reader, enc string) io.Reader {
	br := bufio.NewReaderSize(r, 64<<10)
	stripBOM(br)
	switch enc {
	case EncodingLatin1:
		return &decoder{r: br}
	case EncodingWindows1252:
		return &decoder{r: br, win: true}
	}
	return br
}

// detectDelimiter picks the delimiter of the header line: the most frequent
// of comma, semicolon and tab outside quotes (comma when none).
func detectDelimiter(br *bufio.Reader, max int) rune {
	head, _ := br.Peek(max)
	if i := bytes.IndexByte(head, '\n'); i >= 0 {
		head = head[:i]
	}
	counts := map[rune]int{}
	inQ := false
	for _, c := range head {
		switch {
		case c == '"':
			inQ = !inQ
		case !inQ && (c == ',' || c == ';' || c == '\t'):
			counts[rune(c)]++
		}
	}
	best := ','
	for _, d := range []rune{';', '\t'} {
		if counts[d] > counts[best] {
			best = d
		}
	}
	return best
}

// ParseDelimiter reads --delimiter: "," ";" "tab" (or a tab character), or "" (detect).
func ParseDelimiter(s string) (rune, error) {
	switch s {
	case "", "auto":
		return 0, nil
	case ",", "comma":
		return ',', nil
	case ";", "semicolon":
		return ';', nil
	case "\t", "tab", `\t`:
		return '\t', nil
	}
	return 0, errors.New("--delimiter must be ',', ';' or 'tab'")
}

// checkText rejects a value that is not valid UTF-8 or holds a control
// character (NUL, escape, C1 controls; tab and line breaks inside quotes
// excepted): returns a reason, or "".
func checkText(v, enc string) string {
	if !utf8.ValidString(v) {
		if enc == EncodingUTF8 {
			return "not valid UTF-8 (the manifest looks Latin-1 or Windows-1252: rerun with --encoding windows-1252 or latin-1, or save it as UTF-8)"
		}
		return "not valid text"
	}
	for _, r := range v {
		if (r < 0x20 && r != '\t' && r != '\n' && r != '\r') || r == 0x7F || (r >= 0x80 && r <= 0x9F) {
			return fmt.Sprintf("control character U+%04X (NUL, escape...) refused; remove it", r)
		}
	}
	return ""
}
