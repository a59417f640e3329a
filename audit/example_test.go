package audit_test

import (
	"context"
	"fmt"
	"os"

	"hdw/audit"
	"hdw/keys"
	"hdw/objstore"
)

func Example() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "audit-example")
	defer os.RemoveAll(dir)
	st, _ := objstore.NewLocal(dir)
	key := keys.RandomSecret() // in hdw: the keys.Audit key of the provider
	mac := audit.HMAC(key)
	key.Wipe()

	// Open writes the session.open event first: if it fails, do nothing (SRS-065).
	l, err := audit.Open(ctx, st, mac, audit.Options{Profile: keys.ProfileIngest, Operator: "LH-SVC-0001"})
	if err != nil {
		fmt.Println("audit sink not writable:", err)
		return
	}
	// Each Append is durable before it returns: log, then act.
	if err := l.Append(ctx, audit.Event{Command: "ingest", Action: "batch.commit", Outcome: audit.OutcomeOK,
		Target: map[string]string{"batch": "b-0001"}, Counts: map[string]int64{"records": 42}}); err != nil {
		fmt.Println(err)
		return
	}
	if err := l.Close(ctx); err != nil {
		fmt.Println(err)
		return
	}
	rep, _, err := audit.Verify(ctx, st, mac)
	fmt.Println(rep.OK, rep.Sessions, rep.Events, err)
	// Output: true 1 3 <nil>
}
