package audit

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ed25519"
	_ "crypto/sha256" // RFC 6962 hasher
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/note"

	"hdw/objstore"
)

// The trail as a transparency log (ARCHITECTURE §5b): every object of the
// trail (a session's head, then its segment parts, sessions in head order)
// is a leaf of an RFC 6962 Merkle tree; the leaf is the object's stored
// bytes, so the tree covers the ciphertext (SRS-091) and verification needs
// no decryption key. A checkpoint (C2SP tlog-checkpoint, signed note) names
// the tree size and root hash of the closed prefix of the trail and is
// signed by the audit checkpoint key, which only the admin holds
// (keys.CheckpointKey): a profile holding the MAC key can re-seal a
// rewritten trail, but cannot sign a checkpoint for it, and a truncated or
// rewritten tail contradicts every checkpoint taken before (above all one
// kept by a witness: a second bucket with Object Lock, a file the DPO
// keeps, a ticket).
const (
	checkpointsPrefix = "audit/checkpoints/"
	// CheckpointKeyObject holds the note verifier key of the checkpoint
	// key (public), written once by the first checkpoint.
	CheckpointKeyObject = "audit/checkpoint-key"
)

// Problem kinds of [VerifyCheckpoints].
const (
	KindBadCheckpoint  = "bad-checkpoint"   // a checkpoint's signature does not verify, or it is malformed
	KindContradicted   = "contradicted"     // the trail no longer has the tree a checkpoint signed
	KindTruncatedTail  = "truncated-tail"   // the trail has fewer leaves than a checkpoint signed
	KindInconsistent   = "inconsistent"     // two checkpoints are not consistent (the log was rewritten between them)
	KindOldCheckpoint  = "before-retention" // informational: a checkpoint below the retention floor
	checkpointOriginPf = "hdw-audit/"
)

var hasher = rfc6962.New(crypto.SHA256)

// leaf is one object of the trail in tree order.
type leaf struct {
	key  string
	hash []byte
}

// treeLeaves lists the trail objects in tree order: heads from the
// retention floor, each followed by its session's parts. With closedOnly,
// it stops before the first session that is neither closed nor older than
// [OpenGrace] (a running command), so that the prefix it returns never
// grows in the middle.
func treeLeaves(ctx context.Context, st objstore.Store, mac MAC, now time.Time, closedOnly bool) ([]leaf, int64, error) {
	ls, err := list(ctx, st)
	if err != nil {
		return nil, 0, err
	}
	floor, err := currentFloor(ctx, st, mac, ls)
	if err != nil {
		return nil, 0, err
	}
	nums := make([]int64, 0, len(ls.heads))
	for n := range ls.heads {
		if n >= floor {
			nums = append(nums, n)
		}
	}
	sort.Slice(nums, func(i, j int) bool { return nums[i] < nums[j] })
	var out []leaf
	for _, n := range nums {
		hb, err := readObject(ctx, st, ls.heads[n])
		if err != nil {
			return nil, 0, err
		}
		var h headRecord
		if _, _, err := parseSealed(hb, &h); err != nil && closedOnly {
			break
		}
		parts := ls.parts[h.Segment]
		pn := make([]int, 0, len(parts))
		for p := range parts {
			pn = append(pn, p)
		}
		sort.Ints(pn)
		sess := []leaf{{ls.heads[n], hasher.HashLeaf(hb)}}
		closed, last := false, time.Time{}
		for _, p := range pn {
			b, err := readObject(ctx, st, parts[p])
			if err != nil {
				return nil, 0, err
			}
			sess = append(sess, leaf{parts[p], hasher.HashLeaf(b)})
			if pp, err := ParsePart(b); err == nil {
				closed = len(pp.Records) > 0 && (pp.Records[len(pp.Records)-1].End || pp.Records[len(pp.Records)-1].Action == ActionClose)
				last, _ = time.Parse(TimeFormat, pp.Header.Written)
			}
		}
		if closedOnly && !closed && now.Sub(last) <= OpenGrace {
			break
		}
		out = append(out, sess...)
	}
	return out, floor, nil
}

