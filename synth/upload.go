package synth

import (
	"encoding/csv"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
	"strings"

	"hdw/pseudo"
)

// Person is a synthetic patient. Every field is made up.
type Person struct {
	NIR, PPI, IEP                       string
	LastName, BirthName, FirstName, Sex string
	BirthDate, BirthPlace               string
	Address, PostalCode, City           string
	Phone, Email                        string
}

// Identifiers returns the person's identifying strings (for leak scans).
func (p Person) Identifiers() []string {
	return []string{p.NIR, p.PPI, p.IEP, p.LastName, p.BirthName, p.FirstName, p.BirthDate,
		p.BirthPlace, p.Address, p.Phone, p.Email}
}

var (
	lastNames  = []string{"Dubois", "Lefèvre", "Moreau", "Girard", "Rousseau", "Fontaine", "Chevalier", "Gauthier", "Mercier", "Bonnet", "Lambert", "Faure", "Guérin", "Boyer", "Garnier", "Rolland"}
	firstNames = []string{"Amélie", "Théo", "Chloé", "Mathéo", "Inès", "Noé", "Léonie", "Gaspard", "Maëlys", "Anatole", "Zélie", "Baptiste"}
	cities     = []struct{ pc, city string }{{"75011", "Paris"}, {"69003", "Lyon"}, {"13008", "Marseille"}, {"33000", "Bordeaux"}, {"20000", "Ajaccio"}, {"59000", "Lille"}, {"35000", "Rennes"}, {"97400", "Saint-Denis"}}
	streets    = []string{"rue des Lilas", "avenue Victor Hugo", "boulevard Voltaire", "impasse du Moulin", "chemin des Vignes"}
)

// NewPerson returns the i-th synthetic person of a seed.
func NewPerson(r *rand.Rand, i int) Person {
	sex := "M"
	if r.IntN(2) == 1 {
		sex = "F"
	}
	year := 1930 + r.IntN(80)
	month := 1 + r.IntN(12)
	day := 1 + r.IntN(28)
	c := cities[r.IntN(len(cities))]
	dept := c.pc[:2]
	if c.pc == "20000" {
		dept = "2A"
	}
	sexDigit := "1"
	if sex == "F" {
		sexDigit = "2"
	}
	first13 := fmt.Sprintf("%s%02d%02d%s%03d%03d", sexDigit, year%100, month, dept, 1+r.IntN(998), 1+r.IntN(998))
	if strings.HasPrefix(c.pc, "97") {
		first13 = fmt.Sprintf("%s%02d%02d%s%02d%03d", sexDigit, year%100, month, c.pc[:3], 1+r.IntN(98), 1+r.IntN(998))
	}
	last := lastNames[r.IntN(len(lastNames))]
	first := firstNames[r.IntN(len(firstNames))]
	p := Person{
		NIR:        NIR(first13),
		PPI:        fmt.Sprintf("PPI%07d", 1000000+i*7919%8999999),
		IEP:        fmt.Sprintf("IEP%08d", 20000000+i*104729%79999999),
		LastName:   last,
		BirthName:  last,
		FirstName:  first,
		Sex:        sex,
		BirthDate:  fmt.Sprintf("%04d-%02d-%02d", year, month, day),
		BirthPlace: cities[r.IntN(len(cities))].city,
		Address:    fmt.Sprintf("%d %s", 1+r.IntN(120), streets[r.IntN(len(streets))]),
		PostalCode: c.pc,
		City:       c.city,
		Phone:      fmt.Sprintf("06 %02d %02d %02d %02d", r.IntN(100), r.IntN(100), r.IntN(100), r.IntN(100)),
		Email:      strings.ToLower(pseudo.Normalize(first)) + "." + strings.ToLower(pseudo.Normalize(last)) + strconv.Itoa(i) + "@example.org",
	}
	p.Email = strings.ReplaceAll(p.Email, " ", "-")
	return p
}

