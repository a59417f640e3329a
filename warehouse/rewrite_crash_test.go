package warehouse_test

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"hdw/keys"
	"hdw/objstore"
	"hdw/objstore/storetest"
	"hdw/tables"
)

// The kill -9 test of a table rewrite (issue 17): a child process rewrites
// a table in place over and over (erasure, rectification and key rotation
// all go through tables.Rewrite), the parent kills it with SIGKILL at
// random moments, and the table must then read whole, every row from the
// same generation: the old table or the new one, never a mix.

const crashRows = 20000

var crashKey = keys.NewSecret([]byte("0123456789abcdef0123456789abcdef"))

func TestMain(m *testing.M) {
	if dir := os.Getenv("HDW_REWRITE_CHILD"); dir != "" {
		rewriteForever(dir)
		return
	}
	os.Exit(m.Run())
}

func rewriteForever(dir string) {
	ctx := context.Background()
	st, err := objstore.NewLocal(dir)
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	fmt.Println("ready")
	for {
		if _, err := tables.Rewrite(ctx, st, "health/t.parquet", crashKey, keys.Secret{}, tables.Envelope, nil, func(m map[string]string) (bool, error) {
			n, _ := strconv.Atoi(m["generation"])
			m["generation"] = strconv.Itoa(n + 1)
			return true, nil
		}); err != nil {
			fmt.Println("error", err)
			os.Exit(1)
		}
	}
}

func TestIssue17_RewriteKill9OldOrNew(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st := storetest.Local(t, dir)
	s, _ := tables.NewSchema(tables.Field{Name: "id", Type: tables.Int}, tables.Field{Name: "generation", Type: tables.Int},
		tables.Field{Name: "notes", Type: tables.String})
	w, err := tables.Create(ctx, st, "health/t.parquet", crashKey, tables.Envelope, s)
	if err != nil {
		t.Fatal(err)
	}
	for i := range crashRows {
		w.Append([]string{strconv.Itoa(i), "0", fmt.Sprintf("note %d of a table rewritten under kill -9", i)})
	}
	if _, err := w.Close(); err != nil {
		t.Fatal(err)
	}
	exe, _ := os.Executable()
	last := -1
	for round := range 6 {
		cmd := exec.Command(exe, "-test.run=^$")
		cmd.Env = append(os.Environ(), "HDW_REWRITE_CHILD="+dir)
		out, _ := cmd.StdoutPipe()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		line, _ := bufio.NewReader(out).ReadString('\n')
		if line != "ready\n" {
			t.Fatalf("child: %q", line)
		}
		// The kill point varies (this picks when to kill; nothing is timed).
		time.Sleep(time.Duration(50+rand.IntN(400)) * time.Millisecond)
		cmd.Process.Kill() // SIGKILL
		cmd.Wait()
		gens := map[string]int{}
		n := 0
		if _, err := tables.ScanObject(ctx, st, "health/t.parquet", crashKey, tables.Query{}, func(r *tables.Row) error {
			gens[r.Get("generation")]++
			n++
			return nil
		}); err != nil {
			t.Fatalf("round %d: table unreadable after kill -9: %v", round, err)
		}
		if n != crashRows || len(gens) != 1 {
			t.Fatalf("round %d: %d rows, generations %v: a mix", round, n, gens)
		}
		for g := range gens {
			gi, _ := strconv.Atoi(g)
			if gi < last {
				t.Fatalf("round %d: generation went back from %d to %d", round, last, gi)
			}
			last = gi
		}
	}
	t.Logf("generation %d after 6 kills", last)
}
