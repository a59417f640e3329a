package audit

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"hdw/keys"
	"hdw/keys/keystest"
	"hdw/objstore"
)

// newTrail returns the MAC key of the internal tests, its MAC, and a local
// store in a new temporary folder (reseal edits its files).
func newTrail(t *testing.T) (macKey []byte, mac MAC, root string, st *objstore.Local) {
	t.Helper()
	macKey = bytes.Repeat([]byte{7}, 32)
	root = t.TempDir()
	st, err := objstore.NewLocal(root)
	if err != nil {
		t.Fatal(err)
	}
	return macKey, HMAC(keys.NewSecret(macKey)), root, st
}

// reseal rewrites a part as a holder of the MAC key would: events
// renumbered from the first seq, every hash link and the seal recomputed.
func reseal(t *testing.T, root, key string, edit func(*Part), macKey []byte) {
	t.Helper()
	p := filepath.Join(root, filepath.FromSlash(key))
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	part, err := ParsePart(b)
	if err != nil {
		t.Fatal(err)
	}
	first := part.Records[0].Seq
	edit(part)
	hb, _ := json.Marshal(part.Header)
	var body bytes.Buffer
	body.Write(hb)
	body.WriteByte('\n')
	last := hb
	for i := range part.Records {
		r := &part.Records[i]
		r.Seq, r.Prev = first+int64(i), digest(last)
		l, _ := json.Marshal(eventLine{Seq: r.Seq, Time: r.Event.Time.UTC().Format(TimeFormat), Prev: r.Prev, Event: r.Event})
		if part.Header.Version == SealedVersion {
			l, _ = json.Marshal(sealedLine{Seq: r.Seq, Time: r.Event.Time.UTC().Format(TimeFormat), Prev: r.Prev, End: r.End, Sealed: r.Sealed, By: r.By, Sig: r.Sig})
		}
		body.Write(l)
		body.WriteByte('\n')
		last = l
	}
	m := hmac.New(sha256.New, macKey)
	m.Write(body.Bytes())
	sb, _ := json.Marshal(Seal{Prev: digest(last), MAC: hex.EncodeToString(m.Sum(nil))})
	body.Write(sb)
	body.WriteByte('\n')
	os.Chmod(p, 0o600)
	if err := os.WriteFile(p, body.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestIssue22_SEC_DAY_2_NoDataProfileRewritesTheTrail is the done-when
// test of issue 22: a researcher, a curator and an ingest operator each
// hold everything their profile can unwrap (the MAC key keys.Audit: every
// profile; never keys.CheckpointKey) and try to forge, reorder, drop or
// truncate events. The MAC-chained verifier alone is fooled by a re-sealed
// rewrite; the RFC 6962 tree against the admin-signed checkpoints (stored,
// and one kept by a witness) fails every time, naming the checkpoint and
// the first changed object.
func TestIssue22_SEC_DAY_2_NoDataProfileRewritesTheTrail(t *testing.T) {
	seed := bytes.Repeat([]byte{42}, 32)
	attacks := []string{"forge", "reorder", "drop", "truncate", "forge-checkpoint"}
	for _, prof := range []string{keys.Researcher("cardio"), keys.ProfileCurator, keys.ProfileIngest} {
		if keys.Allowed(prof, keys.OpUse, keys.CheckpointKey) || !keys.Allowed(prof, keys.OpUse, keys.Audit) {
			t.Fatalf("%s: the checkpoint key must be the admin's alone", prof)
		}
		for _, attack := range attacks {
			t.Run(prof+"/"+attack, func(t *testing.T) {
				ctx := context.Background()
				macKey, mac, root, st := newTrail(t)
				now := time.Now().UTC().Add(-time.Hour)
				clock := func() time.Time { now = now.Add(time.Second); return now }
				var ids []string
				for i := range 3 {
					l, err := Open(ctx, st, mac, Options{Profile: prof, Operator: "LH-USR-0000000" + string(rune('1'+i)), Now: clock, Batch: 10})
					if err != nil {
						t.Fatal(err)
					}
					for _, a := range []string{"workspace.pull", "export.request", "rights.find"} {
						l.Append(ctx, Event{Action: a, Outcome: OutcomeOK})
					}
					l.Close(ctx)
					ids = append(ids, l.ID())
				}
				signer, vkey, err := CheckpointSigner(CheckpointName("wh1"), seed)
				if err != nil {
					t.Fatal(err)
				}
				cp, err := WriteCheckpoint(ctx, st, mac, signer, vkey, time.Now())
				if err != nil || cp.Size != 3*3 { // each session: head, part 0, part 1
					t.Fatalf("checkpoint: %+v %v", cp, err)
				}
				witness := cp.Note
				v, err := CheckpointVerifier(ctx, st)
				if err != nil {
					t.Fatal(err)
				}
				if probs, good, err := VerifyCheckpoints(ctx, st, mac, v, [][]byte{witness}); err != nil || len(probs) != 0 || len(good) != 2 {
					t.Fatalf("sound trail: %+v %v", probs, err)
				}
				target := partKey(ids[1], 1) // the middle session's events
				switch attack {
				case "forge":
					reseal(t, root, target, func(p *Part) {
						p.Records[1].Event.Outcome = OutcomeDenied
						p.Records[1].Event.Operator = "LH-USR-someone-else"
					}, macKey)
				case "reorder":
					reseal(t, root, target, func(p *Part) { p.Records[0], p.Records[2] = p.Records[2], p.Records[0] }, macKey)
				case "drop":
					reseal(t, root, target, func(p *Part) { p.Records = append(p.Records[:1], p.Records[2:]...) }, macKey)
				case "truncate":
					// the newest session and every stored checkpoint go
					for _, k := range []string{headKey(2), partKey(ids[2], 0), partKey(ids[2], 1)} {
						os.Remove(filepath.Join(root, filepath.FromSlash(k)))
					}
					os.RemoveAll(filepath.Join(root, "audit", "checkpoints"))
				case "forge-checkpoint":
					// rewrite, then sign a checkpoint with a key of one's own
					reseal(t, root, target, func(p *Part) { p.Records[1].Event.Action = "nothing.happened" }, macKey)
					os.RemoveAll(filepath.Join(root, "audit", "checkpoints"))
					os.Chmod(filepath.Join(root, "audit", "checkpoint-key"), 0o600)
					os.Remove(filepath.Join(root, "audit", "checkpoint-key"))
					own, ownKey, _ := CheckpointSigner(CheckpointName("wh1"), bytes.Repeat([]byte{1}, 32))
					if _, err := WriteCheckpoint(ctx, st, mac, own, ownKey, time.Now()); err != nil {
						t.Fatal(err)
					}
				}
				if attack != "truncate" {
					// The MAC holder's rewrite fools the hash-chained verifier...
					if rep, _, err := Verify(ctx, st, mac); err != nil || !rep.OK {
						t.Fatalf("re-sealed trail: %+v %v", rep.First, err)
					}
				}
				// ...but never the tree against the checkpoints.
				v, err = CheckpointVerifier(ctx, st)
				if err != nil {
					t.Fatal(err)
				}
				probs, _, err := VerifyCheckpoints(ctx, st, mac, v, [][]byte{witness})
				if err != nil {
					t.Fatal(err)
				}
				if len(probs) == 0 {
					t.Fatalf("%s by %s not detected", attack, prof)
				}
				sort.SliceStable(probs, func(i, j int) bool { return probs[i].File < probs[j].File })
				var names []string
				for _, p := range probs {
					names = append(names, p.Kind+" "+p.File+": "+p.Detail)
				}
				all := strings.Join(names, "\n")
				switch attack {
				case "truncate":
					if !strings.Contains(all, KindTruncatedTail+" witness:1") {
						t.Fatalf("truncation: %s", all)
					}
				case "forge-checkpoint":
					if !strings.Contains(all, KindBadCheckpoint+" witness:1") {
						t.Fatalf("forged checkpoint: %s", all)
					}
				default:
					if !strings.Contains(all, KindContradicted+" witness:1") || !strings.Contains(all, "first changed or missing object: "+target) {
						t.Fatalf("%s: %s", attack, all)
					}
				}
			})
		}
	}
}

// TestIssue22_MigrationChainsTodaysTrail: a trail in today's format
// (FormatVersion, clear payloads, MAC seals) is verified, then chained
// into the log by the first checkpoint; sessions written after it in the
// sealed format (SRS-091) extend the same tree, and the two checkpoints
// are consistent (RFC 6962 consistency proof). An edit of the old trail
// then contradicts both.
func TestIssue22_MigrationChainsTodaysTrail(t *testing.T) {
	ctx := context.Background()
	macKey, mac, root, st := newTrail(t)
	var old []string
	for range 2 {
		l, err := Open(ctx, st, mac, Options{Profile: keys.ProfileIngest, Operator: "LH-SVC-1"})
		if err != nil {
			t.Fatal(err)
		}
		l.Append(ctx, Event{Action: "batch.commit", Outcome: OutcomeOK})
		l.Close(ctx)
		old = append(old, l.ID())
	}
	if rep, _, err := Verify(ctx, st, mac); err != nil || !rep.OK {
		t.Fatalf("today's trail: %+v %v", rep.First, err)
	}
	signer, vkey, _ := CheckpointSigner(CheckpointName("wh1"), bytes.Repeat([]byte{42}, 32))
	first, err := WriteCheckpoint(ctx, st, mac, signer, vkey, time.Now())
	if err != nil || first.Size != 2*4 {
		t.Fatalf("first checkpoint: %+v %v", first, err)
	}
	sealed := testSealer{bytes.Repeat([]byte{3}, 32)}
	l, err := Open(ctx, st, mac, Options{Profile: keys.ProfileCurator, Operator: "LH-USR-1", Sealer: sealed})
	if err != nil {
		t.Fatal(err)
	}
	l.Append(ctx, Event{Action: "workspace.create", Outcome: OutcomeOK})
	l.Close(ctx)
	second, err := WriteCheckpoint(ctx, st, mac, signer, vkey, time.Now())
	if err != nil || second.Size != first.Size+4 {
		t.Fatalf("second checkpoint: %+v %v", second, err)
	}
	v, _ := CheckpointVerifier(ctx, st)
	probs, good, err := VerifyCheckpoints(ctx, st, mac, v, nil)
	if err != nil || len(probs) != 0 || len(good) != 2 {
		t.Fatalf("migrated log: %+v %v", probs, err)
	}
	reseal(t, root, partKey(old[0], 1), func(p *Part) { p.Records[0].Event.Outcome = OutcomeFailed }, macKey)
	probs, _, _ = VerifyCheckpoints(ctx, st, mac, v, nil)
	if len(probs) != 2 || probs[0].Kind != KindContradicted {
		t.Fatalf("an edit of the migrated trail: %+v", probs)
	}
}

// TestENS_OP_ACC_1_EventsSignedByTheirOperator: every event line of a
// session opened with an operator's signer carries that operator's id and
// ed25519 signature; a holder of the MAC key who rewrites the line (even
// re-chaining and re-sealing it) breaks the signature, and a line
// claiming another operator does not verify with their key.
func TestENS_OP_ACC_1_EventsSignedByTheirOperator(t *testing.T) {
	ctx := context.Background()
	macKey, mac, root, st := newTrail(t)
	apub, apriv, _ := ed25519.GenerateKey(nil)
	bpub, _, _ := ed25519.GenerateKey(nil)
	dir := keystest.Directory{"LH-USR-alice": apub, "LH-USR-bob": bpub}
	kek := bytes.Repeat([]byte{9}, 32)
	l, err := Open(ctx, st, mac, Options{Profile: keys.ProfileCurator, Operator: "LH-USR-alice",
		Sealer: testSealer{kek}, Signer: keystest.Signer{ID: "LH-USR-alice", Key: apriv}, Batch: 10})
	if err != nil {
		t.Fatal(err)
	}
	l.Append(ctx, Event{Action: "export.approve", Outcome: OutcomeOK})
	l.Close(ctx)
	rep, _, err := VerifySigned(ctx, st, mac, nil, dir)
	if err != nil || !rep.OK {
		t.Fatalf("signed trail: %+v %v", rep.First, err)
	}
	target := partKey(l.ID(), 1)
	reseal(t, root, target, func(p *Part) { p.Records[0].By = "LH-USR-bob" }, macKey)
	if rep, _, _ := Verify(ctx, st, mac); !rep.OK {
		t.Fatalf("the re-sealed line must fool the MAC chain: %+v", rep.First)
	}
	rep, _, _ = VerifySigned(ctx, st, mac, nil, dir)
	if rep.OK || rep.First.Kind != KindBadSignature || rep.First.File != target {
		t.Fatalf("a line moved to bob: %+v", rep.First)
	}
	reseal(t, root, target, func(p *Part) { p.Records[0].By = "LH-USR-alice"; p.Records[0].Sealed[20] ^= 1 }, macKey)
	rep, _, _ = VerifySigned(ctx, st, mac, nil, dir)
	if rep.OK || rep.First.Kind != KindBadSignature {
		t.Fatalf("an edited ciphertext under alice's name: %+v", rep.First)
	}
}

// testSealer seals every session under one fixed data key (the kek).
type testSealer struct{ kek []byte }

func (s testSealer) NewDataKeys(_ context.Context, store string, n int) ([]keys.DataKey, error) {
	return []keys.DataKey{{Key: keys.NewSecret(s.kek), Wrapped: []byte("w")}}, nil
}
