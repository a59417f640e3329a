package pipeline_test

import (
	"errors"
	"strings"
	"testing"

	"hdw/configs"
	"hdw/pipeline"
	"hdw/pseudo"
	"hdw/synth"
)

func readWith(t *testing.T, data string, o pipeline.CSVOptions) ([]*pipeline.Row, []error, error) {
	t.Helper()
	var rows []*pipeline.Row
	var errs []error
	err := pipeline.ReadCSVWith(strings.NewReader(data), "manifest.csv", configs.DefaultDictionary(), o, func(r *pipeline.Row, e error) error {
		if e != nil {
			errs = append(errs, e)
		} else {
			rows = append(rows, r)
		}
		return nil
	})
	return rows, errs, err
}

const variantHeader = "file,last_name,first_name,birth_date,sex"

// TestManifestEncodings: UTF-8 with and without BOM read the same; a
// Latin-1 or Windows-1252 manifest is converted when declared, and its
// person gets the same pseudonym basis as in UTF-8 (NFD too); undeclared,
// the rows with accents are rejected with a message naming --encoding,
// never stored as invalid UTF-8.
func TestManifestEncodings(t *testing.T) {
	utf := variantHeader + "\n,Hélène,Zoé,1960-01-02,F\n"
	latin1 := variantHeader + "\n,H\xe9l\xe8ne,Zo\xe9,1960-01-02,F\n"
	nfd := variantHeader + "\n,He\u0301le\u0300ne,Zoe\u0301,1960-01-02,F\n"
	var bases []string
	for _, c := range []struct {
		name, data, enc string
	}{
		{"utf-8", utf, ""},
		{"utf-8 BOM", "\ufeff" + utf, ""},
		{"latin-1 declared", latin1, "latin-1"},
		{"windows-1252 declared", latin1, "windows-1252"},
		{"utf-8 NFD", nfd, ""},
	} {
		rows, errs, err := readWith(t, c.data, pipeline.CSVOptions{Encoding: c.enc})
		if err != nil || len(errs) != 0 || len(rows) != 1 {
			t.Fatalf("%s: %v %v %d", c.name, err, errs, len(rows))
		}
		bases = append(bases, rows[0].Basis)
	}
	for _, b := range bases[1:] {
		if b != bases[0] {
			t.Fatalf("one person, several pseudonym bases: %q", bases)
		}
	}
	// Windows-1252 specifics: Œ (0x8C) and ’ (0x92).
	rows, _, err := readWith(t, variantHeader+"\n,C\x8cUR,L\x92\xe9a,1960-01-02,F\n", pipeline.CSVOptions{Encoding: "cp1252"})
	if err != nil || len(rows) != 1 || rows[0].Values.Get("last_name") != "CŒUR" {
		t.Fatalf("windows-1252: %v %+v", err, rows)
	}
	// Undeclared Latin-1: rejected per row, with what to do, without the value.
	rows, errs, err := readWith(t, latin1+",Martin,Paul,1970-01-01,M\n", pipeline.CSVOptions{})
	if err != nil || len(rows) != 1 || len(errs) != 1 {
		t.Fatalf("undeclared latin-1: %v rows=%d errs=%v", err, len(rows), errs)
	}
	if msg := errs[0].Error(); !strings.Contains(msg, "--encoding") || strings.Contains(msg, "H\xe9l") {
		t.Fatalf("message: %q", msg)
	}
	if _, _, err := readWith(t, utf, pipeline.CSVOptions{Encoding: "ebcdic"}); err == nil {
		t.Fatal("unknown encoding accepted")
	}
}

