// Command hdw feeds a health data warehouse and governs every use of it,
// built to the CNIL health-data-warehouse reference (2021-118). See README.md.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"hdw/configs"
)

var version = "dev"

// Exit codes of ARCHITECTURE §6.
const (
	exitOK          = 0
	exitFailure     = 1
	exitUsage       = 2
	exitQuarantined = 3
)

// exitError carries an exit code through cobra.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return ""
	}
	return e.err.Error()
}
func (e *exitError) Unwrap() error { return e.err }

func usageErr(format string, args ...any) error {
	return &exitError{code: exitUsage, err: fmt.Errorf(format, args...)}
}

// globals are the global flags of ARCHITECTURE §6.
type globals struct {
	warehouse string
	profile   string
	config    string
	json      bool
	verbose   bool
	stdout    io.Writer
	stderr    io.Writer
	getenv    func(string) string
	logger    *slog.Logger
	command   string // the running command, for the audit session
	// cfg and dict are read by setup from --config and the dictionary it
	// names; every command gets them through its globals, never a
	// package-level variable (issue 18).
	cfg  configs.Config
	dict *configs.Dictionary
	// authSleep replaces the progressive delay's wait (SRS-089) in tests;
	// nil sleeps for real.
	authSleep func(ctx context.Context, d time.Duration)
}

func main() {
	stopProfiles := startProfiles(os.Getenv("HDW_CPUPROFILE"), os.Getenv("HDW_MEMPROFILE"))
	stopTrace := startTrace(os.Getenv("HDW_TRACE"))
	code := run(os.Args[1:], os.Stdout, os.Stderr, os.Getenv)
	stopTrace()
	stopProfiles()
	os.Exit(code)
}

// startProfiles writes a CPU profile of the whole command to cpu and a heap
// profile at its end to mem (each when non-empty), for performance work:
// HDW_CPUPROFILE=cpu.pprof hdw ingest ... then go tool pprof. Profiles hold
// code locations and sizes, never data values.
func startProfiles(cpu, mem string) (stop func()) {
	var cf *os.File
	if cpu != "" {
		f, err := os.OpenFile(cpu, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
		if err == nil && pprof.StartCPUProfile(f) == nil {
			cf = f
		} else {
			fmt.Fprintf(os.Stderr, "hdw: HDW_CPUPROFILE: cannot write the profile (%v)\n", err)
		}
	}
	return func() {
		if cf != nil {
			pprof.StopCPUProfile()
			cf.Close()
		}
		if mem != "" {
			f, err := os.OpenFile(mem, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
			if err != nil {
				fmt.Fprintf(os.Stderr, "hdw: HDW_MEMPROFILE: %v\n", err)
				return
			}
			defer f.Close()
			if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
				fmt.Fprintf(os.Stderr, "hdw: HDW_MEMPROFILE: %v\n", err)
			}
		}
	}
}

// run runs one hdw command; opts adjust the globals before it runs (tests
// inject a sleep there; the binary passes none).
func run(args []string, stdout, stderr io.Writer, getenv func(string) string, opts ...func(*globals)) int {
	// SIGINT/SIGTERM cancel the command's context: an ingest abandons its
	// current batch cleanly (nothing half-committed; a rerun takes it
	// again), prints a summary of what was committed, and the process exits
	// 128+signal (130, 143) as a shell expects (issue 23).
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	var got atomic.Value
	go func() {
		select {
		case s := <-sigs:
			got.Store(s)
			cancel(fmt.Errorf("interrupted by %v", s))
		case <-ctx.Done():
		}
	}()
	code := runCtx(ctx, args, stdout, stderr, getenv, opts...)
	if s, ok := got.Load().(os.Signal); ok && code != exitUsage {
		if s == syscall.SIGTERM {
			return 143
		}
		return 130
	}
	return code
}

func runCtx(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string, opts ...func(*globals)) int {
	g := &globals{stdout: stdout, stderr: stderr, getenv: getenv}
	for _, o := range opts {
		o(g)
	}
	root := newRootCmd(g)
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintf(stderr, "hdw: %v\n", ee.err)
		}
		return ee.code
	}
	fmt.Fprintf(stderr, "hdw: %v\n", err)
	if isUsage(err) {
		return exitUsage
	}
	return exitFailure
}

func isUsage(err error) bool {
	msg := err.Error()
	for _, p := range []string{"unknown command", "unknown flag", "unknown shorthand", "accepts ", "requires at least", "flag needs an argument", "invalid argument", "required flag"} {
		if strings.Contains(msg, p) {
			return true
		}
	}
	return false
}

func newRootCmd(g *globals) *cobra.Command {
	root := &cobra.Command{
		Use:   "hdw",
		Short: "hdw feeds a health data warehouse and governs every use of it (CNIL 2021-118)",
		Long: `hdw ingests client uploads (a local folder or s3://bucket/prefix/) into a
health data warehouse: it validates, de-identifies images, pseudonymizes with
keyed HMACs, and writes the health, identity and genetic stores under separate
keys, with a hash-chained audit trail.

Every command runs under one access profile (--profile or HDW_PROFILE):
ingest, curator, approver, dpo, admin, researcher:<project>.

Exit codes: 0 success, 1 failure, 2 usage, 3 completed with quarantined or
rejected items.`,
		Version:       version,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			g.command = strings.TrimPrefix(cmd.CommandPath(), cmd.Root().Name()+" ") // for refusals (issue 22)
			return g.setup(cmd)
		},
	}
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return &exitError{code: exitUsage, err: fmt.Errorf("%w (see hdw %s --help)", err, c.Name())}
	})
	pf := root.PersistentFlags()
	pf.StringVar(&g.warehouse, "warehouse", "", "warehouse root: a folder or s3://bucket/prefix (env HDW_WAREHOUSE, default ./hdw-data)")
	pf.StringVar(&g.profile, "profile", "", "access profile (env HDW_PROFILE)")
	pf.StringVar(&g.config, "config", "", "configuration file (YAML; env HDW_CONFIG)")
	pf.BoolVar(&g.json, "json", false, "machine-readable result on stdout")
	pf.BoolVarP(&g.verbose, "verbose", "v", false, "verbose diagnostics on stderr")
	for _, c := range commands(g) {
		root.AddCommand(c)
	}
	return root
}
