package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tabaudit/tabaudit/extract"
	"github.com/tabaudit/tabaudit/extract/tableau"
	"github.com/tabaudit/tabaudit/extract/tableautest"
	"github.com/tabaudit/tabaudit/model"
)

type vectorsOptions struct {
	Files   []string
	Verbose bool
}

func newCmdVectors(f *Factory) *cobra.Command {
	opts := &vectorsOptions{}
	cmd := &cobra.Command{
		Use:   "vectors FILE...",
		Short: "Run permission test vectors end to end (site, simulator, extract, model)",
		Long: `Run permission vectors in the spec's YAML format (schema tabaudit-permission-vectors/v2,
spec §16). Each vector's site is served by the in-process Tableau simulator, extracted over HTTP
into a snapshot, loaded into an in-memory model, and every expectation is looked up in
effective_permissions (result, reason, flags) and every expected finding in model_findings.

Prints one line per expectation; exits 1 when any fails, 2 on an unreadable file.`,
		Example: `  tabaudit vectors testdata/spec/permission-vectors.yaml
  tabaudit vectors -v my-cases.yaml`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Files = args
			return vectorsRun(cmd.Context(), f, opts)
		},
	}
	cmd.Flags().BoolVarP(&opts.Verbose, "verbose", "v", false, "also print each expectation's why and deciding rule")
	return cmd
}

func vectorsRun(ctx context.Context, f *Factory, opts *vectorsOptions) error {
	var vs []model.Vector
	for _, file := range opts.Files {
		v, err := model.LoadVectors(file)
		if err != nil {
			return usageError(err)
		}
		vs = append(vs, v...)
	}
	w := f.IO.Out
	var pass, fail int
	for _, v := range vs {
		outs, err := runVector(ctx, v)
		if err != nil {
			fail++
			fmt.Fprintf(w, "FAIL %s %s: %v\n", v.ID, v.Title, err)
			continue
		}
		for _, o := range outs {
			basis := ""
			if o.Basis != "" && o.Basis != "current" {
				basis = " [" + o.Basis + "]"
			}
			what := fmt.Sprintf("%s %s %s %s%s", v.ID, o.User, o.Item, o.Cap, basis)
			if o.User == "-" {
				what = fmt.Sprintf("%s %s", v.ID, o.Cap)
			}
			if o.OK() {
				pass++
				fmt.Fprintf(w, "ok   %s: %s %s\n", what, o.GotResult, o.GotReason)
			} else {
				fail++
				fmt.Fprintf(w, "FAIL %s: %s\n", what, strings.Join(o.Problems, "; "))
			}
			if opts.Verbose {
				if o.Why != "" {
					fmt.Fprintf(w, "       why: %s\n", o.Why)
				}
				if o.GotRule != "" || len(o.GotFlags) > 0 {
					fmt.Fprintf(w, "       rule: %s flags: %v confidence: %s\n", o.GotRule, o.GotFlags, o.GotConfidence)
				}
			}
		}
	}
	fmt.Fprintf(w, "%d vectors, %d expectations passed, %d failed\n", len(vs), pass, fail)
	if fail > 0 {
		return &ExitError{Code: ExitFindings, Err: fmt.Errorf("%d vector expectation(s) failed", fail)}
	}
	return nil
}

// runVector serves the vector's site, extracts it (with lineage: REST does
// not link tables to their databases) and checks the expectations.
func runVector(ctx context.Context, v model.Vector) ([]model.Outcome, error) {
	srv, err := tableautest.Start(v.Site)
	if err != nil {
		return nil, err
	}
	defer srv.Close()
	out, err := os.MkdirTemp("", "tabaudit-vectors-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(out)
	res, err := extract.Extract(ctx, extract.Config{
		ServerURL:   srv.URL,
		Credentials: tableau.Credentials{PATName: tableautest.DefaultPATName, PATSecret: tableautest.DefaultPATSecret, ContentURL: srv.ContentURL},
		OutRoot:     out,
		ToolVersion: Version,
		RetryPolicy: &tableau.RetryPolicy{MaxAttempts: 3, BaseDelay: time.Millisecond, MaxDelay: 10 * time.Millisecond, MaxWait: time.Second, MaxReSignIns: 1},
	})
	if err != nil {
		return nil, fmt.Errorf("extracting the vector's site: %w", err)
	}
	if len(res.Snapshots) != 1 {
		return nil, errors.New("extracting the vector's site: no snapshot")
	}
	db, err := model.Open(ctx, "")
	if err != nil {
		return nil, err
	}
	defer db.Close()
	if _, err := db.LoadSnapshot(ctx, res.Snapshots[0].Dir, model.LoadOptions{}); err != nil {
		return nil, err
	}
	return model.CheckVector(ctx, db.SQL(), v)
}