// TestManifestControlCharacters: NUL, escape and C1 controls reject their row alone.
func TestManifestControlCharacters(t *testing.T) {
	data := variantHeader + "\n,Du\x00pont,Jean,1960-01-02,M\n,Mar\x1b[31mtin,Paul,1970-01-01,M\n,Durand,Luc\u0085,1971-01-01,M\n,Petit,Anne,1972-01-01,F\n"
	rows, errs, err := readWith(t, data, pipeline.CSVOptions{})
	if err != nil || len(rows) != 1 || len(errs) != 3 {
		t.Fatalf("%v rows=%d errs=%v", err, len(rows), errs)
	}
	for _, e := range errs {
		var re *pipeline.RowError
		if !errors.As(e, &re) || !strings.Contains(e.Error(), "control character") {
			t.Fatalf("%v", e)
		}
		for _, v := range []string{"Du", "Mar", "Luc"} {
			if strings.Contains(e.Error(), v) {
				t.Fatalf("value leaked: %v", e)
			}
		}
	}
}

// TestManifestMissingHeader: a manifest whose first row is data is refused
// without quoting that row (the persons' names).
func TestManifestMissingHeader(t *testing.T) {
	nir := synth.NIR("1850578006084")
	_, _, err := readWith(t, "a.dcm,"+nir+",DUPONT,Jean,1960-01-02,M\n", pipeline.CSVOptions{})
	var me *pipeline.ManifestError
	if !errors.As(err, &me) || !strings.Contains(err.Error(), "not a header") {
		t.Fatalf("%v", err)
	}
	for _, v := range []string{"DUPONT", "Jean", nir, "a.dcm", "1960"} {
		if strings.Contains(err.Error(), v) {
			t.Fatalf("the data row is quoted: %v", err)
		}
	}
	// A header with one unknown cell that is not column-like: by position.
	_, _, err = readWith(t, "file,last_name,Jean Dupont\n", pipeline.CSVOptions{})
	if err == nil || strings.Contains(err.Error(), "Jean") || !strings.Contains(err.Error(), "column 3") {
		t.Fatalf("%v", err)
	}
}

// TestManifestDelimiters: comma, semicolon (the French spreadsheet
// default) and tab are detected, or set.
func TestManifestDelimiters(t *testing.T) {
	for _, d := range []string{",", ";", "\t"} {
		data := strings.ReplaceAll(variantHeader+"\n,Dupont,Jean,1960-01-02,M\n,\"Martin; Paul\",Paul,1970-01-01,M\n", ",", d)
		rows, errs, err := readWith(t, data, pipeline.CSVOptions{})
		if err != nil || len(errs) != 0 || len(rows) != 2 {
			t.Fatalf("delimiter %q detected: %v %v %d", d, err, errs, len(rows))
		}
		dr, _ := pipeline.ParseDelimiter(map[string]string{",": "comma", ";": ";", "\t": "tab"}[d])
		rows, _, err = readWith(t, data, pipeline.CSVOptions{Delimiter: dr})
		if err != nil || len(rows) != 2 {
			t.Fatalf("delimiter %q set: %v", d, err)
		}
	}
	// Semicolons read as commas: the header is refused saying to check the delimiter.
	_, _, err := readWith(t, strings.ReplaceAll(variantHeader, ",", ";")+"\n", pipeline.CSVOptions{Delimiter: ','})
	if err == nil || !strings.Contains(err.Error(), "--delimiter") {
		t.Fatalf("%v", err)
	}
}

// TestManifestLongRowRejectedAlone: a row over the line limit is rejected
// alone; the rows after it are read.
func TestManifestLongRowRejectedAlone(t *testing.T) {
	long := strings.Repeat("x", 70<<10)
	data := variantHeader + ",notes\n,Dupont,Jean,1960-01-02,M,a\n,Martin,Paul,1970-01-01,M," + long + "\n,Petit,Anne,1972-01-01,F,\"" + long + "\"\n,Durand,Luc,1971-01-01,M,b\n"
	rows, errs, err := readWith(t, data, pipeline.CSVOptions{})
	if err != nil || len(rows) != 2 || len(errs) != 2 {
		t.Fatalf("%v rows=%d errs=%v", err, len(rows), errs)
	}
	for _, e := range errs {
		if !strings.Contains(e.Error(), "line limit") {
			t.Fatalf("%v", e)
		}
	}
	if rows[1].Values.Get("last_name") != "Durand" {
		t.Fatal("the row after the long ones was lost")
	}
}

var _ = pseudo.Normalize
