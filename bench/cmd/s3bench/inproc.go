package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"time"

	"hdw/configs"
	"hdw/keys"
	"hdw/keys/local"
	"hdw/masking"
	"hdw/masking/dcm"
	"hdw/masking/photo"
	"hdw/objstore"
	"hdw/objstore/s3store"
	"hdw/pipeline"
	"hdw/warehouse"
)

// variant is one in-process ingest of the same source.
type variant struct {
	name    string
	what    string
	workers int  // 0: W
	dryRun  bool // nothing written to the warehouse
	copy    bool // no de-identification: the image bytes are copied
	tmpfs   bool // warehouse on /dev/shm: fsync costs nothing
}

// inProcess runs pipeline.Ingest in this process, wired as cmd/hdw wires it
// with the default configuration (handlers, mask options, scrubber, local
// keyring of a warehouse made by `hdw init`), in variants that isolate its
// costs. Times are those of pipeline.Ingest alone (the keyring is unlocked
// before), best of o.inprocRuns.
func inProcess(ctx context.Context, o options, bin, tmp string, srcCfg s3store.Config, bestDL float64, objs int, nbytes int64) error {
	vs := []variant{
		{name: "full", what: "as hdw ingest"},
		{name: "full tmpfs", what: "warehouse on tmpfs: no fsync cost", tmpfs: true},
		{name: "full 2W", what: "twice the workers", workers: 2 * o.workers},
		{name: "dry-run", what: "download + de-identify + scan, nothing written", dryRun: true},
		{name: "copy", what: "download + encrypt + write, no de-identification", copy: true},
		{name: "copy tmpfs", what: "as copy, warehouse on tmpfs", copy: true, tmpfs: true},
		{name: "copy dry-run", what: "download + pipeline bookkeeping only", copy: true, dryRun: true},
	}
	shm := ""
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		d, err := os.MkdirTemp("/dev/shm", "s3bench")
		if err == nil {
			shm = d
			defer os.RemoveAll(d)
		}
	}
	fmt.Printf("\nin-process pipeline.Ingest (cmd/hdw's wiring, default config), W=%d, best of %d, plain download best %.3f s:\n", o.workers, o.inprocRuns, bestDL)
	for i, v := range vs {
		if v.tmpfs && shm == "" {
			fmt.Printf("  %-13s skipped: no /dev/shm\n", v.name)
			continue
		}
		var best, unlock, server float64
		var sum *pipeline.Summary
		var alloc uint64
		for r := 0; r < max(o.inprocRuns, 1); r++ {
			dir := tmp
			if v.tmpfs {
				dir = shm
			}
			wh := filepath.Join(dir, fmt.Sprintf("inproc%d-%d", i, r))
			creds := filepath.Join(tmp, fmt.Sprintf("inproc-creds%d-%d", i, r))
			initCmd := exec.CommandContext(ctx, bin, "init")
			initCmd.Env = hdwEnv("HDW_WAREHOUSE="+wh, "HDW_CREDENTIALS="+creds)
			if out, err := initCmd.CombinedOutput(); err != nil {
				return fmt.Errorf("hdw init: %w\n%s", err, out)
			}
			res, err := ingestInProcess(ctx, wh, creds, srcCfg, o, v)
			os.RemoveAll(wh)
			if err != nil {
				return fmt.Errorf("in-process %s: %w", v.name, err)
			}
			if best == 0 || res.secs < best {
				best, unlock, server, sum, alloc = res.secs, res.unlock, res.server, res.sum, res.alloc
			}
		}
		fmt.Printf("  %-13s %7.3f s %7.1f obj/s %7.1f MB/s  ratio %3.0f%%  (unlock %.2f s apart; alloc %5.0f MB; ingested %d)%s  %s\n",
			v.name, best, float64(objs)/best, float64(nbytes)/1e6/best, 100*bestDL/best, unlock,
			float64(alloc)/1e6, sum.Ingested, o.server.note(server), v.what)
	}
	return nil
}