// subtree returns the RFC 6962 hash of leaves [begin, end).
func subtree(ls []leaf, begin, end uint64) []byte {
	n := end - begin
	switch n {
	case 0:
		return hasher.EmptyRoot()
	case 1:
		return ls[begin].hash
	}
	k := uint64(1)
	for k<<1 < n {
		k <<= 1
	}
	return hasher.HashChildren(subtree(ls, begin, begin+k), subtree(ls, begin+k, end))
}

func leafListDigest(ls []leaf) (string, []byte) {
	var b bytes.Buffer
	for _, l := range ls {
		fmt.Fprintf(&b, "%s %s\n", l.key, hex.EncodeToString(l.hash))
	}
	return digest(b.Bytes()), b.Bytes()
}

// Checkpoint is a parsed checkpoint note.
type Checkpoint struct {
	Origin string
	Size   uint64
	Root   []byte
	Floor  int64
	Leaves string // SHA-256 of the leaf list (audit/checkpoints/<size>.leaves)
	Time   time.Time
	Note   []byte // the signed note as written
}

// CheckpointName returns the origin line of a warehouse's checkpoints.
func CheckpointName(warehouse string) string { return checkpointOriginPf + warehouse }

func checkpointKey(size uint64) string { return fmt.Sprintf("%s%020d.note", checkpointsPrefix, size) }

// WriteCheckpoint signs the tree of the closed prefix of the trail with
// signer (the audit checkpoint key, admin only) and stores the note under
// audit/checkpoints/ with its leaf list; it returns the note, for a
// witness. signer.Name() is the origin (see [CheckpointName]). A
// checkpoint of the same size already stored is returned as is.
func WriteCheckpoint(ctx context.Context, st objstore.Store, mac MAC, signer note.Signer, vkey string, now time.Time) (*Checkpoint, error) {
	ls, floor, err := treeLeaves(ctx, st, mac, now, true)
	if err != nil {
		return nil, err
	}
	size := uint64(len(ls))
	if b, err := readObject(ctx, st, checkpointKey(size)); err == nil {
		return parseCheckpoint(b)
	}
	sum, list := leafListDigest(ls)
	root := subtree(ls, 0, size)
	text := fmt.Sprintf("%s\n%d\n%s\nfloor %d\nleaves %s\ntime %s\n", signer.Name(), size,
		base64.StdEncoding.EncodeToString(root), floor, sum, now.UTC().Format(time.RFC3339))
	msg, err := note.Sign(&note.Note{Text: text}, signer)
	if err != nil {
		return nil, fmt.Errorf("audit: sign checkpoint: %w", err)
	}
	if err := putOnce(ctx, st, CheckpointKeyObject, []byte(vkey+"\n"), "", now, false); err != nil {
		if !errors.Is(err, objstore.ErrExist) {
			return nil, fmt.Errorf("audit: write checkpoint key: %w", err)
		}
		got, _ := readObject(ctx, st, CheckpointKeyObject)
		if strings.TrimSpace(string(got)) != vkey {
			return nil, errors.New("audit: the stored checkpoint key is not this warehouse's: the trail was tampered with, or the key was rotated (docs/keys.md)")
		}
	}
	if err := putOnce(ctx, st, strings.TrimSuffix(checkpointKey(size), ".note")+".leaves", list, "", now, false); err != nil {
		return nil, fmt.Errorf("audit: write checkpoint: %w", err)
	}
	if err := putOnce(ctx, st, checkpointKey(size), msg, "", now, false); err != nil {
		return nil, fmt.Errorf("audit: write checkpoint: %w", err)
	}
	return parseCheckpoint(msg)
}

// parseCheckpoint parses a note without checking its signature.
func parseCheckpoint(msg []byte) (*Checkpoint, error) {
	text, _, ok := bytes.Cut(msg, []byte("\n\n"))
	if !ok {
		return nil, errors.New("audit: checkpoint: not a signed note")
	}
	return parseCheckpointText(string(text)+"\n", msg)
}

