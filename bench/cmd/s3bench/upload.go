package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"path"
	"strconv"
	"strings"
	"sync"

	"hdw/objstore"
	"hdw/synth"
)

// corpus describes the synthetic client upload.
type corpus struct {
	patients, dicomPer, photosPer int
	rows, cols, frames            int // CT size (frames > 1: multi-frame)
	photoW, photoH                int
	seed                          uint64
}

// corpora are the corpora of `make bench-s3` (issue 24), by name.
var corpora = map[string]corpus{
	// 900 CT slices 512x512 (473 MB).
	"ct": {patients: 100, dicomPer: 9, rows: 512, cols: 512, frames: 1, photoW: 1600, photoH: 1200},
	// 8 multi-frame CTs of 512x512x120 (503 MB).
	"multiframe": {patients: 4, dicomPer: 2, rows: 512, cols: 512, frames: 120, photoW: 1600, photoH: 1200},
	// 100 photos 1600x1200 with EXIF/XMP/IPTC.
	"photos": {patients: 100, photosPer: 1, rows: 512, cols: 512, frames: 1, photoW: 1600, photoH: 1200},
	// the CT slices and the photos (479 MB).
	"mixed": {patients: 100, dicomPer: 9, photosPer: 1, rows: 512, cols: 512, frames: 1, photoW: 1600, photoH: 1200},
}

// describe says what the corpus holds (no names).
func (c corpus) describe() string {
	var parts []string
	if n := c.patients * c.dicomPer; n > 0 {
		if c.frames > 1 {
			parts = append(parts, fmt.Sprintf("%d multi-frame CTs %dx%dx%d 16-bit", n, c.rows, c.cols, c.frames))
		} else {
			parts = append(parts, fmt.Sprintf("%d CT slices %dx%d 16-bit", n, c.rows, c.cols))
		}
	}
	if n := c.patients * c.photosPer; n > 0 {
		parts = append(parts, fmt.Sprintf("%d JPEG photos %dx%d with EXIF/XMP/IPTC", n, c.photoW, c.photoH))
	}
	return strings.Join(append(parts, "manifest.csv"), ", ")
}

// build returns the upload: synth.NewUpload's manifest and file names (names
// and rows exactly as a client sends them), with each image regenerated at
// the benchmark's size for the same synthetic person (same PatientID and
// name, so the contradiction check passes).
func (c corpus) build() (*synth.Upload, error) {
	u := synth.NewUpload(synth.UploadSpec{Seed: c.seed, Patients: c.patients, DICOMPerPatient: c.dicomPer, PhotosPerPatient: c.photosPer})
	for i := range u.Files {
		f := &u.Files[i]
		if f.Name == "manifest.csv" {
			continue
		}
		folder, base := path.Split(f.Name)
		folder = strings.TrimSuffix(folder, "/")
		if len(folder) < 5 {
			return nil, fmt.Errorf("unexpected synthetic file layout")
		}
		pi, err := strconv.Atoi(folder[len(folder)-4:])
		if err != nil || pi >= len(u.Persons) {
			return nil, fmt.Errorf("unexpected synthetic folder layout")
		}
		p := u.Persons[pi]
		switch {
		case strings.HasSuffix(base, ".dcm"):
			j, err := strconv.Atoi(strings.TrimSuffix(base[strings.LastIndex(base, "_")+1:], ".dcm"))
			if err != nil {
				return nil, fmt.Errorf("unexpected synthetic DICOM name")
			}
			// The same identifiers synth.NewUpload writes, at rows x cols.
			study := fmt.Sprintf("1.2.826.0.1.3680043.10.543.%d.%d", c.seed%1000, pi+1)
			spec := synth.DICOMSpec{
				PatientName: strings.ToUpper(p.LastName) + "^" + p.FirstName, PatientID: p.PPI,
				BirthDate: strings.ReplaceAll(p.BirthDate, "-", ""), Sex: p.Sex,
				InstitutionName: "Hôpital " + p.City, ReferringPhysician: "Dr Synth",
				StudyUID: study, SeriesUID: study + ".1", SOPUID: fmt.Sprintf("%s.1.%d", study, j),
				Modality: "CT", Manufacturer: "SynthMed", Model: "CT-1", Rows: c.rows, Cols: c.cols, Frames: max(c.frames, 1),
			}
			f.Write = func(w io.Writer) error { return synth.DICOM(w, spec) }
		case strings.HasSuffix(base, ".jpg"):
			spec := synth.PhotoSpec{Person: p, W: c.photoW, H: c.photoH}
			f.Write = func(w io.Writer) error { return synth.JPEG(w, spec) }
		default:
			return nil, fmt.Errorf("unexpected synthetic file type")
		}
	}
	return u, nil
}

// upload generates and writes every file of u into st with workers
// goroutines (s3store.Store.Create: hdw's own upload path). It returns the
// number of bytes written.
func upload(ctx context.Context, st objstore.Store, u *synth.Upload, workers int) (int64, error) {
	jobs := make(chan synth.File)
	errs := make(chan error, workers)
	var total int64
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var buf bytes.Buffer
			for f := range jobs {
				buf.Reset()
				if err := f.Write(&buf); err != nil {
					errs <- fmt.Errorf("generate: %w", err)
					return
				}
				n := int64(buf.Len())
				w, err := st.Create(ctx, f.Name)
				if err != nil {
					errs <- err
					return
				}
				if _, err := buf.WriteTo(w); err != nil {
					objstore.Abort(w)
					errs <- err
					return
				}
				if err := w.Close(); err != nil {
					errs <- err
					return
				}
				mu.Lock()
				total += n
				mu.Unlock()
			}
		}()
	}
	var err error
feed:
	for _, f := range u.Files {
		select {
		case jobs <- f:
		case err = <-errs:
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	if err == nil {
		select {
		case err = <-errs:
		default:
		}
	}
	return total, err
}
