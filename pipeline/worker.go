package pipeline

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"strings"
	"sync"

	"hdw/configs"
	"hdw/keys"
	"hdw/masking"
	"hdw/objstore"
	"hdw/pseudo"
	"hdw/warehouse"
)

type worker struct {
	wh      *warehouse.Warehouse
	opt     Options
	deid    Deidentifier
	wk      *pseudo.Keyed
	pk      *pseudo.Keyed
	ok      *pseudo.Keyed
	opposed map[string]bool
	dek     keys.Secret
	batch   string
	dedupe  *dedupe
}

func (p *worker) wipe() { p.wk.Wipe(); p.pk.Wipe(); p.ok.Wipe() }

// identifierColumns maps identifying manifest columns to the generic
// tokens of SEC-PSE-4.
var identifierColumns = []struct{ col, kind string }{
	{"nir", "NIR"}, {"ppi", "PPI"}, {"iep", "IEP"}, {"last_name", "LAST_NAME"}, {"birth_name", "NAME_OF_BIRTH"},
	{"first_name", "FIRST_NAME"}, {"birth_date", "BIRTH_DATE"}, {"birth_place", "BIRTH_PLACE"},
	{"address", "ADDRESS"}, {"postal_code", "CODE_POSTAL"}, {"city", "CITY"}, {"phone", "TEL"},
	{"email", "EMAIL"}, {"source_pseudonym", "SOURCE_ID"}, {"physician_name", "PHYSICIAN"},
}

// PersonOf returns the masking view of a row's person: its pseudonym, its
// identifying values (for scrubbing and the residual scan) and its date shift.
func PersonOf(r *Row, pseudonym string, shift int) masking.Person {
	p := masking.Person{Pseudonym: pseudonym, DateShiftDays: shift}
	for _, c := range identifierColumns {
		if v := r.Values.Get(c.col); v != "" {
			p.Identifiers = append(p.Identifiers, masking.Identifier{Kind: c.kind, Value: v})
		}
	}
	if f := r.File(); f != "" {
		base := f[strings.LastIndex(f, "/")+1:]
		if i := strings.LastIndex(base, "."); i > 0 {
			base = base[:i]
		}
		p.Identifiers = append(p.Identifiers, masking.Identifier{Kind: "FILE_NAME", Value: base})
		for _, dir := range strings.Split(f, "/") {
			if dir != "" && dir != f[strings.LastIndex(f, "/")+1:] {
				p.Identifiers = append(p.Identifiers, masking.Identifier{Kind: "FOLDER_NAME", Value: dir})
			}
		}
	}
	return p
}

// OppositionID is [warehouse.OppositionID] (the registry is the warehouse's).
func OppositionID(ok *pseudo.Keyed, basis string) string { return warehouse.OppositionID(ok, basis) }

func (p *worker) process(ctx context.Context, w *work) *result {
	r := &result{w: w}
	if err := ctx.Err(); err != nil {
		r.outcome, r.reason = Quarantined, "run interrupted before this item"
		return r
	}
	if w.rowErr != nil {
		r.outcome, r.reason = Rejected, w.rowErr.Error()
		var re *RowError
		if errors.As(w.rowErr, &re) {
			r.reason = re.Reason
			if re.Column != "" {
				r.reason = "column " + re.Column + ": " + re.Reason
			}
		}
		return r
	}
	if w.row == nil {
		// An image without a manifest row: never ingested without a known person.
		r.outcome = Quarantined
		r.reason = "image has no manifest row; add a row naming this file"
		w.ref = p.contentRef(ctx, w.obj)
		return r
	}
	row := w.row
	if row.Basis != "" {
		if p.opposed[OppositionID(p.ok, row.Basis)] || p.opposedByName(row) {
			r.outcome, r.opposed = Rejected, true
			r.reason = "the person opposed the use of their data (CNIL 9.7); row skipped before anything was stored"
			return r
		}
		r.pseudo = p.wk.Patient(row.Basis)
	} else {
		r.pseudo = p.wk.Import(row.Values.Get("source_name"), row.Values.Get("source_pseudonym"))
	}
	person := PersonOf(row, r.pseudo, p.wk.DateShift(r.pseudo))
	if w.obj != nil {
		if reason := p.image(ctx, w, r, person); reason != "" {
			r.outcome, r.reason = Quarantined, reason
			if r.rejected {
				r.outcome = Rejected // not an instance (a DICOMDIR): nothing to clean, nothing kept
			}
			return r
		}
		if r.duplicate {
			r.outcome, r.reason = Rejected, "same image content already stored for this person (duplicate upload); skipped"
			return r
		}
	}
	r.rec = p.record(row, r, person)
	if reason := p.residualRecord(r.rec, person); reason != "" {
		p.dedupe.unclaim(r.dedupeID)
		r.dedupeID = ""
		if r.imageKey != "" {
			p.wh.St.Delete(context.WithoutCancel(ctx), r.imageKey)
			r.imageKey = ""
		}
		r.outcome, r.reason = Quarantined, reason
		return r
	}
	r.outcome = Ingested
	return r
}