func parseCheckpointText(text string, msg []byte) (*Checkpoint, error) {
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	if len(lines) < 3 {
		return nil, errors.New("audit: checkpoint: want origin, size and root")
	}
	c := &Checkpoint{Origin: lines[0], Note: msg}
	var err error
	if c.Size, err = strconv.ParseUint(lines[1], 10, 64); err != nil {
		return nil, errors.New("audit: checkpoint: bad size")
	}
	if c.Root, err = base64.StdEncoding.DecodeString(lines[2]); err != nil || len(c.Root) != 32 {
		return nil, errors.New("audit: checkpoint: bad root hash")
	}
	for _, l := range lines[3:] {
		k, v, _ := strings.Cut(l, " ")
		switch k {
		case "floor":
			c.Floor, _ = strconv.ParseInt(v, 10, 64)
		case "leaves":
			c.Leaves = v
		case "time":
			c.Time, _ = time.Parse(time.RFC3339, v)
		}
	}
	return c, nil
}

// VerifyCheckpoints checks the trail against every stored checkpoint and
// every witnessed one (notes kept outside the warehouse): each signature
// with the checkpoint key's verifier v; each tree against the trail as it
// is now (a checkpoint larger than the trail: its tail was deleted; a
// different root: an object was changed, removed or inserted, and the leaf
// list names the first one); and every pair of checkpoints for
// consistency (RFC 6962 consistency proofs). The problems name the
// checkpoint (File: its object key, or "witness:<i>") and, where known,
// the first bad object of the trail. The error is for I/O only.
func VerifyCheckpoints(ctx context.Context, st objstore.Store, mac MAC, v note.Verifier, witnessed [][]byte) ([]Problem, []*Checkpoint, error) {
	var probs []Problem
	ls, floor, err := treeLeaves(ctx, st, mac, time.Now(), false)
	if err != nil {
		return nil, nil, err
	}
	type src struct {
		name string
		msg  []byte
	}
	var srcs []src
	for info, err := range st.List(ctx, checkpointsPrefix) {
		if err != nil {
			return nil, nil, err
		}
		if strings.HasSuffix(info.Key, ".note") {
			b, err := readObject(ctx, st, info.Key)
			if err != nil {
				return nil, nil, err
			}
			srcs = append(srcs, src{info.Key, b})
		}
	}
	for i, w := range witnessed {
		srcs = append(srcs, src{fmt.Sprintf("witness:%d", i+1), w})
	}
	var good []*Checkpoint
	for _, s := range srcs {
		n, err := note.Open(s.msg, note.VerifierList(v))
		if err != nil {
			probs = append(probs, Problem{Segment: s.name, File: s.name, Kind: KindBadCheckpoint,
				Detail: "the checkpoint's signature does not verify with the warehouse's checkpoint key (forged, or the key was replaced)"})
			continue
		}
		c, err := parseCheckpointText(n.Text, s.msg)
		if err != nil || c.Origin != v.Name() {
			probs = append(probs, Problem{Segment: s.name, File: s.name, Kind: KindBadCheckpoint, Detail: "malformed checkpoint"})
			continue
		}
		if c.Floor < floor {
			continue // below the retention floor: its leaves were removed on purpose
		}
		if c.Floor > floor {
			probs = append(probs, Problem{Segment: s.name, File: s.name, Kind: KindContradicted,
				Detail: fmt.Sprintf("checkpoint of size %d starts at head %d, the trail at head %d: a retention record was deleted", c.Size, c.Floor, floor)})
			continue
		}
		if c.Size > uint64(len(ls)) {
			probs = append(probs, Problem{Segment: s.name, File: s.name, Kind: KindTruncatedTail,
				Detail: fmt.Sprintf("checkpoint of size %d, the trail has %d objects: its tail was deleted%s", c.Size, len(ls), firstBad(ctx, st, c, ls))})
			continue
		}
		if !bytes.Equal(subtree(ls, 0, c.Size), c.Root) {
			probs = append(probs, Problem{Segment: s.name, File: s.name, Kind: KindContradicted,
				Detail: fmt.Sprintf("the trail's first %d objects no longer hash to the checkpoint's root: rewritten%s", c.Size, firstBad(ctx, st, c, ls))})
			continue
		}
		good = append(good, c)
	}
	sort.Slice(good, func(i, j int) bool { return good[i].Size < good[j].Size })
	for i := 1; i < len(good); i++ {
		a, b := good[i-1], good[i]
		if a.Size == 0 || a.Size == b.Size {
			continue
		}
		nodes, err := proof.Consistency(a.Size, b.Size)
		if err != nil {
			return nil, nil, err
		}
		hs := make([][]byte, len(nodes.IDs))
		for j, id := range nodes.IDs {
			lo, hi := id.Coverage()
			hs[j] = subtree(ls, lo, hi)
		}
		pr, err := nodes.Rehash(hs, hasher.HashChildren)
		if err == nil {
			err = proof.VerifyConsistency(hasher, a.Size, b.Size, pr, a.Root, b.Root)
		}
		if err != nil {
			probs = append(probs, Problem{Segment: "checkpoints", File: checkpointKey(b.Size), Kind: KindInconsistent,
				Detail: fmt.Sprintf("checkpoints of size %d and %d are not consistent", a.Size, b.Size)})
		}
	}
	return probs, good, nil
}

