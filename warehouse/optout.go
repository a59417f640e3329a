package warehouse

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"path"

	"hdw/objstore"
	"hdw/pseudo"
)

// The opposition registry (CNIL 9.4, 9.7) is the folder optout/ of the
// warehouse: one empty object per opposed person, named by
// HMAC(opposition key, basis). It holds no identity in clear.

// LoadOpposition returns the set of opposition ids.
func LoadOpposition(ctx context.Context, st objstore.Store) (map[string]bool, error) {
	m := map[string]bool{}
	for info, err := range st.List(ctx, "optout/") {
		if err != nil {
			return nil, err
		}
		m[path.Base(info.Key)] = true
	}
	return m, nil
}

// AddOpposition records a person's opposition (idempotent).
func AddOpposition(ctx context.Context, st objstore.Store, ok *pseudo.Keyed, basis string) (string, error) {
	id := OppositionID(ok, basis)
	err := st.PutIfAbsent(ctx, "optout/"+id, bytes.NewReader(nil))
	if errors.Is(err, objstore.ErrExist) {
		err = nil
	}
	return id, err
}

// OppositionID is the registry entry of a person: HMAC(opposition key,
// basis), hex. The registry holds no identity in clear (CNIL 9.7).
func OppositionID(ok *pseudo.Keyed, basis string) string {
	return hex.EncodeToString(ok.Sum(pseudo.DomainOpposition, basis)[:20])
}
