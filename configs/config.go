package configs

import (
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"

	"gopkg.in/yaml.v3"
)

// Config is hdw's configuration file (--config). Secrets never live here:
// passphrases, tokens and secret ids are read from files or the environment.
type Config struct {
	Warehouse string    `yaml:"warehouse"`
	S3        S3        `yaml:"s3"`
	Keys      KeyConfig `yaml:"keys"`
	Ingest    Ingest    `yaml:"ingest"`
	DICOM     DICOM     `yaml:"dicom"`
	Masks     []Mask    `yaml:"masks"`
	// Dictionary is a path to a data dictionary; empty means the embedded default.
	Dictionary string    `yaml:"dictionary"`
	Export     Export    `yaml:"export"`
	Rights     Rights    `yaml:"rights"`
	Retention  Retention `yaml:"retention"`
	Audit      Audit     `yaml:"audit"`
}

// S3 configures S3 sources and warehouses.
type S3 struct {
	Endpoint              string `yaml:"endpoint"`
	Region                string `yaml:"region"`
	PathStyle             bool   `yaml:"path_style"`
	AllowInsecureEndpoint bool   `yaml:"allow_insecure_endpoint"`
}

// KeyConfig selects the key provider.
type KeyConfig struct {
	Provider string `yaml:"provider"` // "local" (default) or "vault"
	Vault    struct {
		Address       string `yaml:"address"`
		Namespace     string `yaml:"namespace"`
		CACert        string `yaml:"ca_cert"`
		ClientCert    string `yaml:"client_cert"`
		ClientKey     string `yaml:"client_key"`
		TokenFile     string `yaml:"token_file"`
		RoleID        string `yaml:"role_id"`
		SecretIDFile  string `yaml:"secret_id_file"`
		TransitMount  string `yaml:"transit_mount"`
		KVMount       string `yaml:"kv_mount"`
		WarehouseName string `yaml:"warehouse_name"`
	} `yaml:"vault"`
}

// AutoWorkers is the most workers the ingest adapts up to when
// ingest.workers is 0: 2 per CPU from a local folder, 4 per CPU from S3, whose workers also wait for
// each object's first byte (issue 9: 8 workers were 19% faster than 4 on 2
// CPUs from the local S3 server).
func AutoWorkers(s3 bool) int {
	if s3 {
		return max(8, 4*runtime.NumCPU())
	}
	return max(4, 2*runtime.NumCPU())
}

// Ingest tunes ingestion.
type Ingest struct {
	// Workers is the number of files processed at once; 0 (the default)
	// lets the ingest adapt it to what it measures (issue 24: between one
	// per CPU and AutoWorkers), a number fixes it.
	Workers      int   `yaml:"workers"`
	MaxFileBytes int64 `yaml:"max_file_bytes"`
	MaxPixels    int64 `yaml:"max_pixels"`
	Faces        *bool `yaml:"faces"`
	MaxRowBytes  int   `yaml:"max_manifest_row_bytes"`
	// BatchItems is the most items of one committed batch; a larger run
	// commits several (0: pipeline.DefaultBatchItems, 10,000). What a run
	// holds for its commit record is bounded by it, and an interrupted
	// run keeps the batches it committed.
	BatchItems int `yaml:"batch_items"`
}

// DICOM holds the Annex E options (PS3.15).
type DICOM struct {
	RetainLongitudinalModifiedDates *bool    `yaml:"retain_longitudinal_modified_dates"`
	RetainLongitudinalFullDates     bool     `yaml:"retain_longitudinal_full_dates"`
	CleanDescriptors                bool     `yaml:"clean_descriptors"`
	RetainPatientCharacteristics    bool     `yaml:"retain_patient_characteristics"`
	RetainDeviceIdentity            bool     `yaml:"retain_device_identity"`
	RetainSafePrivate               bool     `yaml:"retain_safe_private"`
	SafePrivate                     []string `yaml:"safe_private"`
	// ExamineAll runs OCR on every native image, not only on modalities
	// known to carry burned-in text (needs the ocr build; slower).
	ExamineAll bool `yaml:"examine_all"`
	// Profile names the Annex E options profile (masking/dcm): research
	// (the default), basic or strict; the fields above add options to it.
	Profile string `yaml:"profile"`
	// StrictNoText quarantines secondary capture and "other" images in
	// which OCR finds no text (the strict profile); by default they are
	// stored, the record saying "burned-in check: OCR, no text". It also
	// quarantines every DICOM photograph (XC, VL Photographic) without
	// mask_boxes instead of masking its faces.
	StrictNoText bool `yaml:"strict_no_text"`
}

// Mask is a burned-in text region mask for a device.
type Mask struct {
	Manufacturer string  `yaml:"manufacturer"`
	Model        string  `yaml:"model"`
	Rows         int     `yaml:"rows"`
	Cols         int     `yaml:"cols"`
	Boxes        [][]int `yaml:"boxes"` // [x0, y0, x1, y1]
}

