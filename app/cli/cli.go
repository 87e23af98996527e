// Package cli is Trailscope's headless command line: the public contract of DESIGN.md
// ("Command line contract"), which scripts outside the project depend on.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/mattn/go-isatty"

	"github.com/trailscope/trailscope/app"
)

// Exit codes of the contract.
const (
	ExitOK      = 0
	ExitFailed  = 1
	ExitUsage   = 2
	ExitPartial = 3 // done, but some inputs failed
)

// usageError is bad usage or a malformed query: exit code 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error { return usageError{fmt.Sprintf(format, a...)} }

// partialError means the command finished but some inputs failed: exit code 3.
type partialError struct{ msg string }

func (e partialError) Error() string { return e.msg }

// Env is what a command reads and writes; tests give their own.
type Env struct {
	Stdout, Stderr io.Writer
	// StdoutTTY and StderrTTY say whether the streams are terminals (table output by default,
	// a live progress bar).
	StdoutTTY, StderrTTY bool
	Now                  func() time.Time
}

// DefaultEnv is the process's own streams.
func DefaultEnv() Env {
	return Env{
		Stdout: os.Stdout, Stderr: os.Stderr,
		StdoutTTY: isatty.IsTerminal(os.Stdout.Fd()),
		StderrTTY: isatty.IsTerminal(os.Stderr.Fd()),
		Now:       time.Now,
	}
}

type command struct {
	name, args, help string
	run              func(ctx context.Context, env Env, args []string) error
}

func commands() []command {
	return []command{
		{"ingest", "--case FILE SOURCE...", "load files, folders, archives into the case", runIngest},
		{"info", "--case FILE", "what the case holds", runInfo},
		{"files", "--case FILE [--status loaded|skipped|failed]", "the files the case was loaded from, with their SHA-256 and what became of them", runFiles},
		{"verify", "--case FILE [--all]", "check the files read against the CloudTrail digest files among them: log files changed, missing or added after delivery", runVerify},
		{"config", "--case FILE [KEY [VALUE]]", "show or set case settings", runConfig},
		{"demo", "--case FILE [--seed N] [--days N] [--scenario NAME]... [--out-dir DIR]", "write the demo case", runDemo},
		{"search", "--case FILE [--since] [--until] [--limit N] QUERY", "events matching a query, newest first", runSearch},
		{"count", "--case FILE [--since] [--until] [--by FIELD [--top N]] [QUERY]", "how many events match; with --by, how many carry each value of a field", runCount},
		{"pivot", "--case FILE ip|principal|event|key VALUE", "an entity's profile", runPivot},
		{"analyze", "--case FILE [--rebuild]", "run the baseline engine", runAnalyze},
		{"anomalies", "--case FILE [--min-risk N] [--direction D] [--verdict V]", "anomalies, highest risk first", runAnomalies},
		{"report", "--case FILE [--out FILE.md|FILE.html]", "a report of the case in Markdown (a web page for --out F.html): what was examined, the verdicts, what waits, rule matches, the check against the digests, files and hashes", runReport},
		{"triage", "--case FILE ID benign|follow-up|malicious|none [--note TEXT]", "record an analyst's verdict on an anomaly (none takes it away)", runTriage},
		{"series", "--case FILE [--direction D]", "per direction and bin: observed and expected", runSeries},
		{"rules", "--case FILE [--import SIGMA.yml...] [--export DIR]", "runs the detection rules over new events and lists them with their matches; imports and exports Sigma rules", runRules},
	}
}

// IsCommand reports whether name is a headless command.
func IsCommand(name string) bool {
	for _, c := range commands() {
		if c.name == name {
			return true
		}
	}
	return name == "help" || name == "-h" || name == "--help"
}

// Main runs one headless command and returns the process exit code.
func Main(ctx context.Context, env Env, args []string) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(env.Stdout)
		return ExitOK
	}
	for _, c := range commands() {
		if c.name != args[0] {
			continue
		}
		err := c.run(ctx, env, args[1:])
		var ue usageError
		var pe partialError
		switch {
		case err == nil:
			return ExitOK
		case errors.Is(err, flag.ErrHelp):
			return ExitOK
		case errors.As(err, &ue):
			fmt.Fprintf(env.Stderr, "trailscope %s: %v\n", c.name, err)
			return ExitUsage
		case errors.As(err, &pe):
			fmt.Fprintf(env.Stderr, "trailscope %s: %v\n", c.name, err)
			return ExitPartial
		default:
			fmt.Fprintf(env.Stderr, "trailscope %s: %v\n", c.name, err)
			return ExitFailed
		}
	}
	fmt.Fprintf(env.Stderr, "trailscope: unknown command %q\n", args[0])
	usage(env.Stderr)
	return ExitUsage
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "Trailscope investigates AWS CloudTrail.")
	fmt.Fprintln(w, "\nUsage:\n  trailscope                       open the app (last case, or the demo case)")
	for _, c := range commands() {
		fmt.Fprintf(w, "  trailscope %-9s %s\n      %s\n", c.name, c.args, c.help)
	}
	fmt.Fprintln(w, "\nListings take --format table|json|csv (table on a terminal, json otherwise).")
	fmt.Fprintln(w, "Exit codes: 0 done, 1 failed, 2 bad usage or malformed query, 3 done but some inputs failed.")
}

// flags is the flag set every command starts from: --case and, for listings, --format.
type flags struct {
	*flag.FlagSet
	casePath     string
	format       string
	caseOptional bool // the command checks --case itself (demo --out-dir needs none)
}

func newFlags(env Env, name string, listing bool) *flags {
	f := &flags{FlagSet: flag.NewFlagSet("trailscope "+name, flag.ContinueOnError)}
	f.SetOutput(env.Stderr)
	f.StringVar(&f.casePath, "case", "", "the case file (created when missing)")
	if listing {
		f.StringVar(&f.format, "format", "", "output format: table, json or csv")
	}
	return f
}

// parse parses args, allowing flags after positional arguments, and checks --case and --format.
func (f *flags) parse(env Env, args []string) ([]string, error) {
	var pos []string
	for {
		if err := f.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, usageError{err.Error()}
		}
		args = f.Args()
		if len(args) == 0 {
			break
		}
		if args[0] == "--" {
			pos = append(pos, args[1:]...)
			break
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
	if f.casePath == "" && !f.caseOptional {
		return nil, usagef("--case FILE is required")
	}
	if f.Lookup("format") != nil {
		switch f.format {
		case "":
			f.format = "json"
			if env.StdoutTTY {
				f.format = "table"
			}
		case "table", "json", "csv":
		default:
			return nil, usagef("--format %q: want table, json or csv", f.format)
		}
	}
	return pos, nil
}

// parseTimeBound reads --since / --until: RFC 3339, or YYYY-MM-DD meaning the whole day
// (inclusive), so --until 2024-05-09 ends at the end of that day.
func parseTimeBound(s string, until bool) (time.Time, error) {
	t, err := app.ParseTimeBound(s, until)
	if err != nil {
		return t, usageError{err.Error()}
	}
	return t, nil
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func joinList(v []string) string { return strings.Join(v, ",") }

// openCase opens the case named by --case. Only commands that write a case may create one; the
// others fail on a missing file rather than leave an empty case behind.
func openCase(ctx context.Context, path string, create bool) (*app.Case, error) {
	if !create {
		if _, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("case %s: %w", path, errors.Unwrap(err))
		}
	}
	return app.Open(ctx, path)
}
