package vault

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"iter"
	"strings"

	"hdw/keys"
)

// The data keys of the stores: generated here, wrapped and unwrapped by
// Vault's transit engine in batches, rewrapped server-side.

// batch is the most keys sent to transit in one request.
const batch = 1000

// transitBatch sends one batch to transit/OP (encrypt, decrypt, rewrap) on
// the store's transit key and returns its batch_results, one per input.
// Its errors are mapErr's; a result count that differs from the input's is
// an error too.
func (p *Provider) transitBatch(ctx context.Context, op, store string, in []map[string]any) ([]map[string]any, error) {
	s, err := p.c.Logical().WriteWithContext(ctx, "transit/"+op+"/"+TransitName(p.cfg.Warehouse, store), map[string]any{"batch_input": in})
	if err != nil {
		return nil, mapErr(err, op)
	}
	var res []any
	if s != nil {
		res, _ = s.Data["batch_results"].([]any)
	}
	if len(res) != len(in) {
		return nil, fmt.Errorf("vault %s: %d results for %d keys", op, len(res), len(in))
	}
	out := make([]map[string]any, len(res))
	for i, r := range res {
		out[i], _ = r.(map[string]any)
	}
	return out, nil
}

// ciphertextBatches cuts wrapped keys into transit batch inputs of at most
// [batch] ciphertexts.
func ciphertextBatches(wrapped [][]byte) iter.Seq[[]map[string]any] {
	return func(yield func([]map[string]any) bool) {
		for start := 0; start < len(wrapped); start += batch {
			end := min(start+batch, len(wrapped))
			in := make([]map[string]any, 0, end-start)
			for _, w := range wrapped[start:end] {
				in = append(in, map[string]any{"ciphertext": string(w)})
			}
			if !yield(in) {
				return
			}
		}
	}
}

// NewDataKeys implements keys.Provider: random DEKs wrapped with
// transit/encrypt in batches.
func (p *Provider) NewDataKeys(ctx context.Context, store string, n int) ([]keys.DataKey, error) {
	out := make([]keys.DataKey, 0, n)
	for len(out) < n {
		m := min(batch, n-len(out))
		in := make([]map[string]any, m)
		ks := make([]keys.Secret, m)
		for i := range in {
			ks[i] = keys.RandomSecret()
			in[i] = map[string]any{"plaintext": base64.StdEncoding.EncodeToString(ks[i].Bytes())}
		}
		res, err := p.transitBatch(ctx, "encrypt", store, in)
		if err != nil {
			return nil, refusal(store, err)
		}
		for i, rm := range res {
			ct, _ := rm["ciphertext"].(string)
			if e, _ := rm["error"].(string); e != "" || ct == "" {
				return nil, fmt.Errorf("vault encrypt: %w", keys.ErrForbidden)
			}
			out = append(out, keys.DataKey{Key: ks[i], Wrapped: []byte(ct)})
		}
	}
	return out, nil
}

// Unwrap implements keys.Provider with batched transit/decrypt.
func (p *Provider) Unwrap(ctx context.Context, store string, wrapped [][]byte) ([]keys.Secret, error) {
	out := make([]keys.Secret, 0, len(wrapped))
	for in := range ciphertextBatches(wrapped) {
		res, err := p.transitBatch(ctx, "decrypt", store, in)
		if err != nil {
			return nil, refusal(store, err)
		}
		for _, rm := range res {
			if e, _ := rm["error"].(string); e != "" {
				if strings.Contains(e, "min_decryption_version") || strings.Contains(e, "key version") {
					return nil, fmt.Errorf("vault decrypt: retired key version: %w", keys.ErrKeyNotFound)
				}
				return nil, fmt.Errorf("vault decrypt: wrapped key does not open")
			}
			pt, _ := rm["plaintext"].(string)
			b, err := base64.StdEncoding.DecodeString(pt)
			if err != nil {
				return nil, errors.New("vault decrypt: bad plaintext encoding")
			}
			out = append(out, keys.NewSecret(b))
			clear(b)
		}
	}
	if len(out) != len(wrapped) {
		return nil, errors.New("vault decrypt: result count mismatch")
	}
	return out, nil
}

// Rewrap implements keys.Provider: transit/rewrap, server-side; the data
// keys are never revealed to the caller.
func (p *Provider) Rewrap(ctx context.Context, store string, wrapped [][]byte) ([][]byte, error) {
	out := make([][]byte, 0, len(wrapped))
	for in := range ciphertextBatches(wrapped) {
		res, err := p.transitBatch(ctx, "rewrap", store, in)
		if err != nil {
			return nil, err
		}
		for _, rm := range res {
			ct, _ := rm["ciphertext"].(string)
			if ct == "" {
				return nil, errors.New("vault rewrap failed")
			}
			out = append(out, []byte(ct))
		}
	}
	return out, nil
}
