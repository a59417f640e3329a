package export

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"strings"
)

// Apply streams the released table: generalized QIs and sensitive columns
// of the rows not suppressed, without the person column, in a random order
// drawn from a fresh key (SEC-EXP-1 linkability: the release cannot be
// lined up with the health table's order or with another release). With
// Request.ExportPseudonyms the last column is a pseudonym under a fresh
// key of this call, discarded when it returns.
//
// The rows are held interned (a 4-byte index per cell) to be shuffled.
func Apply(ctx context.Context, src RowSource, rep *Report, emit func(vals []string) error) error {
	req := rep.Request
	drop := map[int64]bool{}
	for _, i := range rep.SuppressedRowIndex {
		drop[i] = true
	}
	if int64(len(rep.SuppressedRowIndex)) < rep.Suppressed {
		return errors.New("export: too many suppressed rows to apply by index")
	}
	var seed [32]byte
	if _, err := rand.Read(seed[:]); err != nil {
		return fmt.Errorf("export: random key: %w", err)
	}
	var pkey [32]byte
	if _, err := rand.Read(pkey[:]); err != nil {
		return fmt.Errorf("export: random key: %w", err)
	}
	defer clear(pkey[:])
	mac := hmac.New(sha256.New, pkey[:])
	ncol := len(rep.OutputColumns)
	intern := make([]map[string]uint32, ncol)
	vals := make([][]string, ncol)
	for i := range intern {
		intern[i] = map[string]uint32{}
	}
	var cells []uint32
	var idx int64
	err := src.Rows(ctx, func(row map[string]string) error {
		defer func() { idx++ }()
		if drop[idx] {
			return nil
		}
		for i, c := range rep.OutputColumns {
			var v string
			if c == ExportPseudonymColumn && req.ExportPseudonyms {
				mac.Reset()
				mac.Write([]byte(row[req.PersonColumn]))
				v = "X" + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(mac.Sum(nil)[:15]))
			} else {
				v = req.rule(c).Apply(row[c], req.Reference)
			}
			n, ok := intern[i][v]
			if !ok {
				n = uint32(len(vals[i]))
				intern[i][v] = n
				vals[i] = append(vals[i], v)
			}
			cells = append(cells, n)
		}
		return ctx.Err()
	})
	if err != nil {
		return err
	}
	intern = nil
	rows := 0
	if ncol > 0 {
		rows = len(cells) / ncol
	}
	order := make([]int, rows)
	for i := range order {
		order[i] = i
	}
	mrand.New(mrand.NewChaCha8(seed)).Shuffle(rows, func(i, j int) { order[i], order[j] = order[j], order[i] })
	clear(seed[:])
	out := make([]string, ncol)
	for _, r := range order {
		for i := range out {
			out[i] = vals[i][cells[r*ncol+i]]
		}
		if err := emit(append([]string(nil), out...)); err != nil {
			return err
		}
	}
	return nil
}
