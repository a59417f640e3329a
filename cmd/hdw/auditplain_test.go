package main

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"

	"hdw/audit"
	"hdw/keys"
)

// auditPlain opens the trail's sealed payloads as admin (SRS-091: only
// admin and dpo unwrap keys.AuditStore) and returns the events as JSON
// lines, for the tests that look for an event or for a leak.
func auditPlain(t *testing.T, c *cli) []byte {
	t.Helper()
	wh, p := c.openAs(keys.ProfileAdmin)
	defer p.Close()
	k, err := p.PseudonymKey(context.Background(), keys.Audit)
	if err != nil {
		t.Fatal(err)
	}
	_, segs, err := audit.VerifyOpen(context.Background(), wh.St, audit.HMAC(k), p)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	for _, s := range segs {
		for _, e := range s.Events {
			enc.Encode(e)
		}
	}
	return buf.Bytes()
}
