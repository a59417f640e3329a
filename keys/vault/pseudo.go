package vault

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"hdw/keys"
)

// Pseudonym keys are KV v2 secrets (hdw/<warehouse>/pseudo/<name>); their
// KV versions are the key's versions. A chained key (keys.Chained) is read
// whole, every version, as one keys.Chain; rotating it writes a new KV
// version (the admin: "update" on the warehouse, professional and
// opposition paths, never "read"); retiring records min_version in the
// secret's custom metadata (KV soft-deletion would cut the chain).

var _ keys.Versions = (*Provider)(nil)

func (p *Provider) kvMetaPath(name string) string {
	return strings.Replace(p.kvPath(name), "/data/", "/metadata/", 1)
}

// readKV reads one version of a pseudonym key (0: the latest) and returns
// its bytes and version.
func (p *Provider) readKV(ctx context.Context, name string, version int) (keys.Secret, int, error) {
	var q map[string][]string
	if version > 0 {
		q = map[string][]string{"version": {strconv.Itoa(version)}}
	}
	sec, err := p.c.Logical().ReadWithDataWithContext(ctx, p.kvPath(name), q)
	if err != nil {
		return keys.Secret{}, 0, mapErr(err, "read pseudonym key")
	}
	if sec == nil {
		return keys.Secret{}, 0, fmt.Errorf("%s: %w", name, keys.ErrKeyNotFound)
	}
	data, _ := sec.Data["data"].(map[string]any)
	meta, _ := sec.Data["metadata"].(map[string]any)
	v, _ := data["key"].(string)
	b, err := base64.StdEncoding.DecodeString(v)
	if err != nil || len(b) != 32 {
		return keys.Secret{}, 0, fmt.Errorf("%s version %d: %w", name, version, keys.ErrKeyNotFound)
	}
	n, _ := meta["version"].(json.Number)
	got, _ := n.Int64()
	s := keys.NewSecret(b)
	clear(b)
	return s, int(got), nil
}

// PseudonymKey implements keys.Provider (KV v2 reads, cached in memory): a
// chained key with several versions is returned as keys.Chain of them all.
func (p *Provider) PseudonymKey(ctx context.Context, name string) (keys.Secret, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.renewEr != nil {
		return keys.Secret{}, fmt.Errorf("vault token renewal failed: %w", keys.ErrUnavailable)
	}
	if s, ok := p.cache[name]; ok {
		return keys.NewSecret(s.Bytes()), nil
	}
	latest, n, err := p.readKV(ctx, name, 0)
	if err != nil {
		return keys.Secret{}, err
	}
	links := []keys.Secret{latest}
	if keys.Chained(name) && n > 1 {
		links = make([]keys.Secret, 0, n)
		for v := 1; v < n; v++ {
			s, _, err := p.readKV(ctx, name, v)
			if err != nil {
				return keys.Secret{}, fmt.Errorf("%s: version %d of the chain: %w", name, v, err)
			}
			links = append(links, s)
		}
		links = append(links, latest)
	}
	s := keys.Chain(links)
	for _, l := range links {
		l.Wipe()
	}
	p.cache[name] = s
	return keys.NewSecret(s.Bytes()), nil
}

// rotatePseudo writes a new random version of a pseudonym key.
func (p *Provider) rotatePseudo(ctx context.Context, name string) (int, error) {
	b := make([]byte, 32)
	rand.Read(b)
	defer clear(b)
	s, err := p.c.Logical().WriteWithContext(ctx, p.kvPath(name), map[string]any{
		"data": map[string]any{"key": base64.StdEncoding.EncodeToString(b)}})
	if err != nil {
		return 0, mapErr(err, "rotate pseudonym key")
	}
	p.mu.Lock()
	if c, ok := p.cache[name]; ok {
		c.Wipe()
		delete(p.cache, name)
	}
	p.mu.Unlock()
	if s == nil {
		return 0, fmt.Errorf("rotate %s: no version in Vault's answer", name)
	}
	v, _ := s.Data["version"].(json.Number)
	n, _ := v.Int64()
	return int(n), nil
}

// KeyVersions implements keys.Versions from the KV metadata (a store key:
// the transit key's latest and min_decryption_version).
func (p *Provider) KeyVersions(ctx context.Context, name string) (latest, min int, err error) {
	path := p.kvMetaPath(name)
	latestField, minField := "current_version", ""
	if keys.IsStoreKey(name) {
		path, latestField, minField = "transit/keys/"+TransitName(p.cfg.Warehouse, name), "latest_version", "min_decryption_version"
	}
	s, err := p.c.Logical().ReadWithContext(ctx, path)
	if err != nil {
		return 0, 0, mapErr(err, "read key versions")
	}
	if s == nil {
		return 0, 0, fmt.Errorf("%s: %w", name, keys.ErrKeyNotFound)
	}
	num := func(v any) int {
		switch x := v.(type) {
		case json.Number:
			n, _ := x.Int64()
			return int(n)
		case string:
			n, _ := strconv.Atoi(x)
			return n
		}
		return 0
	}
	latest = num(s.Data[latestField])
	if minField != "" {
		min = num(s.Data[minField])
	} else if cm, ok := s.Data["custom_metadata"].(map[string]any); ok {
		min = num(cm["min_version"])
	}
	return latest, max(1, min), nil
}

// retirePseudo records min_version in the key's custom metadata.
func (p *Provider) retirePseudo(ctx context.Context, name string, minVersion int) error {
	latest, _, err := p.KeyVersions(ctx, name)
	if err != nil {
		return err
	}
	if minVersion > latest {
		return fmt.Errorf("%s has %d versions", name, latest)
	}
	_, err = p.c.Logical().WriteWithContext(ctx, p.kvMetaPath(name), map[string]any{
		"custom_metadata": map[string]any{"min_version": strconv.Itoa(minVersion)}})
	return mapErr(err, "retire pseudonym key versions")
}
