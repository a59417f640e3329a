package main

import (
	"context"
	"errors"

	"hdw/keys"
	"hdw/objstore"
	"hdw/warehouse"
)

func (g *globals) openS3(ctx context.Context, loc string) (objstore.Store, error) {
	return nil, errors.New("s3 not wired yet")
}

func (g *globals) openVault(ctx context.Context, d warehouse.Descriptor) (keys.Provider, error) {
	return nil, errors.New("vault not wired yet")
}

func (g *globals) initVault(ctx context.Context, s objstore.Store, d *warehouse.Descriptor) error {
	return errors.New("vault not wired yet")
}
