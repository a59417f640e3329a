package rights

// Genetic data in a right of access (issue 22 item 4, SEC-LOG-6): the dpo
// never holds the genetic key, so an access request that covers genetic
// rows is answered by an extract a curator prepares against the request.
// Two people, two records, both audited by the caller, none holding an
// identifying value:
//
//  1. The DPO's [Service.Access] finds the person in a batch with a
//     genetic table it cannot read: it records an ask under
//     rights/genetic/<tag>/ (ask.json: the request reference, who, when,
//     signed by the DPO when operators are enrolled; ask.enc: the person's
//     warehouse pseudonyms and the batches, encrypted under a data key
//     wrapped by the health store key, which the curator and the dpo
//     unwrap and no other data profile does) and stops with
//     [ErrGeneticExtractPending]: no partial package leaves.
//  2. A curator runs [PrepareGeneticExtract] for the request: it checks the
//     ask (its signature by an enrolled dpo operator), reads the genetic
//     tables of those batches, keeps the rows of those pseudonyms, and
//     writes extract.enc (a table, under a fresh data key wrapped by the
//     health store key: readable by the dpo, who never gets the genetic
//     key) and extract.json (who, when, rows, the hash of the ask and of
//     the extract, signed by the curator).
//  3. The DPO's Access run again verifies the extract (signed by an
//     enrolled curator other than the DPO, bound to this ask, every row one
//     of the person's pseudonyms), puts its rows in genetic.{parquet,csv}
//     of the package, deletes extract.enc and records delivered.json: the
//     genetic rows live again only under the genetic key.

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"sort"
	"time"

	"hdw/keys"
	"hdw/objstore"
	"hdw/warehouse"
)

// GeneticPrefix is the folder of the genetic extracts in the warehouse.
const GeneticPrefix = "rights/genetic/"

// Errors of the genetic extract flow.
var (
	// ErrGeneticExtractPending means the person has genetic rows the dpo
	// cannot read: an extract was asked of a curator for the request
	// (hdw rights genetic-extract); run access again once it is ready.
	ErrGeneticExtractPending = errors.New("rights: the person has genetic data, which only a curator can read (SEC-LOG-6): a curator-prepared extract is asked for this request; a curator runs `hdw --profile curator rights genetic-extract --request REF`, then run access again")
	// ErrGeneticExtract means an ask or an extract does not verify (edited,
	// unsigned once operators are enrolled, signed by the wrong person, or
	// holding rows of another person). It is an alert.
	ErrGeneticExtract = errors.New("rights: genetic extract does not verify")
	// ErrNoGeneticAsk means no DPO asked an extract for this request.
	ErrNoGeneticAsk = errors.New("rights: no genetic extract asked for this request (the DPO's rights access asks it)")
)

// GeneticTrust signs and verifies the two records: the acting operator's
// signer (nil: unsigned) and the operator directory (nil or empty:
// signatures are not required, as before any enrolment).
type GeneticTrust struct {
	Signer keys.Signer
	Dir    keys.Directory
	// Asked is called after the DPO's ask is recorded (for the audit trail).
	Asked func(ctx context.Context, a GeneticAsk)
}

// GeneticAsk is ask.json: the DPO's ask, without the pseudonyms.
type GeneticAsk struct {
	Request string    `json:"request"`
	AskedBy string    `json:"asked_by"`
	Asked   time.Time `json:"asked"`
	Batches int       `json:"batches"`
	Wrapped []byte    `json:"wrapped"` // data key of ask.enc, wrapped by the health store key
	Sig     []byte    `json:"sig,omitempty"`
}

// GeneticExtract is extract.json: the curator's extract record.
type GeneticExtract struct {
	Request     string    `json:"request"`
	AskHash     string    `json:"ask_hash"`
	ExtractedBy string    `json:"extracted_by"`
	Extracted   time.Time `json:"extracted"`
	Rows        int       `json:"rows"`
	DataHash    string    `json:"data_hash"` // sha256 of extract.enc as stored
	Wrapped     []byte    `json:"wrapped"`   // data key of extract.enc, wrapped by the health store key
	Sig         []byte    `json:"sig,omitempty"`
}

// geneticAskBody is ask.enc.
type geneticAskBody struct {
	Pseudonyms []string `json:"pseudonyms"`
	Batches    []string `json:"batches"`
}

func geneticDir(ref string) string {
	h := sha256.Sum256([]byte("hdw rights genetic\x00" + ref))
	return GeneticPrefix + hex.EncodeToString(h[:16]) + "/"
}