// opposedByName checks the name basis too: a person who opposed before
// their NIR was known is still skipped when a later row carries it.
func (p *worker) opposedByName(row *Row) bool {
	last := row.Values.Get("birth_name")
	if last == "" {
		last = row.Values.Get("last_name")
	}
	b, err := pseudo.Basis(pseudo.Identity{LastName: last, FirstName: row.Values.Get("first_name"), BirthDate: row.Values.Get("birth_date"), Sex: row.Values.Get("sex")})
	return err == nil && b != row.Basis && p.opposed[OppositionID(p.ok, b)]
}

// open opens an object of the source: from memory when the warm start
// downloaded it (warm.go), else in ranges or whole.
func (p *worker) open(ctx context.Context, obj objstore.Info) (io.ReadCloser, error) {
	if rc, ok := p.opt.warm.open(ctx, obj); ok {
		return rc, nil
	}
	return p.opt.Ranges.Open(ctx, p.opt.Source, obj)
}

func (p *worker) contentRef(ctx context.Context, obj *objstore.Info) string {
	rc, err := p.opt.Source.Open(ctx, obj.Key)
	if errors.Is(err, objstore.ErrNotRegular) {
		return "refused entry (symlink or special file)"
	}
	if err != nil {
		return "unreadable image"
	}
	defer rc.Close()
	h := sha256.New()
	if _, err := io.Copy(h, io.LimitReader(rc, p.maxBytes())); err != nil {
		return "unreadable image"
	}
	return "image sha256:" + hex.EncodeToString(h.Sum(nil))[:16]
}

func (p *worker) maxBytes() int64 {
	if p.opt.Mask.MaxBytes > 0 {
		return p.opt.Mask.MaxBytes
	}
	return 512 << 20
}

// image de-identifies and stores one image; it returns a quarantine reason or "".
func (p *worker) image(ctx context.Context, w *work, r *result, person masking.Person) string {
	if w.obj.Size > p.maxBytes() {
		return fmt.Sprintf("file of %d bytes exceeds the limit of %d bytes (ingest.max_file_bytes)", w.obj.Size, p.maxBytes())
	}
	rc, err := p.open(ctx, *w.obj)
	if err != nil {
		return sourceReason(err)
	}
	defer rc.Close()
	// A read that fails (network, storage) is a fault of the source, not a
	// damaged file: its reason says so whatever the de-identifier makes of
	// the truncated stream.
	src := &faultReader{r: rc, h: sha256.New()}
	o := p.opt.Mask
	o.UIDs = p.wk.UID
	o.Boxes = append(append([]masking.Box(nil), o.Boxes...), w.row.Boxes...)
	token := randomToken()
	key := warehouse.ImageKey(r.pseudo, p.batch+"-"+token, "")
	var dst io.WriteCloser
	if p.opt.DryRun {
		dst = nopCloser{io.Discard}
	} else {
		dst, err = warehouse.CreateEncrypted(ctx, p.wh.St, key, p.dek)
		if err != nil {
			return "cannot write to the warehouse; rerun to retry"
		}
	}
	out := stage(dst)
	res, err := p.deid.Deidentify(ctx, out, src, w.obj.Size, person, o)
	if err == nil {
		err = checkContradiction(res, w.row)
	}
	if err != nil {
		out.Abort()
		objstore.Abort(dst)
		if src.err != nil {
			if ctx.Err() != nil {
				return "run interrupted during this item"
			}
			return sourceReason(src.err)
		}
		var q *masking.QuarantineError
		if errors.As(err, &q) {
			return q.Reason
		}
		var rj *masking.RejectError
		if errors.As(err, &rj) {
			r.rejected = true
			return rj.Reason
		}
		if ctx.Err() != nil {
			return "run interrupted during this item"
		}
		return "processing failed (I/O error); rerun to retry"
	}
	// Content dedupe per person: the rest of the source is hashed (the
	// de-identifier may stop before its end), then the keyed id of
	// (pseudonym, content) is claimed for this run.
	if _, err := io.Copy(io.Discard, io.LimitReader(src, p.maxBytes())); err != nil || src.err != nil {
		out.Abort()
		objstore.Abort(dst)
		return sourceReason(errors.Join(err, src.err))
	}
	if err := out.Close(); err != nil {
		objstore.Abort(dst)
		return "cannot write to the warehouse; rerun to retry"
	}
	if p.dedupe != nil {
		id := p.dedupe.id(p.wk, r.pseudo, src.h.Sum(nil))
		if !p.dedupe.claim(id) {
			objstore.Abort(dst)
			r.duplicate = true
			return ""
		}
		r.dedupeID = id
	}
	if err := dst.Close(); err != nil {
		p.dedupe.unclaim(r.dedupeID)
		return "cannot write to the warehouse; rerun to retry"
	}
	r.res = res
	r.res.PatientID, r.res.PatientName = "", ""
	r.sha = out.sum()
	r.size = out.size()
	if !p.opt.DryRun {
		r.imageKey = key
	}
	return ""
}