type inprocResult struct {
	secs, unlock, server float64
	alloc                uint64
	sum                  *pipeline.Summary
}

func ingestInProcess(ctx context.Context, whDir, creds string, srcCfg s3store.Config, o options, v variant) (inprocResult, error) {
	var res inprocResult
	st, err := objstore.NewLocal(whDir)
	if err != nil {
		return res, err
	}
	t0 := time.Now()
	wh, err := warehouse.Open(ctx, st, nil)
	if err != nil {
		return res, err
	}
	pass, err := keys.ReadSecretFile(filepath.Join(creds, "ingest"))
	if err != nil {
		return res, err
	}
	kr, err := local.Open(ctx, st, "ingest", pass)
	clear(pass)
	if err != nil {
		return res, err
	}
	defer kr.Close()
	wh.Keys = kr
	res.unlock = time.Since(t0).Seconds()
	src, err := s3store.New(ctx, srcCfg)
	if err != nil {
		return res, err
	}
	cfg := configs.Defaults()
	workers := v.workers
	if workers == 0 {
		workers = o.workers
	}
	opt := pipeline.Options{
		Source: src, SourceID: src.String(), Client: o.client, Workers: workers, DryRun: v.dryRun,
		Dict: configs.DefaultDictionary(), Mask: maskOptions(cfg), ScrubText: masking.ScrubText,
		Profile: "ingest", Operator: "s3bench",
	}
	ph := photo.New(photo.Config{})
	var deid pipeline.Deidentifier = masking.New(dcm.New(dcm.Config{Clean: masking.ScrubText, ExamineAll: cfg.DICOM.ExamineAll, StrictNoText: cfg.DICOM.StrictNoText, Faces: ph}), ph)
	if v.copy {
		deid = copyDeid{}
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	s0 := o.server.seconds()
	t1 := time.Now()
	res.sum, err = pipeline.Ingest(ctx, wh, kr, deid, opt)
	res.secs = time.Since(t1).Seconds()
	res.server = o.server.seconds() - s0
	runtime.ReadMemStats(&after)
	res.alloc = after.TotalAlloc - before.TotalAlloc
	return res, err
}

// maskOptions mirrors cmd/hdw's maskOptions for a configuration without OCR.
func maskOptions(c configs.Config) masking.Options {
	o := masking.Options{MaxBytes: c.Ingest.MaxFileBytes, MaxPixels: c.Ingest.MaxPixels, Faces: c.Ingest.Faces == nil || *c.Ingest.Faces}
	o.DICOM = masking.DICOMOptions{
		RetainLongitudinalModifiedDates: c.DICOM.RetainLongitudinalModifiedDates == nil || *c.DICOM.RetainLongitudinalModifiedDates,
		RetainLongitudinalFullDates:     c.DICOM.RetainLongitudinalFullDates,
		CleanDescriptors:                c.DICOM.CleanDescriptors,
		RetainPatientCharacteristics:    c.DICOM.RetainPatientCharacteristics,
		RetainDeviceIdentity:            c.DICOM.RetainDeviceIdentity,
		RetainSafePrivate:               c.DICOM.RetainSafePrivate,
		SafePrivate:                     c.DICOM.SafePrivate,
	}
	for _, m := range c.Masks {
		rm := masking.RegionMask{Manufacturer: m.Manufacturer, Model: m.Model, Rows: m.Rows, Cols: m.Cols}
		for _, b := range m.Boxes {
			rm.Boxes = append(rm.Boxes, masking.Box{X0: b[0], Y0: b[1], X1: b[2], Y1: b[3]})
		}
		o.Masks = append(o.Masks, rm)
	}
	return o
}

// copyDeid copies the image unchanged (experiment only: no de-identification).
type copyDeid struct{}

func (copyDeid) Deidentify(_ context.Context, dst io.Writer, src io.Reader, _ int64, _ masking.Person, _ masking.Options) (masking.Result, error) {
	_, err := io.Copy(dst, src)
	return masking.Result{Format: "raw", Ext: ".bin"}, err
}