func signedBytes(kind string, v any) []byte {
	b, _ := json.Marshal(v)
	return append([]byte("hdw rights genetic "+kind+" v1\n"), b...)
}

func (a GeneticAsk) message() []byte     { a.Sig = nil; return signedBytes("ask", a) }
func (e GeneticExtract) message() []byte { e.Sig = nil; return signedBytes("extract", e) }

func sign(ctx context.Context, sg keys.Signer, msg []byte) ([]byte, error) {
	if sg == nil {
		return nil, nil
	}
	return sg.Sign(ctx, msg)
}

// verifySig checks that by, an enrolled operator of role, signed msg;
// without enrolled operators an unsigned record passes.
func verifySig(ctx context.Context, dir keys.Directory, by, role string, msg, sig []byte) error {
	if on, err := enrolled(ctx, dir); err != nil || !on {
		return err
	}
	op, err := dir.Operator(ctx, by)
	if err != nil {
		return fmt.Errorf("%w: signed by %s, not an enrolled operator", ErrGeneticExtract, by)
	}
	if string(op.Role) != role || len(sig) == 0 || !ed25519.Verify(op.PublicKey, msg, sig) {
		return fmt.Errorf("%w: not signed by %s as %s", ErrGeneticExtract, by, role)
	}
	return nil
}

// enrolled reports whether the directory holds operators: then every
// record is signed by the person who acts.
func enrolled(ctx context.Context, dir keys.Directory) (bool, error) {
	if dir == nil {
		return false, nil
	}
	ops, err := dir.Operators(ctx)
	if err != nil {
		return false, fmt.Errorf("operator directory: %w", err)
	}
	return len(ops) > 0, nil
}

// errNoSigner: once operators are enrolled, the ask and the extract are
// signed by the person who acts.
var errNoSigner = fmt.Errorf("rights: the genetic ask and extract are signed by the person who acts: log in as an enrolled operator: %w", keys.ErrForbidden)

func readJSONBytes(ctx context.Context, st objstore.Store, key string, v any) ([]byte, error) {
	b, err := objstore.ReadAll(ctx, st, key, 1<<20)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return nil, fmt.Errorf("%w: %s does not parse", ErrGeneticExtract, key)
	}
	return b, nil
}

// sealRows calls write with a fresh data key of the health store (which
// the curator and the dpo unwrap) and returns the key wrapped.
func sealRows(ctx context.Context, wh *warehouse.Warehouse, key string, write func(dek keys.Secret) error) ([]byte, error) {
	dks, err := wh.Keys.NewDataKeys(ctx, keys.Health, 1)
	if err != nil {
		return nil, fmt.Errorf("data key for %s: %w", key, err)
	}
	defer dks[0].Key.Wipe()
	if err := write(dks[0].Key); err != nil {
		return nil, err
	}
	return dks[0].Wrapped, nil
}

func unwrapHealth(ctx context.Context, wh *warehouse.Warehouse, wrapped []byte) (keys.Secret, error) {
	ks, err := wh.Keys.Unwrap(ctx, keys.Health, [][]byte{wrapped})
	if err != nil {
		return keys.Secret{}, err
	}
	return ks[0], nil
}

// askGenetic records the DPO's ask (step 1) unless one is there.
func (s *Service) askGenetic(ctx context.Context, req Request, p *person, batches []string) error {
	dir := geneticDir(req.Ref)
	if _, err := s.wh.St.Stat(ctx, dir+"ask.json"); err == nil {
		return ErrGeneticExtractPending
	}
	if on, err := enrolled(ctx, s.opt.Genetic.Dir); err != nil {
		return err
	} else if on && s.opt.Genetic.Signer == nil {
		return errNoSigner
	}
	body, _ := json.Marshal(geneticAskBody{Pseudonyms: p.list(), Batches: batches})
	defer clear(body)
	wrapped, err := sealRows(ctx, s.wh, dir+"ask.enc", func(dek keys.Secret) error {
		return warehouse.PutEncrypted(ctx, s.wh.St, dir+"ask.enc", dek, body)
	})
	if err != nil {
		return err
	}
	a := GeneticAsk{Request: req.Ref, AskedBy: s.opt.Operator, Asked: s.opt.Now().UTC().Truncate(time.Second), Batches: len(batches), Wrapped: wrapped}
	if a.Sig, err = sign(ctx, s.opt.Genetic.Signer, a.message()); err != nil {
		return err
	}
	b, _ := json.Marshal(a)
	if err := s.wh.St.PutIfAbsent(ctx, dir+"ask.json", bytes.NewReader(b)); err != nil {
		return err
	}
	if s.opt.Genetic.Asked != nil {
		s.opt.Genetic.Asked(ctx, a)
	}
	return ErrGeneticExtractPending
}