// firstBad names the first object that differs from the checkpoint's leaf
// list, when the list is stored and matches the signed digest.
func firstBad(ctx context.Context, st objstore.Store, c *Checkpoint, ls []leaf) string {
	b, err := readObject(ctx, st, strings.TrimSuffix(checkpointKey(c.Size), ".note")+".leaves")
	if err != nil || digest(b) != c.Leaves {
		return ""
	}
	for i, line := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
		key, h, _ := strings.Cut(line, " ")
		if i >= len(ls) {
			return fmt.Sprintf("; first missing object: %s", key)
		}
		if ls[i].key != key || hex.EncodeToString(ls[i].hash) != h {
			return fmt.Sprintf("; first changed or missing object: %s", key)
		}
	}
	return ""
}

// noteSigner signs checkpoints with the ed25519 checkpoint key.
type noteSigner struct {
	name string
	hash uint32
	priv ed25519.PrivateKey
}

func (s noteSigner) Name() string                    { return s.name }
func (s noteSigner) KeyHash() uint32                 { return s.hash }
func (s noteSigner) Sign(msg []byte) ([]byte, error) { return ed25519.Sign(s.priv, msg), nil }

// CheckpointSigner returns the note signer of the checkpoint key (a 32-byte
// ed25519 seed, keys.CheckpointKey, admin only) for origin, and its public
// verifier key in the note format (for [CheckpointKeyObject] and
// witnesses).
func CheckpointSigner(origin string, seed []byte) (note.Signer, string, error) {
	if len(seed) != ed25519.SeedSize {
		return nil, "", errors.New("audit: checkpoint key must be 32 bytes")
	}
	priv := ed25519.NewKeyFromSeed(seed)
	vkey, err := note.NewEd25519VerifierKey(origin, priv.Public().(ed25519.PublicKey))
	if err != nil {
		return nil, "", err
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		return nil, "", err
	}
	return noteSigner{name: origin, hash: v.KeyHash(), priv: priv}, vkey, nil
}

// CheckpointVerifier reads the verifier key of the warehouse's checkpoint
// key ([CheckpointKeyObject]); objstore.ErrNotExist (wrapped) when no
// checkpoint was ever taken.
func CheckpointVerifier(ctx context.Context, st objstore.Store) (note.Verifier, error) {
	b, err := readObject(ctx, st, CheckpointKeyObject)
	if err != nil {
		return nil, err
	}
	return note.NewVerifier(strings.TrimSpace(string(b)))
}
