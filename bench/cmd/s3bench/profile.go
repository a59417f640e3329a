package main

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strings"
)

// The profile split: every CPU sample of an hdw ingest is charged to one
// stage of the pipeline, from its innermost frame outwards: the first
// frame that names a stage wins (a SHA-256 block called by the source
// reader is hashing, a write(2) called by the local store is writing).
// Samples that name no stage are "other" (scheduler, runtime glue).
var stages = []struct {
	name string
	re   *regexp.Regexp
}{
	{"keyring unlock", regexp.MustCompile(`argon2`)},
	{"GC", regexp.MustCompile(`^runtime\.(gcBgMarkWorker|gcDrain|gcAssist|markroot|scanobject|sweepone|bgsweep|bgscavenge)`)},
	{"hash", regexp.MustCompile(`^crypto/(sha256|internal/fips140/sha256)|^hash/`)},
	{"encrypt", regexp.MustCompile(`^crypto/(aes|cipher|internal/fips140/aes)|^hdw/envelope`)},
	{"residual scan", regexp.MustCompile(`^hdw/masking\.\(\*Scanner\)|^hdw/masking\.(ScanText|needles)|^hdw/masking/dcm\.(preScan|scanMeta|\(\*scanner\))`)},
	// The face passes: the cascades and the helpers they inline (the
	// frontal cascade's node step next, the profile pass's integral
	// image and grouping), which would otherwise be "de-identify".
	{"faces", regexp.MustCompile(`^hdw/masking/photo\.(.*([Cc]ascade|[Ff]ace|[Ee]ye)|next$|integral$|groupRects|\(\*Handler\)\.profiles$)|esimov/pigo`)},
	{"barcodes", regexp.MustCompile(`gozxing|^hdw/masking/photo\.(barcodes|anyOneD)`)},
	{"decode", regexp.MustCompile(`^image/|^golang\.org/x/image|^hdw/masking/photo\..*(decode|Decode|grey|Grey)`)},
	{"de-identify", regexp.MustCompile(`^hdw/masking|suyashkumar/dicom`)},
	{"pseudonymize", regexp.MustCompile(`^hdw/pseudo\.|^crypto/hmac`)},
	{"tables", regexp.MustCompile(`parquet-go|klauspost/compress|^hdw/pipeline\.\(\*tables|^hdw/tables`)},
	{"audit", regexp.MustCompile(`^hdw/audit`)},
	{"write", regexp.MustCompile(`^os\.\(\*File\)\.(Write|Close|Sync)|^os\.(OpenFile|Rename|Mkdir|MkdirAll|Remove|openFileNolog|mkdirat)|^hdw/objstore\.|^golang\.org/x/sys/unix\.(Syncfs|Renameat|Openat|Fsync)|^syscall\.(Fsync|Rename|Open)|s3store\.\(\*writer|s3store\.\(\*Store\)\.(Create|PutIfAbsent)|feature/s3/manager.*[Uu]pload`)},
	{"fetch", regexp.MustCompile(`^net/|^net\.|^crypto/tls|aws-sdk-go-v2|aws/smithy-go|^hdw/objstore/s3store|^bufio\.\(\*Reader\)`)},
	{"pipeline", regexp.MustCompile(`^hdw/pipeline|^hdw/warehouse|^hdw/keys`)},
}

// stageNames are the columns of the split, in the order printed.
func stageNames() []string {
	names := []string{"fetch", "decode", "de-identify", "faces", "barcodes", "residual scan", "pseudonymize", "hash", "encrypt", "write", "tables", "audit", "keyring unlock", "pipeline", "GC", "other"}
	return names
}

// split is a profile's CPU seconds per stage.
type split struct {
	total float64
	by    map[string]float64
}

// splitProfile reads a CPU profile (pprof's gzipped protocol buffer) and
// charges each sample's CPU time to a stage.
func splitProfile(file string) (split, error) {
	raw, err := os.ReadFile(file)
	if err != nil {
		return split{}, err
	}
	if len(raw) > 2 && raw[0] == 0x1f && raw[1] == 0x8b {
		zr, err := gzip.NewReader(bytes.NewReader(raw))
		if err != nil {
			return split{}, err
		}
		if raw, err = io.ReadAll(zr); err != nil {
			return split{}, err
		}
	}
	p, err := parseProfile(raw)
	if err != nil {
		return split{}, fmt.Errorf("%s: %w", file, err)
	}
	// The CPU value is the last sample value (samples, then nanoseconds).
	s := split{by: map[string]float64{}}
	stageOfLoc := map[uint64]string{}
	for _, smp := range p.samples {
		if len(smp.values) == 0 {
			continue
		}
		secs := float64(smp.values[len(smp.values)-1]) / 1e9
		s.total += secs
		st := "other"
		if slices.ContainsFunc(smp.locs, func(loc uint64) bool { return s3Write(p, loc) }) {
			// An S3 warehouse write: its HTTP client and SigV4 hashing
			// are the write's cost, not a fetch's or the content hash's.
			s.by["write"] += secs
			continue
		}
	frames:
		for _, loc := range smp.locs { // innermost first
			name, seen := stageOfLoc[loc]
			if !seen {
				name = ""
				for _, fn := range p.locFuncs[loc] { // inlined first
					if n := stageOf(p.strings[p.funcName[fn]]); n != "" {
						name = n
						break
					}
				}
				stageOfLoc[loc] = name
			}
			if name != "" {
				st = name
				break frames
			}
		}
		s.by[st] += secs
	}
	return s, nil
}