// PendingGeneticAsks lists the asks without an extract yet (curator's view).
func PendingGeneticAsks(ctx context.Context, st objstore.Store) ([]GeneticAsk, error) {
	var out []GeneticAsk
	for info, err := range st.List(ctx, GeneticPrefix) {
		if err != nil {
			if errors.Is(err, objstore.ErrNotExist) {
				break
			}
			return nil, err
		}
		d, ok := cutSuffix(info.Key, "ask.json")
		if !ok {
			continue
		}
		if _, err := st.Stat(ctx, d+"extract.json"); err == nil {
			continue
		}
		var a GeneticAsk
		if _, err := readJSONBytes(ctx, st, info.Key, &a); err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Asked.Before(out[j].Asked) })
	return out, nil
}

func cutSuffix(k, name string) (string, bool) {
	if len(k) < len(name) || k[len(k)-len(name):] != name {
		return "", false
	}
	return k[:len(k)-len(name)], true
}

// PrepareGeneticExtract is the curator's step 2 for the request ref: wh
// must be opened with the curator's key provider (the genetic key), tr
// signs as the curator and verifies the DPO's ask. It returns the extract
// record; the caller audits it (request and row count, no identifier).
func PrepareGeneticExtract(ctx context.Context, wh *warehouse.Warehouse, profile, operator, ref string, tr GeneticTrust, now time.Time) (*GeneticExtract, error) {
	if profile != keys.ProfileCurator {
		return nil, fmt.Errorf("rights: a genetic extract is prepared by the curator profile (SEC-LOG-6): %w", keys.ErrForbidden)
	}
	if !ValidRef(ref) {
		return nil, ErrNoRequest
	}
	if on, err := enrolled(ctx, tr.Dir); err != nil {
		return nil, err
	} else if on && tr.Signer == nil {
		return nil, errNoSigner
	}
	dir := geneticDir(ref)
	var a GeneticAsk
	askRaw, err := readJSONBytes(ctx, wh.St, dir+"ask.json", &a)
	if errors.Is(err, objstore.ErrNotExist) {
		return nil, ErrNoGeneticAsk
	}
	if err != nil {
		return nil, err
	}
	if a.Request != ref {
		return nil, fmt.Errorf("%w: the ask names another request", ErrGeneticExtract)
	}
	if err := verifySig(ctx, tr.Dir, a.AskedBy, keys.ProfileDPO, a.message(), a.Sig); err != nil {
		return nil, err
	}
	if tr.Signer != nil && tr.Signer.OperatorID() == a.AskedBy {
		return nil, fmt.Errorf("%w: the extract is prepared by another person than the DPO who asked (two people)", keys.ErrForbidden)
	}
	if _, err := wh.St.Stat(ctx, dir+"extract.json"); err == nil {
		return nil, fmt.Errorf("rights: the extract of request %s is already prepared", ref)
	}
	dek, err := unwrapHealth(ctx, wh, a.Wrapped)
	if err != nil {
		return nil, fmt.Errorf("open the ask of request %s: %w", ref, err)
	}
	raw, err := warehouse.ReadEncryptedAll(ctx, wh.St, dir+"ask.enc", dek, 1<<20)
	dek.Wipe()
	if err != nil {
		return nil, fmt.Errorf("%w: ask.enc: %v", ErrGeneticExtract, err)
	}
	var body geneticAskBody
	if err := json.Unmarshal(raw, &body); err != nil {
		return nil, fmt.Errorf("%w: ask.enc does not parse", ErrGeneticExtract)
	}
	clear(raw)
	want := map[string]bool{}
	for _, p := range body.Pseudonyms {
		want[p] = true
	}
	d := newDeks(wh)
	defer d.wipe()
	rs := &rowSet{}
	for _, b := range body.Batches {
		t, err := scanTable(ctx, wh, d, b, keys.Genetic, warehouse.GeneticTableKey(b), func(r map[string]string) error {
			if want[r["pseudonym"]] {
				rs.rows = append(rs.rows, maps.Clone(r))
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		rs.addColumns(t.schema)
	}
	if len(rs.cols) == 0 {
		rs.cols = []string{"pseudonym"}
	}
	e := GeneticExtract{Request: ref, ExtractedBy: operator, Extracted: now.UTC().Truncate(time.Second), Rows: len(rs.rows)}
	ah := sha256.Sum256(askRaw)
	e.AskHash = hex.EncodeToString(ah[:])
	if e.Wrapped, err = sealRows(ctx, wh, dir+"extract.enc", func(dek keys.Secret) error {
		return warehouse.WriteEncryptedTable(ctx, wh.St, dir+"extract.enc", dek, rs.cols, rs.rows)
	}); err != nil {
		return nil, err
	}
	if e.DataHash, err = storedHash(ctx, wh.St, dir+"extract.enc"); err != nil {
		return nil, err
	}
	if e.Sig, err = sign(ctx, tr.Signer, e.message()); err != nil {
		return nil, err
	}
	b, _ := json.Marshal(e)
	if err := wh.St.PutIfAbsent(ctx, dir+"extract.json", bytes.NewReader(b)); err != nil {
		return nil, err
	}
	return &e, nil
}

func storedHash(ctx context.Context, st objstore.Store, key string) (string, error) {
	h, _, err := objectHash(ctx, st, key)
	return h, err
}

// geneticDelivered is delivered.json.
type geneticDelivered struct {
	Request     string    `json:"request"`
	DeliveredBy string    `json:"delivered_by"`
	Delivered   time.Time `json:"delivered"`
	Rows        int       `json:"rows"`
}

// geneticExtractRows returns the verified rows of the curator's extract
// for req (step 3), or ErrGeneticExtractPending after recording the ask.
func (s *Service) geneticExtractRows(ctx context.Context, req Request, p *person, batches []string) (*rowSet, func(context.Context) error, error) {
	dir := geneticDir(req.Ref)
	var dl geneticDelivered
	if err := objstore.ReadJSON(ctx, s.wh.St, dir+"delivered.json", 1<<16, &dl); err == nil {
		return nil, nil, fmt.Errorf("rights: the genetic extract of request %s was delivered on %s and then deleted; a new access needs a new request reference",
			req.Ref, dl.Delivered.Format(time.DateOnly))
	}
	var e GeneticExtract
	if _, err := readJSONBytes(ctx, s.wh.St, dir+"extract.json", &e); errors.Is(err, objstore.ErrNotExist) {
		return nil, nil, s.askGenetic(ctx, req, p, batches)
	} else if err != nil {
		return nil, nil, err
	}
	askRaw, err := objstore.ReadAll(ctx, s.wh.St, dir+"ask.json", 1<<20)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: the ask is missing", ErrGeneticExtract)
	}
	ah := sha256.Sum256(askRaw)
	if e.Request != req.Ref || e.AskHash != hex.EncodeToString(ah[:]) {
		return nil, nil, fmt.Errorf("%w: the extract is not bound to this request's ask", ErrGeneticExtract)
	}
	if err := verifySig(ctx, s.opt.Genetic.Dir, e.ExtractedBy, keys.ProfileCurator, e.message(), e.Sig); err != nil {
		return nil, nil, err
	}
	if e.ExtractedBy == s.opt.Operator && s.opt.Operator != "" && s.opt.Genetic.Signer != nil {
		return nil, nil, fmt.Errorf("%w: prepared by the DPO who asked (two people)", ErrGeneticExtract)
	}
	if h, err := storedHash(ctx, s.wh.St, dir+"extract.enc"); err != nil || h != e.DataHash {
		return nil, nil, fmt.Errorf("%w: extract.enc is not the one the curator signed", ErrGeneticExtract)
	}
	dek, err := unwrapHealth(ctx, s.wh, e.Wrapped)
	if err != nil {
		return nil, nil, err
	}
	defer dek.Wipe()
	rs := &rowSet{}
	cols, err := warehouse.ReadEncryptedTable(ctx, s.wh.St, dir+"extract.enc", dek, func(r map[string]string) error {
		if !p.pseudonyms[r["pseudonym"]] {
			return fmt.Errorf("%w: a row of another person", ErrGeneticExtract)
		}
		rs.rows = append(rs.rows, maps.Clone(r))
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	rs.cols = cols
	done := func(ctx context.Context) error {
		if err := s.wh.St.Delete(ctx, dir+"extract.enc"); err != nil {
			return err
		}
		return objstore.WriteJSON(ctx, s.wh.St, dir+"delivered.json", geneticDelivered{Request: req.Ref, DeliveredBy: s.opt.Operator,
			Delivered: s.opt.Now().UTC().Truncate(time.Second), Rows: len(rs.rows)})
	}
	return rs, done, nil
}