// sourceReason is the quarantine reason of a source object that could not
// be read: a refused special file, or a store fault (nothing about the
// file's content; a rerun retries it).
func sourceReason(err error) string {
	switch {
	case errors.Is(err, objstore.ErrNotRegular):
		return "refused: " + objstore.ErrNotRegular.Error()
	case errors.Is(err, objstore.ErrNotExist):
		return "the file disappeared from the source during the run; upload it again and rerun"
	case errors.Is(err, objstore.ErrChanged):
		return "the file changed in the source during the run (its ranges were of two versions); rerun to ingest it"
	case objstore.IsStoreFault(err):
		return "reading the source failed (" + storeFault(err) + "), not a problem of the file; rerun to retry"
	}
	return "reading the source failed (I/O or network error), not a problem of the file; rerun to retry"
}

func storeFault(err error) string {
	for _, e := range []error{objstore.ErrAccessDenied, objstore.ErrNoBucket, objstore.ErrUnreachable, objstore.ErrWrongRegion} {
		if errors.Is(err, e) {
			s := e.Error()
			if i := strings.Index(s, ":"); i > 0 {
				s = s[:i]
			}
			return s
		}
	}
	return "I/O error"
}

// faultReader remembers the first read error of a source object other than EOF.
type faultReader struct {
	r   io.Reader
	h   hash.Hash // of the bytes read (content dedupe)
	err error
}

func (f *faultReader) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	f.h.Write(p[:n])
	if err != nil && err != io.EOF && f.err == nil {
		f.err = err
	}
	return n, err
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }
func (nopCloser) Abort() error { return nil }

// checkContradiction quarantines an image whose DICOM identity contradicts
// its manifest row (ARCHITECTURE §2). Values are compared, never reported.
func checkContradiction(res masking.Result, row *Row) error {
	if id := strings.TrimSpace(res.PatientID); id != "" {
		match := false
		for _, c := range []string{"ppi", "nir", "iep", "source_pseudonym"} {
			if v := row.Values.Get(c); v != "" && strings.EqualFold(strings.ReplaceAll(id, " ", ""), strings.ReplaceAll(v, " ", "")) {
				match = true
			}
		}
		known := row.Values.Get("ppi") != "" || row.Values.Get("nir") != "" || row.Values.Get("iep") != "" || row.Values.Get("source_pseudonym") != ""
		if known && !match {
			return masking.Quarantine("DICOM PatientID contradicts the manifest row (ppi, nir, iep or source_pseudonym)")
		}
	}
	if name := pseudo.Normalize(strings.ReplaceAll(res.PatientName, "^", " ")); name != "" {
		var cands []string
		for _, c := range []string{"last_name", "birth_name"} {
			if v := pseudo.Normalize(row.Values.Get(c)); v != "" {
				cands = append(cands, v)
			}
		}
		if len(cands) > 0 {
			match := false
			for _, c := range cands {
				if strings.Contains(" "+name+" ", " "+c+" ") {
					match = true
				}
			}
			if !match {
				return masking.Quarantine("DICOM PatientName contradicts the manifest row (last_name or birth_name)")
			}
		}
	}
	return nil
}