// s3WriteRe names the frames of a write to S3: hdw's S3 writer, the SDK's
// SigV4 hashing of a request body (only writes have one; the SDK's deep
// middleware stacks often go past the profiler's depth, so the writer's
// own frame may be cut) and net/http's loop that sends request bodies.
var s3WriteRe = regexp.MustCompile(`^hdw/objstore/s3store\.(\(\*writer\)|\(\*Store\)\.(putOnce|PutIfAbsent|PutLocked))|signer/v4\.\(\*ComputePayloadSHA256\)|^net/http\.\(\*persistConn\)\.writeLoop`)

// s3Write reports whether a location is in hdw's S3 writer.
func s3Write(p *profile, loc uint64) bool {
	for _, fn := range p.locFuncs[loc] {
		if s3WriteRe.MatchString(p.strings[p.funcName[fn]]) {
			return true
		}
	}
	return false
}

func stageOf(fn string) string {
	for _, st := range stages {
		if st.re.MatchString(fn) {
			return st.name
		}
	}
	return ""
}

// format prints the split as percentages of the profile's CPU.
func (s split) format() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%.1f s CPU:", s.total)
	for _, n := range stageNames() {
		if v := s.by[n]; v > 0 && s.total > 0 {
			fmt.Fprintf(&b, " %s %.0f%%", n, 100*v/s.total)
		}
	}
	return b.String()
}

// profile is the part of pprof's profile.proto that the split reads.
type profile struct {
	samples  []sample
	locFuncs map[uint64][]uint64 // location id -> function ids (innermost inline first)
	funcName map[uint64]int64    // function id -> string table index
	strings  []string
}

type sample struct {
	locs   []uint64
	values []int64
}

// parseProfile decodes the protocol buffer of profile.proto (fields:
// Profile.sample 2, location 4, function 5, string_table 6; Sample.location_id
// 1, value 2; Location.id 1, line 4; Line.function_id 1; Function.id 1,
// name 2). A few dozen lines instead of a dependency.
func parseProfile(b []byte) (*profile, error) {
	p := &profile{locFuncs: map[uint64][]uint64{}, funcName: map[uint64]int64{}}
	err := fields(b, func(num int, wire int, v uint64, data []byte) error {
		switch num {
		case 2:
			var s sample
			err := fields(data, func(n, w int, v uint64, d []byte) error {
				switch n {
				case 1:
					s.locs = appendUints(s.locs, w, v, d)
				case 2:
					for _, u := range appendUints(nil, w, v, d) {
						s.values = append(s.values, int64(u))
					}
				}
				return nil
			})
			p.samples = append(p.samples, s)
			return err
		case 4:
			var id uint64
			var fns []uint64
			err := fields(data, func(n, w int, v uint64, d []byte) error {
				switch n {
				case 1:
					id = v
				case 4:
					return fields(d, func(n, w int, v uint64, _ []byte) error {
						if n == 1 {
							fns = append(fns, v)
						}
						return nil
					})
				}
				return nil
			})
			p.locFuncs[id] = fns
			return err
		case 5:
			var id uint64
			var name int64
			err := fields(data, func(n, w int, v uint64, _ []byte) error {
				switch n {
				case 1:
					id = v
				case 2:
					name = int64(v)
				}
				return nil
			})
			p.funcName[id] = name
			return err
		case 6:
			p.strings = append(p.strings, string(data))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for id, name := range p.funcName {
		if name < 0 || int(name) >= len(p.strings) {
			return nil, fmt.Errorf("function %d: bad name index", id)
		}
	}
	return p, nil
}

var errProto = errors.New("malformed profile")

// fields calls fn for each field of a protocol buffer message: varint
// fields get v, length-delimited ones data.
func fields(b []byte, fn func(num, wire int, v uint64, data []byte) error) error {
	for len(b) > 0 {
		key, n := uvarint(b)
		if n <= 0 {
			return errProto
		}
		b = b[n:]
		num, wire := int(key>>3), int(key&7)
		var v uint64
		var data []byte
		switch wire {
		case 0:
			v, n = uvarint(b)
			if n <= 0 {
				return errProto
			}
			b = b[n:]
		case 1:
			if len(b) < 8 {
				return errProto
			}
			b = b[8:]
		case 2:
			l, n := uvarint(b)
			if n <= 0 || uint64(len(b)-n) < l {
				return errProto
			}
			data = b[n : n+int(l)]
			b = b[n+int(l):]
		case 5:
			if len(b) < 4 {
				return errProto
			}
			b = b[4:]
		default:
			return errProto
		}
		if err := fn(num, wire, v, data); err != nil {
			return err
		}
	}
	return nil
}

// appendUints appends a repeated uint64 field, packed (wire 2) or not.
func appendUints(dst []uint64, wire int, v uint64, data []byte) []uint64 {
	if wire != 2 {
		return append(dst, v)
	}
	for len(data) > 0 {
		u, n := uvarint(data)
		if n <= 0 {
			return dst
		}
		dst = append(dst, u)
		data = data[n:]
	}
	return dst
}

func uvarint(b []byte) (uint64, int) {
	var x uint64
	for i, c := range b {
		if i == 10 {
			return 0, -1
		}
		x |= uint64(c&0x7f) << (7 * i)
		if c < 0x80 {
			return x, i + 1
		}
	}
	return 0, 0
}