// UploadSpec describes a synthetic client upload.
type UploadSpec struct {
	Seed             uint64
	Patients         int
	DICOMPerPatient  int
	PhotosPerPatient int
	// BadRows adds deliberately bad rows: a wrong NIR key, a bad date, an
	// unknown sex code, a duplicate file, a missing file, and an image
	// without a row.
	BadRows bool
}

// File is one file of an upload.
type File struct {
	Name  string
	Write func(w io.Writer) error
}

// Upload is a generated upload: its files (manifest.csv first) and persons.
type Upload struct {
	Files   []File
	Persons []Person
	// Expect counts what a correct ingest reports.
	Expect struct{ Seen, Ingested, Quarantined, Rejected int }
}

// NewUpload generates the files of a synthetic upload. Folder and file names
// carry patient names on purpose (they must never reach the warehouse).
func NewUpload(spec UploadSpec) *Upload {
	r := rand.New(rand.NewPCG(spec.Seed, spec.Seed^0x9e3779b97f4a7c15))
	u := &Upload{}
	var rows [][]string
	header := []string{"file", "nir", "ppi", "iep", "last_name", "birth_name", "first_name", "sex", "birth_date",
		"birth_place", "address", "postal_code", "city", "phone", "email", "body_site", "diagnosis", "visit_date",
		"modality", "weight_kg", "height_cm", "notes", "physician_name", "physician_rpps", "gene", "variant", "zygosity", "interpretation"}
	diagnoses := []string{"C50.9", "J45.0", "E11.9", "I10", "M17.1", "L40.0"}
	sites := []string{"chest", "knee", "head", "abdomen", "skin forearm", "ankle"}
	for i := 0; i < spec.Patients; i++ {
		p := NewPerson(r, i)
		u.Persons = append(u.Persons, p)
		folder := strings.ToUpper(pseudo.Normalize(p.LastName)) + "_" + pseudo.Normalize(p.FirstName)
		folder = strings.ReplaceAll(folder, " ", "_") + fmt.Sprintf("_%04d", i) // unique even for homonyms
		studyUID := fmt.Sprintf("1.2.826.0.1.3680043.10.543.%d.%d", spec.Seed%1000, i+1)
		visit := fmt.Sprintf("20%02d-%02d-%02d", 15+r.IntN(10), 1+r.IntN(12), 1+r.IntN(28))
		note := fmt.Sprintf("Patient %s %s né(e) le %s, NIR %s, tél %s, vu pour contrôle. Adresse: %s, %s %s.",
			p.FirstName, p.LastName, frDate(p.BirthDate), spacedNIR(p.NIR), p.Phone, p.Address, p.PostalCode, p.City)
		rpps := fmt.Sprintf("10%09d", r.IntN(1_000_000_000))
		physician := "Dr " + lastNames[r.IntN(len(lastNames))]
		base := func(file, modality string) []string {
			row := []string{file, p.NIR, p.PPI, p.IEP, p.LastName, p.BirthName, p.FirstName, p.Sex, p.BirthDate,
				p.BirthPlace, p.Address, p.PostalCode, p.City, p.Phone, p.Email, sites[r.IntN(len(sites))],
				diagnoses[r.IntN(len(diagnoses))], visit, modality, fmt.Sprintf("%.1f", 45+r.Float64()*50),
				fmt.Sprintf("%d", 150+r.IntN(45)), note, physician, rpps, "", "", "", ""}
			return row
		}
		for j := 0; j < spec.DICOMPerPatient; j++ {
			name := fmt.Sprintf("%s/%s_%s_CT_%03d.dcm", folder, p.LastName, p.BirthDate, j+1)
			spec := DICOMSpec{
				PatientName: strings.ToUpper(p.LastName) + "^" + p.FirstName, PatientID: p.PPI, BirthDate: strings.ReplaceAll(p.BirthDate, "-", ""),
				Sex: p.Sex, InstitutionName: "Hôpital " + p.City, ReferringPhysician: physician,
				StudyUID: studyUID, SeriesUID: studyUID + ".1", SOPUID: fmt.Sprintf("%s.1.%d", studyUID, j+1),
				Modality: "CT", Manufacturer: "SynthMed", Model: "CT-1", Rows: 64, Cols: 64, Frames: 1,
			}
			u.Files = append(u.Files, File{Name: name, Write: func(w io.Writer) error { return DICOM(w, spec) }})
			rows = append(rows, base(name, "CT"))
		}
		for j := 0; j < spec.PhotosPerPatient; j++ {
			name := fmt.Sprintf("%s/IMG_%s_%d.jpg", folder, strings.ReplaceAll(p.FirstName, " ", ""), j+1)
			ps := demoPhotoSpec(p, 320, 240)
			u.Files = append(u.Files, File{Name: name, Write: func(w io.Writer) error { return demoJPEG(w, ps) }})
			row := base(name, "PHOTO")
			if j == 0 && i%3 == 0 {
				row[24], row[25], row[26], row[27] = "BRCA2", "c.5946delT", "heterozygous", "pathogenic"
			}
			rows = append(rows, row)
		}
	}
	good := len(rows)
	u.Expect.Ingested = good
	if spec.BadRows && len(u.Persons) > 0 {
		p := u.Persons[0]
		mk := func(file string) []string {
			row := make([]string, len(header))
			row[0] = file
			row[4], row[6], row[7], row[8] = p.LastName, p.FirstName, p.Sex, p.BirthDate
			return row
		}
		withImage := func(name string) {
			spec := DICOMSpec{PatientName: "X^Y", PatientID: "Z", Modality: "CT", Rows: 16, Cols: 16, Frames: 1,
				StudyUID: "1.2.3.4", SeriesUID: "1.2.3.4.1", SOPUID: "1.2.3.4.1." + strconv.Itoa(len(u.Files))}
			u.Files = append(u.Files, File{Name: name, Write: func(w io.Writer) error { return DICOM(w, spec) }})
		}
		badKey := mk("bad/badkey.dcm")
		badKey[1] = p.NIR[:13] + fmt.Sprintf("%02d", (atoi(p.NIR[13:])+1)%98)
		rows = append(rows, badKey)
		withImage("bad/badkey.dcm")
		badDate := mk("bad/baddate.dcm")
		badDate[8] = "1975-02-31"
		rows = append(rows, badDate)
		withImage("bad/baddate.dcm")
		badSex := mk("bad/badsex.dcm")
		badSex[7] = "Q"
		rows = append(rows, badSex)
		withImage("bad/badsex.dcm")
		dup := mk(rows[0][0])
		rows = append(rows, dup)
		rows = append(rows, mk("bad/missing.dcm"))
		withImage("stray/unlisted_" + p.LastName + ".dcm") // image without a row
		u.Expect.Rejected = 5
		u.Expect.Quarantined = 1
	}
	u.Expect.Seen = u.Expect.Ingested + u.Expect.Rejected + u.Expect.Quarantined
	manifest := func(w io.Writer) error {
		cw := csv.NewWriter(w)
		cw.Write(header)
		cw.WriteAll(rows)
		cw.Flush()
		return cw.Error()
	}
	u.Files = append([]File{{Name: "manifest.csv", Write: manifest}}, u.Files...)
	return u
}

func atoi(s string) int { n, _ := strconv.Atoi(s); return n }

func frDate(iso string) string {
	if len(iso) != 10 {
		return iso
	}
	return iso[8:10] + "/" + iso[5:7] + "/" + iso[0:4]
}

// NIR completes the first 13 characters of a made-up NIR (sex, year,
// month, place, order; 2A/2B for Corsica) with their check key. It
// panics when first13 is not such a body: it is for test data only.
func NIR(first13 string) string {
	k, err := pseudo.NIRKey(first13)
	if err != nil {
		panic("synth.NIR: " + err.Error())
	}
	return fmt.Sprintf("%s%02d", first13, k)
}

func spacedNIR(n string) string {
	if len(n) != 15 {
		return n
	}
	return n[0:1] + " " + n[1:3] + " " + n[3:5] + " " + n[5:7] + " " + n[7:10] + " " + n[10:13] + " " + n[13:15]
}
