package vault

// The policy anchor (issue 21): the policy seal's public key and the
// count of versions the admin last sealed, in the KV entry
// hdw/<warehouse>/policy/anchor. Only admin.hcl may write it (create,
// update; no delete, no metadata), every profile's policy may read it, so
// a warehouse writer can neither replace the seal's public key nor delete
// or roll back sealed versions unseen.

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"

	"hdw/keys"
)

var _ keys.PolicyAnchors = (*Provider)(nil)

func (p *Provider) anchorPath() string { return "hdw/data/" + p.cfg.Warehouse + "/policy/anchor" }

// readAnchor returns the anchor and its KV version (0, ErrKeyNotFound: none).
func (p *Provider) readAnchor(ctx context.Context) (keys.Anchor, int, error) {
	s, err := p.c.Logical().ReadWithContext(ctx, p.anchorPath())
	if err != nil {
		return keys.Anchor{}, 0, mapErr(err, "read policy anchor")
	}
	if s == nil {
		return keys.Anchor{}, 0, fmt.Errorf("vault: no policy anchor (no policy sealed since it exists): %w", keys.ErrKeyNotFound)
	}
	data, _ := s.Data["data"].(map[string]any)
	raw, _ := data["anchor"].(string)
	a, err := decodeAnchor(raw)
	if err != nil {
		return keys.Anchor{}, 0, err
	}
	md, _ := s.Data["metadata"].(map[string]any)
	v, _ := md["version"].(json.Number)
	n, _ := v.Int64()
	return a, int(n), nil
}

// decodeAnchor parses the KV entry's "anchor" field: an ed25519 public
// key and a non-negative version count, nothing else.
func decodeAnchor(raw string) (keys.Anchor, error) {
	var a keys.Anchor
	if err := json.Unmarshal([]byte(raw), &a); err != nil || len(a.Public) != ed25519.PublicKeySize || a.Versions < 0 {
		return keys.Anchor{}, errors.New("vault policy anchor: entry does not parse (the Vault administrator must check hdw/<warehouse>/policy/anchor)")
	}
	return a, nil
}

// PolicyAnchor implements keys.PolicyAnchors.
func (p *Provider) PolicyAnchor(ctx context.Context) (keys.Anchor, error) {
	a, _, err := p.readAnchor(ctx)
	return a, err
}

// SetPolicyAnchor implements keys.PolicyAnchors (admin only, by
// admin.hcl): the public key never changes once written, and the version
// count never goes down (keys.ErrForbidden); the write is a
// check-and-set on the version read.
func (p *Provider) SetPolicyAnchor(ctx context.Context, a keys.Anchor) error {
	if len(a.Public) != ed25519.PublicKeySize || a.Versions < 0 {
		return errors.New("policy anchor: not an ed25519 public key and a version count")
	}
	cur, cas, err := p.readAnchor(ctx)
	switch {
	case errors.Is(err, keys.ErrKeyNotFound):
		cas = 0
	case err != nil:
		return err
	case !bytes.Equal(cur.Public, a.Public):
		return fmt.Errorf("vault policy anchor holds another seal key: %w", keys.ErrForbidden)
	case a.Versions < cur.Versions:
		return fmt.Errorf("vault policy anchor: %d sealed versions recorded, not going back to %d: %w", cur.Versions, a.Versions, keys.ErrForbidden)
	case a.Versions == cur.Versions:
		return nil
	}
	b, _ := json.Marshal(a)
	_, err = p.c.Logical().WriteWithContext(ctx, p.anchorPath(), map[string]any{
		"data": map[string]any{"anchor": string(b)}, "options": map[string]any{"cas": cas}})
	return mapErr(err, "write policy anchor")
}
