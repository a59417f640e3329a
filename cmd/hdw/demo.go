package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"hdw/keys"
	"hdw/synth"
	"hdw/warehouse"
)

type demoOpts struct {
	upload   string
	patients int
	dicom    int
	photos   int
	seed     uint64
}

func newDemoCmd(g *globals) *cobra.Command {
	var o demoOpts
	c := &cobra.Command{
		Use:   "demo",
		Short: "the embedded end-to-end run: synthetic upload, init, ingest, summary",
		Long: `Demo generates a synthetic client upload (DICOM files with identifiers in
their headers, JPEG photos with EXIF and GPS, a manifest with names, NIRs,
notes and a few deliberately bad rows) into --upload, creates the warehouse
(--warehouse / HDW_WAREHOUSE, default ./hdw-data) with the embedded keyring if
it does not exist, ingests the upload as the ingest profile and prints the
summary (--json too). Nothing is downloaded; every value is made up.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runDemo(cmd.Context(), g, o)
		},
	}
	f := c.Flags()
	f.StringVar(&o.upload, "upload", "hdw-demo-upload", "folder for the synthetic upload (recreated)")
	f.IntVar(&o.patients, "patients", 12, "synthetic patients")
	f.IntVar(&o.dicom, "dicom", 3, "DICOM files per patient")
	f.IntVar(&o.photos, "photos", 1, "photos per patient")
	f.Uint64Var(&o.seed, "seed", 2021118, "generator seed")
	return c
}

func runDemo(ctx context.Context, g *globals, o demoOpts) error {
	up := synth.NewUpload(synth.UploadSpec{Seed: o.seed, Patients: o.patients, DICOMPerPatient: o.dicom, PhotosPerPatient: o.photos, BadRows: true})
	if err := os.RemoveAll(o.upload); err != nil {
		return err
	}
	for _, f := range up.Files {
		p := filepath.Join(o.upload, filepath.FromSlash(f.Name))
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			return err
		}
		out, err := os.OpenFile(p, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
		if err != nil {
			return err
		}
		if err := f.Write(out); err != nil {
			out.Close()
			return fmt.Errorf("generate synthetic file: %w", err)
		}
		if err := out.Close(); err != nil {
			return err
		}
	}
	if !g.json {
		fmt.Fprintf(g.stdout, "synthetic upload: %d files for %d patients in %s (with bad rows on purpose)\n", len(up.Files), len(up.Persons), o.upload)
	}
	s, err := g.openStore(ctx, g.warehouse)
	if err != nil {
		return err
	}
	if _, err := warehouse.Open(ctx, s, nil); err != nil {
		jsonOut := g.json
		g.json = false
		out := g.stdout
		if jsonOut {
			g.stdout = g.stderr
		}
		err := runInit(ctx, g)
		g.json, g.stdout = jsonOut, out
		if err != nil {
			return err
		}
	}
	g.profile = keys.ProfileIngest
	err = runIngest(ctx, g, ingestOpts{workers: 0}, o.upload)
	var ee *exitError
	if errors.As(err, &ee) && ee.code == exitQuarantined {
		// The demo upload holds bad inputs on purpose: their rejection or
		// quarantine is the expected result.
		if !g.json {
			fmt.Fprintln(g.stdout, "demo: the rejected and quarantined items are the deliberately bad inputs of the synthetic upload")
		}
		return nil
	}
	return err
}