// record builds the health record of a row (pseudonymized; identifying
// columns never enter it).
func (p *worker) record(row *Row, r *result, person masking.Person) map[string]string {
	d := p.opt.Dict
	rec := map[string]string{
		"record_id": randomToken(),
		"pseudonym": r.pseudo,
		"batch":     p.batch,
		"collected": p.opt.Now().UTC().Format("2006-01-02"),
	}
	if row.Basis == "" {
		rec["import"] = "yes"
	}
	for _, c := range d.ByCategory(configs.CatHealth) {
		rec[c] = row.Values.Get(c)
		// One date policy (issue 19): dates shifted by the person's keyed
		// shift, as in the DICOM files, unless full dates are retained.
		if col, _ := d.Lookup(c); col.Type == "date" && rec[c] != "" && !p.opt.Mask.DICOM.RetainLongitudinalFullDates {
			rec[c], _ = masking.ShiftDate(rec[c], person.DateShiftDays)
		}
	}
	for _, c := range d.ByCategory(configs.CatFreeText) {
		if v := row.Values.Get(c); v != "" {
			rec[c] = p.opt.ScrubText(v, person)
		}
	}
	if row.Values.Get("physician_rpps") != "" || row.Values.Get("physician_name") != "" {
		rec["physician_pseudonym"] = p.pk.Professional(row.Values.Get("physician_rpps"), row.Values.Get("physician_name"))
	}
	if bd := row.Values.Get("birth_date"); len(bd) >= 4 {
		rec["birth_year"] = bd[:4]
	}
	rec["sex_code"] = row.Values.Get("sex")
	if pc := strings.TrimSpace(row.Values.Get("postal_code")); len(pc) >= 2 {
		rec["department"] = Department(pc)
	}
	if r.w.obj != nil {
		rec["image_key"] = r.imageKey
		rec["image_format"] = r.res.Format
		rec["image_sha256"] = r.sha
		rec["image_bytes"] = fmt.Sprint(r.size)
		rec["study_uid"] = r.res.StudyInstanceUID
		rec["series_uid"] = r.res.SeriesInstanceUID
		rec["sop_uid"] = r.res.SOPInstanceUID
		if rec["modality"] == "" && r.res.Modality != "" {
			rec["modality"] = strings.ToUpper(r.res.Modality)
		}
	}
	return rec
}

// Department returns the French department of a postal code (2A/2B for
// Corsica, 3 digits overseas).
func Department(pc string) string {
	pc = strings.TrimSpace(pc)
	if len(pc) < 2 {
		return ""
	}
	if strings.HasPrefix(pc, "97") || strings.HasPrefix(pc, "98") {
		if len(pc) >= 3 {
			return pc[:3]
		}
	}
	if strings.HasPrefix(pc, "20") && len(pc) == 5 {
		if pc < "20200" {
			return "2A"
		}
		return "2B"
	}
	return pc[:2]
}

// residualRecord scans the text of a health record for the person's
// identifiers (last line of defence on the structured side).
func (p *worker) residualRecord(rec map[string]string, person masking.Person) string {
	// Each identifier and each value is normalized once (this runs for
	// every record).
	var ids []masking.Identifier
	var norms []string
	for _, id := range person.Identifiers {
		if len(id.Value) < 4 || id.Kind == "FOLDER_NAME" || id.Kind == "CODE_POSTAL" {
			continue
		}
		if n := pseudo.Normalize(id.Value); n != "" {
			ids, norms = append(ids, id), append(norms, " "+n+" ")
		}
	}
	if len(ids) == 0 {
		return ""
	}
	for k, v := range rec {
		if v == "" || k == "pseudonym" || k == "physician_pseudonym" {
			continue
		}
		nv := " " + pseudo.Normalize(v) + " "
		for i, n := range norms {
			if strings.Contains(nv, n) {
				return fmt.Sprintf("residual identifier (%s) in health column %s after scrubbing", ids[i].Kind, k)
			}
		}
	}
	return ""
}

// dedupe is the content index of a run (issue 23): same image content
// already stored for the same person is skipped and counted. Its ids are
// keyed hashes, HMAC(warehouse pseudonym key, pseudonym | SHA-256 of the
// source bytes), kept in the commit records' sources: nothing in them
// identifies a person or a file without the key (SEC-PSE-1).
type dedupe struct {
	committed map[string]bool // ids of earlier runs (read only)
	mu        sync.Mutex
	run       map[string]bool // ids claimed by this run
}

func (d *dedupe) id(wk *pseudo.Keyed, pseudonym string, sum []byte) string {
	return hex.EncodeToString(wk.Sum("content", pseudonym+"|"+hex.EncodeToString(sum))[:16])
}

// claim reports whether id is new (not committed, not claimed in this run).
func (d *dedupe) claim(id string) bool {
	if d.committed["content:"+id] {
		return false
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.run[id] {
		return false
	}
	d.run[id] = true
	return true
}

// unclaim releases an id whose item was finally not ingested.
func (d *dedupe) unclaim(id string) {
	if d == nil || id == "" {
		return
	}
	d.mu.Lock()
	delete(d.run, id)
	d.mu.Unlock()
}
