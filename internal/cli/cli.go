// Package cli wires tabaudit's commands: flags, configuration, progress,
// logging and exit codes. It is the only package that decides exit codes;
// everything below it returns values and typed errors.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path"
	"runtime/debug"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"
)

// Exit codes (DESIGN.md §5).
const (
	ExitOK         = 0
	ExitFindings   = 1
	ExitUsage      = 2
	ExitIncomplete = 3
)

// IOStreams are a command's standard streams and whether they are terminals.
type IOStreams struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer
	// OutTTY is true when Out is a terminal: print aligned tables for people,
	// CSV when piped.
	OutTTY bool
	ErrTTY bool
}

// Factory carries the dependencies commands build on demand (gh's Factory).
type Factory struct {
	IO      IOStreams
	Now     func() time.Time
	Getenv  func(string) string
	Logger  *slog.Logger
	Version string
}

// ExitError carries an exit code chosen by a command, with the error to print.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit %d", e.Code)
	}
	return e.Err.Error()
}

func (e *ExitError) Unwrap() error { return e.Err }

// usageError marks an error as a usage or input error (exit 2).
func usageError(err error) error { return &ExitError{Code: ExitUsage, Err: err} }

// Version is set at build time with -ldflags "-X .../internal/cli.Version=...".
var Version = "dev"

// Run executes tabaudit with args and returns the process exit code.
func Run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	f := &Factory{
		IO:      IOStreams{In: stdin, Out: stdout, ErrOut: stderr, OutTTY: isTerminal(stdout), ErrTTY: isTerminal(stderr)},
		Now:     time.Now,
		Getenv:  os.Getenv,
		Version: Version,
	}
	return RunWith(ctx, f, args)
}

// RunWith executes tabaudit with a prepared Factory (tests inject env and clock).
func RunWith(ctx context.Context, f *Factory, args []string) int {
	root := newRootCmd(f)
	root.SetArgs(args)
	root.SetIn(f.IO.In)
	root.SetOut(f.IO.Out)
	root.SetErr(f.IO.ErrOut)
	err := root.ExecuteContext(ctx)
	return exitCode(f.IO.ErrOut, err)
}

func exitCode(stderr io.Writer, err error) int {
	if err == nil {
		return ExitOK
	}
	var ee *ExitError
	if errors.As(err, &ee) {
		if ee.Err != nil {
			fmt.Fprintf(stderr, "tabaudit: %v\n", ee.Err)
		}
		return ee.Code
	}
	if errors.Is(err, context.Canceled) {
		fmt.Fprintln(stderr, "tabaudit: interrupted")
		return 130
	}
	// cobra's own flag and argument errors are usage errors.
	fmt.Fprintf(stderr, "tabaudit: %v\n", err)
	return ExitUsage
}

func isTerminal(w io.Writer) bool {
	if f, ok := w.(*os.File); ok {
		return term.IsTerminal(int(f.Fd()))
	}
	return false
}

func newRootCmd(f *Factory) *cobra.Command {
	var logFormat, logLevel string
	var quiet, noColor bool
	root := &cobra.Command{
		Use:           "tabaudit",
		Short:         "Audit who can really do what on a Tableau site",
		Long:          "tabaudit extracts a Tableau site's inventory, permissions and lineage, computes every user's effective access exactly as Tableau evaluates it, compares it with the access the business approved, and writes reports auditors can sign.",
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			l, err := newLogger(f, logFormat, logLevel, quiet)
			if err != nil {
				return usageError(err)
			}
			f.Logger = l
			return nil
		},
	}
	root.PersistentFlags().StringVar(&logFormat, "log-format", "text", "log format: text or json")
	root.PersistentFlags().StringVar(&logLevel, "log-level", "info", "log level: debug, info, warn, error")
	root.PersistentFlags().BoolVarP(&quiet, "quiet", "q", false, "print only errors and the final summary")
	root.PersistentFlags().BoolVar(&noColor, "no-color", false, "no colours in terminal output (NO_COLOR is respected too)")
	root.AddCommand(
		newCmdVersion(f),
		newCmdSim(f),
		newCmdExtract(f),
		newCmdModel(f),
		newCmdExplain(f),
		newCmdVectors(f),
		newCmdExposure(f),
		newCmdSQL(f),
		newCmdQuery(f),
		newCmdCheck(f),
		newCmdReport(f),
		newCmdDiff(f),
		newCmdRun(f),
		newCmdDemo(f),
	)
	return root
}

func newLogger(f *Factory, format, level string, quiet bool) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", level)
	}
	if quiet && lv < slog.LevelError {
		lv = slog.LevelError
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(f.IO.ErrOut, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(f.IO.ErrOut, opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: want text or json", format)
}

func newCmdVersion(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the tabaudit version and build information",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			fmt.Fprintf(f.IO.Out, "tabaudit %s\n", f.Version)
			if bi, ok := debug.ReadBuildInfo(); ok {
				fmt.Fprintf(f.IO.Out, "  go:         %s\n", bi.GoVersion)
				if bi.Main.Version != "" && bi.Main.Version != "(devel)" {
					fmt.Fprintf(f.IO.Out, "  module:     %s %s\n", bi.Main.Path, bi.Main.Version)
				}
				for _, kv := range bi.Settings {
					if kv.Key == "vcs.revision" || kv.Key == "vcs.time" || kv.Key == "vcs.modified" {
						fmt.Fprintf(f.IO.Out, "  %-11s %s\n", kv.Key+":", kv.Value)
					}
				}
				for _, d := range bi.Deps {
					switch d.Path {
					case "github.com/duckdb/duckdb-go/v2", "github.com/apache/arrow-go/v18", "github.com/xuri/excelize/v2":
						fmt.Fprintf(f.IO.Out, "  %-11s %s\n", path.Base(strings.TrimSuffix(strings.TrimSuffix(d.Path, "/v2"), "/v18"))+":", d.Version)
					}
				}
			}
			fmt.Fprintf(f.IO.Out, "  spec:       permission-semantics v2\n")
			return nil
		},
	}
}
