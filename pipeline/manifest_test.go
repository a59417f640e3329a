package pipeline_test

import (
	"errors"
	"strings"
	"testing"

	"hdw/configs"
	"hdw/pipeline"
	"hdw/synth"
)

func readAll(t *testing.T, csv string) ([]*pipeline.Row, []error, error) {
	t.Helper()
	return readWith(t, csv, pipeline.CSVOptions{})
}

func TestManifestRows(t *testing.T) {
	good := synth.NIR("1850578006084")
	badKey := good[:13] + "00"
	if badKey == good {
		badKey = good[:13] + "01"
	}
	csv := "FILE,NIR,Last_Name,first_name,birth_date,sex,notes\n" +
		"a.dcm," + good + ",,,,,ok\n" +
		"b.dcm," + badKey + ",,,,,bad key\n" +
		"c.dcm,,Dupont,Jean,1960-13-40,M,bad date\n" +
		"d.dcm,,Dupont,Jean,1960-03-14,Z,bad sex\n" +
		"a.dcm,,Martin,Léa,1970-01-02,F,dup file\n" +
		",,Martin,Léa,1970-01-02,feminin,record without image\n" +
		"e.dcm,,,,,,no person\n"
	rows, errs, err := readAll(t, csv)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || len(errs) != 5 {
		t.Fatalf("rows %d errs %d: %v", len(rows), len(errs), errs)
	}
	wantCols := []string{"nir", "birth_date", "sex", "file", ""}
	for i, e := range errs {
		var re *pipeline.RowError
		if !errors.As(e, &re) || re.Column != wantCols[i] {
			t.Errorf("error %d: %v (want column %q)", i, e, wantCols[i])
		}
		for _, v := range []string{badKey, "Dupont", "1960-13-40", "Martin"} {
			if strings.Contains(e.Error(), v) {
				t.Errorf("error %d leaks a value: %v", i, e)
			}
		}
	}
	if rows[0].Basis != "NIR:"+good || rows[1].Values.Get("sex") != "F" {
		t.Fatalf("rows %+v", rows)
	}
}

func TestManifestUnknownColumn(t *testing.T) {
	_, _, err := readAll(t, "file,nir,shoe_size\n")
	var me *pipeline.ManifestError
	if !errors.As(err, &me) || me.Column != "shoe_size" {
		t.Fatalf("got %v", err)
	}
	_, _, err = readAll(t, "nir\n")
	if !errors.As(err, &me) || me.Column != "file" {
		t.Fatalf("missing file column: %v", err)
	}
}

func TestParseBoxes(t *testing.T) {
	b, err := pipeline.ParseBoxes("0:0:10:10; 5:5:6:9")
	if err != nil || len(b) != 2 || b[1].Y1 != 9 {
		t.Fatal(b, err)
	}
	for _, s := range []string{"1:2:3", "5:5:1:1", "a:b:c:d"} {
		if _, err := pipeline.ParseBoxes(s); err == nil {
			t.Errorf("%q must fail", s)
		}
	}
}

func FuzzManifestCSV(f *testing.F) {
	f.Add("file,nir,last_name\na.dcm,,x\n")
	f.Add("file,notes\n\"a\nb\",\"x\"\"y\"\n")
	f.Add("\ufefffile,sex\n,M\n")
	dict := configs.DefaultDictionary()
	f.Fuzz(func(t *testing.T, s string) {
		pipeline.ReadCSV(strings.NewReader(s), "m.csv", dict, 4096, func(r *pipeline.Row, e error) error {
			if e == nil && r == nil {
				t.Fatal("nil row without error")
			}
			var re *pipeline.RowError
			if e != nil && !errors.As(e, &re) {
				t.Fatalf("untyped row error %v", e)
			}
			return nil
		})
	})
}

func TestFieldsPacked(t *testing.T) {
	f := pipeline.NewFields([]string{"file", "nir", "notes", "sex"}, []string{"a/b.dcm", "", "é ü", "F"})
	if f.Get("file") != "a/b.dcm" || f.Get("nir") != "" || f.Get("notes") != "é ü" || f.Get("sex") != "F" || f.Get("nope") != "" {
		t.Fatalf("Get: %q %q %q %q", f.Get("file"), f.Get("nir"), f.Get("notes"), f.Get("sex"))
	}
	var got []string
	for k, v := range f.All() {
		got = append(got, k+"="+v)
	}
	if strings.Join(got, ",") != "file=a/b.dcm,notes=é ü,sex=F" {
		t.Fatalf("All: %v", got)
	}
	var zero pipeline.Fields
	if zero.Get("file") != "" {
		t.Fatal("zero Fields")
	}
}
