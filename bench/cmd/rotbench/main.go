// Command rotbench measures a pseudonym-key rotation at scale (issue 22):
// -gen writes a synthetic warehouse of -n persons in -batches batches (per
// batch an identity table and a health records table of one row per
// person, a genetic table for one person in ten, commit records, data keys
// wrapped by a test key service); -rotate then runs the dpo's rotation
// (map, identity, health) and the curator's (genetic) and prints the time
// and the peak RSS of that process. Synthetic data only; keys are derived
// from fixed strings (a benchmark, never a warehouse).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strconv"
	"time"

	"hdw/bench/cmd/internal/benchrun"
	"hdw/keys"
	"hdw/keys/keystest"
	"hdw/objstore"
	"hdw/pseudo"
	"hdw/rotation"
	"hdw/tables"
	"hdw/warehouse"
)

// prov is a key service derived from fixed strings, shared by -gen and
// -rotate (keystest.Derived).
func prov(profile string, versions int) keystest.Derived {
	return keystest.Derived{As: profile, Versions: versions, Seed: "rotbench"}
}

func main() {
	dir := flag.String("dir", "rotbench-wh", "warehouse folder")
	n := flag.Int("n", 10_000_000, "persons (pseudonyms)")
	batches := flag.Int("batches", 20, "batches")
	gen := flag.Bool("gen", false, "write the synthetic warehouse")
	rot := flag.Bool("rotate", false, "rotate it to key version 2 (dpo, then curator)")
	prof := flag.String("cpuprofile", "", "write a CPU profile of -rotate to this file")
	flag.Parse()
	ctx := context.Background()
	st, err := objstore.NewLocal(*dir)
	if err != nil {
		fail(err)
	}
	if *gen {
		start := time.Now()
		if err := generate(ctx, st, *n, *batches); err != nil {
			fail(err)
		}
		fmt.Printf("generated persons=%d batches=%d seconds=%.1f peak_rss_mib=%d\n", *n, *batches, time.Since(start).Seconds(), benchrun.PeakRSS()/1024)
	}
	if *rot {
		stop, err := benchrun.CPUProfile(*prof)
		if err != nil {
			fail(err)
		}
		defer stop()
		start := time.Now()
		var rows, maps int64
		for _, p := range []keystest.Derived{prov(keys.ProfileDPO, 2), prov(keys.ProfileCurator, 2)} {
			wh, err := warehouse.Open(ctx, st, p)
			if err != nil {
				fail(err)
			}
			res, err := rotation.Run(ctx, wh, p, rotation.Options{})
			if err != nil {
				fail(err)
			}
			rows, maps = rows+res.Rows, maps+res.MapRows
		}
		s := time.Since(start).Seconds()
		fmt.Printf("rotated persons=%d rows=%d map_pairs=%d seconds=%.1f pseudonyms_per_s=%.0f peak_rss_mib=%d\n",
			*n, rows, maps, s, float64(maps)/s, benchrun.PeakRSS()/1024)
	}
}

func generate(ctx context.Context, st objstore.Store, n, batches int) error {
	if err := warehouse.Create(ctx, st, warehouse.Descriptor{ID: "rotbench", KeyProvider: "local"}); err != nil {
		return err
	}
	ing := prov(keys.ProfileIngest, 1)
	wh, err := warehouse.Open(ctx, st, ing)
	if err != nil {
		return err
	}
	k, _ := ing.PseudonymKey(ctx, keys.PseudoWarehouse)
	pk, err := pseudo.New(k)
	if err != nil {
		return err
	}
	idS, _ := tables.NewSchema(tables.Field{Name: "pseudonym"}, tables.Field{Name: "record_id"}, tables.Field{Name: "batch"}, tables.Field{Name: "basis_kind"})
	hS, _ := tables.NewSchema(tables.Field{Name: "record_id"}, tables.Field{Name: "pseudonym"}, tables.Field{Name: "batch"},
		tables.Field{Name: "image_key"}, tables.Field{Name: "diagnosis", Type: tables.Enum}, tables.Field{Name: "visit_date", Type: tables.Date},
		tables.Field{Name: "weight_kg", Type: tables.Float})
	gS, _ := tables.NewSchema(tables.Field{Name: "pseudonym"}, tables.Field{Name: "record_id"}, tables.Field{Name: "batch"}, tables.Field{Name: "gene", Type: tables.Enum})
	per := (n + batches - 1) / batches
	for b := 0; b < batches; b++ {
		batch := fmt.Sprintf("20260101T0000%02dZ-bench%04d", b%60, b)
		deks, err := wh.NewBatchKeys(ctx, batch, []string{keys.Health, keys.Identity, keys.Genetic}, false)
		if err != nil {
			return err
		}
		ws := map[string]*tables.ObjectWriter{}
		for store, spec := range map[string]struct {
			key string
			s   *tables.Schema
		}{keys.Identity: {warehouse.IdentityTableKey(batch), idS}, keys.Health: {warehouse.HealthTableKey(batch), hS}, keys.Genetic: {warehouse.GeneticTableKey(batch), gS}} {
			if ws[store], err = tables.Create(ctx, st, spec.key, deks[store], tables.Envelope, spec.s); err != nil {
				return err
			}
		}
		for i := b * per; i < min(n, (b+1)*per); i++ {
			p := pk.Patient("NIR:" + strconv.Itoa(100000000000000+i))
			rid := fmt.Sprintf("r%012d", i)
			if err := ws[keys.Identity].Append([]string{p, rid, batch, "NIR"}); err != nil {
				return err
			}
			if err := ws[keys.Health].Append([]string{rid, p, batch, "", "C50", "2026-01-10", "71.5"}); err != nil {
				return err
			}
			if i%10 == 0 {
				if err := ws[keys.Genetic].Append([]string{p, rid, batch, "BRCA1"}); err != nil {
					return err
				}
			}
		}
		c := warehouse.Commit{Batch: batch, Created: time.Now().UTC(), Profile: keys.ProfileIngest}
		for store, w := range ws {
			o, err := w.Close()
			if err != nil {
				return err
			}
			c.Objects = append(c.Objects, warehouse.ObjectRef{Key: o.Key, Store: store, SHA256: o.SHA256, Size: o.Size})
		}
		if err := wh.WriteCommit(ctx, c); err != nil {
			return err
		}
	}
	return nil
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "rotbench:", err)
	os.Exit(1)
}
