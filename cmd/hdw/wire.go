package main

import (
	"context"
	"errors"
	"fmt"

	"hdw/configs"
	"hdw/keys"
	"hdw/keys/local"
	"hdw/masking"
	"hdw/masking/dcm"
	"hdw/objstore"
	"hdw/pipeline"
	"hdw/warehouse"
)

// openProvider authenticates the profile with the warehouse's key provider.
func (g *globals) openProvider(ctx context.Context, s objstore.Store, d warehouse.Descriptor) (keys.Provider, error) {
	if g.profile == "" {
		return nil, usageErr("no profile: pass --profile or set HDW_PROFILE")
	}
	switch d.KeyProvider {
	case "vault":
		return g.openVault(ctx, d)
	case "local", "":
		pass, err := g.passphrase(g.profile)
		if err != nil {
			return nil, err
		}
		defer clear(pass)
		k, err := local.Open(ctx, s, g.profile, pass)
		if err != nil {
			if errors.Is(err, keys.ErrBadCredentials) {
				return nil, fmt.Errorf("profile %s: %w (check its passphrase file)", g.profile, err)
			}
			return nil, err
		}
		return k, nil
	}
	return nil, fmt.Errorf("unknown key provider %q in warehouse.json", d.KeyProvider)
}

// maskOptions builds the masking options from the configuration.
func maskOptions(c configs.Config) masking.Options {
	o := masking.Options{MaxBytes: c.Ingest.MaxFileBytes, MaxPixels: c.Ingest.MaxPixels, Faces: c.Ingest.Faces == nil || *c.Ingest.Faces}
	// The named profile (validated by configs), then the options the
	// config adds to it; modified dates unless explicitly turned off.
	o.DICOM, _ = dcm.Profile(c.DICOM.Profile)
	o.DICOM.RetainLongitudinalModifiedDates = c.DICOM.RetainLongitudinalModifiedDates == nil || *c.DICOM.RetainLongitudinalModifiedDates
	o.DICOM.RetainLongitudinalFullDates = o.DICOM.RetainLongitudinalFullDates || c.DICOM.RetainLongitudinalFullDates
	o.DICOM.CleanDescriptors = o.DICOM.CleanDescriptors || c.DICOM.CleanDescriptors
	o.DICOM.RetainPatientCharacteristics = o.DICOM.RetainPatientCharacteristics || c.DICOM.RetainPatientCharacteristics
	o.DICOM.RetainDeviceIdentity = o.DICOM.RetainDeviceIdentity || c.DICOM.RetainDeviceIdentity
	o.DICOM.RetainSafePrivate = o.DICOM.RetainSafePrivate || c.DICOM.RetainSafePrivate
	o.DICOM.SafePrivate = append(o.DICOM.SafePrivate, c.DICOM.SafePrivate...) // the profile's list, then the config's
	for _, m := range c.Masks {
		rm := masking.RegionMask{Manufacturer: m.Manufacturer, Model: m.Model, Rows: m.Rows, Cols: m.Cols}
		for _, b := range m.Boxes {
			rm.Boxes = append(rm.Boxes, masking.Box{X0: b[0], Y0: b[1], X1: b[2], Y1: b[3]})
		}
		o.Masks = append(o.Masks, rm)
	}
	o.OCR = ocrFinder()
	return o
}

// newDeidentifier composes the format handlers (no global registry).
func newDeidentifier(c configs.Config) pipeline.Deidentifier {
	return masking.New(handlers(c)...)
}

var _ = dcm.New
