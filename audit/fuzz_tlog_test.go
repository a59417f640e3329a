package audit_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"hdw/audit"
	"hdw/keys"
)

// FuzzParseSealedPart: the parser on sealed (format 3) segments, signed or
// not: never a panic, every error a *FormatError, and what parses
// re-encodes byte for byte.
func FuzzParseSealedPart(f *testing.F) {
	ctx := context.Background()
	st, dir := newStore(f)
	l, err := audit.Open(ctx, st, testMAC, audit.Options{Profile: keys.ProfileIngest, Operator: "LH-SVC-1",
		Sealer: auditKeys{keys.ProfileIngest, bytes.Repeat([]byte{9}, 32)}, Batch: 3})
	if err != nil {
		f.Fatal(err)
	}
	l.Append(ctx, audit.Event{Action: "batch.commit", Outcome: audit.OutcomeOK})
	l.Close(ctx)
	for _, p := range []string{"000000", "000001"} {
		b, err := os.ReadFile(filepath.Join(dir, "audit", "segments", l.ID(), p+".jsonl"))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		f.Add(b[:len(b)*2/3])
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := audit.ParsePart(data)
		if err != nil {
			var fe *audit.FormatError
			if !errors.As(err, &fe) || !errors.Is(err, audit.ErrFormat) {
				t.Fatalf("untyped error %T %v", err, err)
			}
			return
		}
		if got := p.Marshal(); !bytes.Equal(got, data) {
			t.Fatalf("not canonical:\n%q\n%q", data, got)
		}
	})
}

// FuzzCheckpointNote: verifying arbitrary bytes as a witnessed checkpoint
// never panics and never passes without the checkpoint key's signature.
func FuzzCheckpointNote(f *testing.F) {
	ctx := context.Background()
	st, _ := newStore(f)
	signer, vkey, err := audit.CheckpointSigner(audit.CheckpointName("wh"), bytes.Repeat([]byte{4}, 32))
	if err != nil {
		f.Fatal(err)
	}
	cp, err := audit.WriteCheckpoint(ctx, st, testMAC, signer, vkey, time.Now())
	if err != nil {
		f.Fatal(err)
	}
	v, err := audit.CheckpointVerifier(ctx, st)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(cp.Note)
	f.Add([]byte("hdw-audit/wh\n1\nAAAA\n\n\u2014 hdw-audit/wh AAAA\n"))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, note []byte) {
		probs, good, err := audit.VerifyCheckpoints(ctx, st, testMAC, v, [][]byte{note})
		if err != nil {
			t.Fatal(err)
		}
		for _, g := range good {
			if g.Size != cp.Size || !bytes.Equal(g.Root, cp.Root) {
				t.Fatalf("a note not signed by the checkpoint key verified: %q (%v)", note, probs)
			}
		}
	})
}