// Export configures the export gate.
type Export struct {
	K              int     `yaml:"k"`
	L              int     `yaml:"l"`
	MaxSuppression float64 `yaml:"max_suppression"`
	WebhookURL     string  `yaml:"webhook_url"`
}

// Rights configures the DPO's guards.
type Rights struct {
	MaxReidentificationsPerDay int `yaml:"max_reidentifications_per_day"`
}

// Retention configures retention (CNIL 7.2, SEC-DAY-4).
type Retention struct {
	HealthYears int `yaml:"health_years"`
	AuditMonths int `yaml:"audit_months"`
}

// Audit configures the audit sink.
type Audit struct {
	ObjectLockMode string `yaml:"object_lock_mode"` // "", GOVERNANCE or COMPLIANCE
	WorkHours      string `yaml:"work_hours"`       // e.g. "07-20"
	// LockoutThreshold is the number of consecutive failed unlocks of a
	// profile or operator after which it is locked out (SRS-089; default 5;
	// the sealed policy may replace it).
	LockoutThreshold int `yaml:"lockout_threshold"`
}

// Defaults returns the default configuration.
func Defaults() Config {
	t := true
	c := Config{Warehouse: "./hdw-data"}
	c.Keys.Provider = "local"
	c.Ingest = Ingest{Workers: 0, MaxFileBytes: 512 << 20, MaxPixels: 100_000_000, Faces: &t, MaxRowBytes: 64 << 10}
	c.DICOM.RetainLongitudinalModifiedDates = &t
	c.Export = Export{K: 5, L: 2, MaxSuppression: 0.05}
	c.Rights.MaxReidentificationsPerDay = 20
	c.Retention = Retention{HealthYears: 20, AuditMonths: 12}
	c.Audit.WorkHours = "07-20"
	return c
}

// Parse reads a YAML config (at most 1 MiB) over the defaults. Unknown keys
// are errors.
func Parse(r io.Reader) (Config, error) {
	c := Defaults()
	dec := yaml.NewDecoder(io.LimitReader(r, 1<<20))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
		return c, fmt.Errorf("config: %w", err)
	}
	return c, c.Validate()
}

// FieldError is a configuration error on one field.
type FieldError struct {
	Field  string
	Reason string
}

func (e *FieldError) Error() string { return "config: " + e.Field + ": " + e.Reason }

// Validate checks the configuration.
func (c Config) Validate() error {
	var errs []error
	if c.Keys.Provider != "local" && c.Keys.Provider != "vault" {
		errs = append(errs, &FieldError{"keys.provider", "must be local or vault"})
	}
	switch c.DICOM.Profile {
	case "", "research", "basic", "strict":
	default:
		errs = append(errs, &FieldError{"dicom.profile", "must be research, basic or strict"})
	}
	if c.Ingest.Workers < 0 || c.Ingest.Workers > 256 {
		errs = append(errs, &FieldError{"ingest.workers", "must be between 0 (automatic) and 256"})
	}
	if c.Ingest.BatchItems < 0 || c.Ingest.BatchItems > 1_000_000 {
		errs = append(errs, &FieldError{"ingest.batch_items", "must be between 0 (default 10,000) and 1,000,000"})
	}
	if c.Ingest.MaxFileBytes <= 0 {
		errs = append(errs, &FieldError{"ingest.max_file_bytes", "must be positive"})
	}
	if c.Export.K < 2 {
		errs = append(errs, &FieldError{"export.k", "must be at least 2"})
	}
	if c.Export.MaxSuppression < 0 || c.Export.MaxSuppression > 0.5 {
		errs = append(errs, &FieldError{"export.max_suppression", "must be between 0 and 0.5"})
	}
	if c.Retention.HealthYears < 1 || c.Retention.HealthYears > 20 {
		errs = append(errs, &FieldError{"retention.health_years", "must be between 1 and 20 (CNIL 7.2)"})
	}
	if c.Retention.AuditMonths < 6 || c.Retention.AuditMonths > 12 {
		errs = append(errs, &FieldError{"retention.audit_months", "must be between 6 and 12 (SEC-DAY-4)"})
	}
	for i, m := range c.Masks {
		for j, b := range m.Boxes {
			if len(b) != 4 || b[0] >= b[2] || b[1] >= b[3] || b[0] < 0 || b[1] < 0 {
				errs = append(errs, &FieldError{fmt.Sprintf("masks[%d].boxes[%d]", i, j), "must be [x0, y0, x1, y1] with x0 < x1, y0 < y1"})
			}
		}
	}
	if m := strings.ToUpper(c.Audit.ObjectLockMode); m != "" && m != "GOVERNANCE" && m != "COMPLIANCE" {
		errs = append(errs, &FieldError{"audit.object_lock_mode", "must be GOVERNANCE or COMPLIANCE"})
	}
	return errors.Join(errs...)
}
