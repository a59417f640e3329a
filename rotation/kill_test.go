package rotation_test

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"hdw/keys"
	"hdw/keys/keystest"
	"hdw/objstore"
	"hdw/objstore/storetest"
	"hdw/rotation"
	"hdw/warehouse"
	"hdw/warehouse/warehousetest"
)

// The kill -9 test of a rotation (issue 22, extending
// warehouse.TestIssue17_RewriteKill9OldOrNew): a child process rotates a
// warehouse (the dpo's run, then the curator's), the parent kills it with
// SIGKILL at random moments, round after round, and a last run finishes
// the job. The result must equal the same rotation run without a kill.

func TestMain(m *testing.M) {
	if dir := os.Getenv("HDW_ROTATION_CHILD"); dir != "" {
		rotateChild(dir)
		return
	}
	os.Exit(m.Run())
}

func rotateAll(ctx context.Context, st objstore.Store, opt rotation.Options) error {
	for _, p := range []keystest.Derived{prov(keys.ProfileDPO, 2), prov(keys.ProfileCurator, 2)} {
		w, err := warehouse.Open(ctx, st, p)
		if err != nil {
			return err
		}
		if _, err := rotation.Run(ctx, w, p, opt); err != nil {
			return err
		}
	}
	return nil
}

var fixedNow = func() time.Time { return time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC) }

func rotateChild(dir string) {
	st, err := objstore.NewLocal(dir)
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	fmt.Println("ready")
	// Each step takes a little while, so that the kills land between and
	// inside steps alike (nothing is timed).
	opt := rotation.Options{Now: fixedNow, AfterStep: func(string) { time.Sleep(5 * time.Millisecond) }}
	if err := rotateAll(context.Background(), st, opt); err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	fmt.Println("done")
}

func TestIssue22_RotationKill9Resumes(t *testing.T) {
	f := newFixture(t)
	for range 4 {
		f.ingest(t, 1)
	}
	ref := filepath.Join(f.dir, "reference")
	copyDir(t, filepath.Join(f.dir, "wh"), ref)
	rst := storetest.Local(t, ref)
	if err := rotateAll(f.ctx, rst, rotation.Options{Now: fixedNow}); err != nil {
		t.Fatal(err)
	}

	exe, _ := os.Executable()
	kills := 0
	for round := 0; round < 12; round++ {
		cmd := exec.Command(exe, "-test.run=^$")
		cmd.Env = append(os.Environ(), "HDW_ROTATION_CHILD="+filepath.Join(f.dir, "wh"))
		out, _ := cmd.StdoutPipe()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		br := bufio.NewReader(out)
		if line, _ := br.ReadString('\n'); line != "ready\n" {
			t.Fatalf("child: %q", line)
		}
		// The kill point varies (this picks when to kill; nothing is timed).
		time.Sleep(time.Duration(5+rand.IntN(150)) * time.Millisecond)
		cmd.Process.Kill() // SIGKILL
		line, _ := br.ReadString('\n')
		cmd.Wait()
		if line == "done\n" {
			break
		}
		if line != "" {
			t.Fatalf("round %d: child: %q", round, line)
		}
		kills++
	}
	if kills == 0 {
		t.Fatal("no kill landed mid-rotation")
	}
	cs, err := f.wh(t, prov(keys.ProfileDPO, 2)).Commits(f.ctx)
	if err != nil {
		t.Fatal(err)
	}
	amended := 0
	for _, c := range cs {
		amended += len(c.PseudoVersions)
	}
	if amended == 0 {
		t.Fatal("the killed runs made no progress: the test shows nothing")
	}
	if err := rotateAll(f.ctx, f.st, rotation.Options{Now: fixedNow}); err != nil {
		t.Fatalf("resume after %d kills: %v", kills, err)
	}
	for _, p := range []keystest.Derived{prov(keys.ProfileDPO, 2), prov(keys.ProfileCurator, 2)} {
		got, want := snapshot(t, f.st, f.wh(t, p)), snapshot(t, rst, f.wh(t, p))
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("%s view: resumed rotation differs from an uninterrupted one after %d kills", p.As, kills)
		}
		warehousetest.CheckCommits(t, f.wh(t, p))
	}
	t.Logf("%d kills, %d stores of %d batches done before the last run", kills, amended, len(cs))
}
