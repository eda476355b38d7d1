package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/tabaudit/tabaudit/extract"
	"github.com/tabaudit/tabaudit/extract/tableau"
	"github.com/tabaudit/tabaudit/rules"
)

type runOptions struct {
	Config          string
	Server          string
	Sites           []string
	Matrix          string
	Output          string
	FailOn          string
	AllowIncomplete bool
	DryRun          bool
	NoLineage       bool
}

func newCmdRun(f *Factory) *cobra.Command {
	opts := &runOptions{}
	cmd := &cobra.Command{
		Use:   "run --config tabaudit.yaml",
		Short: "The quarterly audit: extract, model, check and report for one or many sites",
		Long: `Run the whole audit for every site in the config: extract a snapshot, build the model, compare it
with the expected access matrix and write the reports, in a dated folder per run:

  <output>/snapshots/site=<site>/snapshot=<time>/     the snapshot (kept, Hive layout)
  <output>/runs/<time>/<site>/audit.duckdb            the model
  <output>/runs/<time>/<site>/report.xlsx (.md, ...)  the reports

Sites run in parallel (parallel_sites). Flags override the config file, and the config's environment
variables supply the secrets. --dry-run signs in, counts the content and prints the plan without
extracting anything.

Exit status: 0 clean, 1 findings at or above fail_on, 2 usage or input error, 3 incomplete snapshot.`,
		Example: `  tabaudit run --config tabaudit.yaml
  tabaudit run --config tabaudit.yaml --dry-run
  tabaudit run --config tabaudit.yaml --sites finance --fail-on critical`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runRun(cmd.Context(), f, opts, commandLine(cmd))
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.Config, "config", "tabaudit.yaml", "config file")
	fl.StringVar(&opts.Server, "server", "", "override the config's server (env TABLEAU_SERVER_URL)")
	fl.StringSliceVar(&opts.Sites, "sites", nil, "override the config's sites (comma-separated content URLs)")
	fl.StringVar(&opts.Matrix, "matrix", "", "override the config's expected access matrix")
	fl.StringVar(&opts.Output, "output", "", "override the config's output root")
	fl.StringVar(&opts.FailOn, "fail-on", "", "override the config's fail_on: info, low, medium, high, critical or none")
	fl.BoolVar(&opts.AllowIncomplete, "allow-incomplete", false, "audit a snapshot even when its manifest says it is incomplete (exit 3 still)")
	fl.BoolVar(&opts.DryRun, "dry-run", false, "sign in, count content and print the plan; extract nothing")
	fl.BoolVar(&opts.NoLineage, "no-lineage", false, "skip the Metadata API lineage")
	return cmd
}

// loadRun reads the config, applies flag and environment overrides and
// validates everything before any request is sent.
func loadRun(f *Factory, opts *runOptions) (*runConfig, error) {
	cfg, err := loadRunConfig(opts.Config)
	if err != nil {
		return nil, err
	}
	if opts.Server != "" {
		cfg.Server = opts.Server
	} else if cfg.Server == "" {
		cfg.Server = f.Getenv("TABLEAU_SERVER_URL")
	}
	if len(opts.Sites) > 0 {
		cfg.Sites, cfg.AllSites = opts.Sites, false
	}
	if opts.Matrix != "" {
		cfg.Matrix = opts.Matrix
	}
	if opts.Output != "" {
		cfg.Output = opts.Output
	}
	if opts.FailOn != "" {
		cfg.FailOn = opts.FailOn
	}
	if opts.NoLineage {
		no := false
		cfg.Lineage = &no
	}
	if err := cfg.validate(f.Getenv); err != nil {
		return nil, err
	}
	return cfg, nil
}

// credentials resolves the config's secret references. Values are never
// printed; errors name only the variable or file.
func (c *runConfig) credentials(getenv func(string) string, contentURL string) (tableau.Credentials, error) {
	cr := tableau.Credentials{ContentURL: contentURL}
	a := c.Auth
	switch a.Method {
	case "pat":
		cr.PATName = a.PATName
		if a.PATNameEnv != "" {
			cr.PATName = getenv(a.PATNameEnv)
		}
		cr.PATSecret = getenv(a.PATSecretEnv)
		if a.PATSecretFile != "" {
			s, err := readSecretFile("auth.pat_secret_file", a.PATSecretFile)
			if err != nil {
				return cr, err
			}
			cr.PATSecret = s
		}
	case "jwt":
		cr.JWT = getenv(a.JWTEnv)
		if a.JWTFile != "" {
			s, err := readSecretFile("auth.jwt_file", a.JWTFile)
			if err != nil {
				return cr, err
			}
			cr.JWT = s
		}
	case "password":
		cr.Username = a.Username
		cr.Password = getenv(a.PasswordEnv)
		if a.PasswordFile != "" {
			s, err := readSecretFile("auth.password_file", a.PasswordFile)
			if err != nil {
				return cr, err
			}
			cr.Password = s
		}
	}
	return cr, nil
}

func (c *runConfig) extractConfig(f *Factory, contentURL string) (extract.Config, error) {
	creds, err := c.credentials(f.Getenv, contentURL)
	if err != nil {
		return extract.Config{}, err
	}
	hc, err := httpClient(c.TLS.CACert, c.TLS.Insecure)
	if err != nil {
		return extract.Config{}, err
	}
	return extract.Config{
		ServerURL: c.Server, Credentials: creds, Sites: []string{contentURL},
		OutRoot: filepath.Join(c.Output, "snapshots"), Concurrency: c.Concurrency,
		NoLineage: c.Lineage != nil && !*c.Lineage, HTTPClient: hc, Insecure: c.TLS.Insecure, CACert: c.TLS.CACert,
		ToolVersion: f.Version, Logger: f.Logger, Now: f.Now,
	}, nil
}

func runRun(ctx context.Context, f *Factory, opts *runOptions, cmdline string) error {
	cfg, err := loadRun(f, opts)
	if err != nil {
		return usageError(err)
	}
	var matrix *rules.Matrix
	if cfg.Matrix != "" {
		if matrix, err = rules.Load(cfg.Matrix); err != nil {
			return matrixError(err)
		}
	}
	if cfg.AllSites {
		sites, err := listAllSites(ctx, f, cfg)
		if err != nil {
			return usageError(err)
		}
		cfg.Sites = sites
	}
	if opts.DryRun {
		return dryRun(ctx, f, cfg)
	}
	if cfg.TLS.Insecure {
		fmt.Fprintln(f.IO.ErrOut, "WARNING: tls.insecure: TLS certificates are NOT verified. This is recorded in every manifest.")
	}
	// Reachability is checked once up front so a wrong URL fails in seconds,
	// before any site starts.
	if err := probeServer(ctx, f, cfg); err != nil {
		return usageError(err)
	}
	stamp := f.Now().UTC().Format("20060102T150405Z")
	results := make([]*siteAudit, len(cfg.Sites))
	sem := make(chan struct{}, cfg.ParallelSites)
	var wg sync.WaitGroup
	for i, s := range cfg.Sites {
		ec, err := cfg.extractConfig(f, s)
		if err != nil {
			return usageError(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			results[i] = auditSite(ctx, f, auditParams{
				Extract: ec, OutDir: filepath.Join(cfg.Output, "runs", stamp, siteName(s)),
				Matrix: matrix, FailOn: cfg.FailOn, Formats: cfg.Formats,
				AllowIncomplete: opts.AllowIncomplete, CommandLine: cmdline,
			})
		}()
	}
	wg.Wait()
	if ctx.Err() != nil {
		return ctx.Err()
	}
	printRunSummary(f, results)
	if cfg.Retention.KeepSnapshots > 0 {
		for _, r := range results {
			if r.Code == ExitOK || r.Code == ExitFindings {
				if err := pruneSnapshots(filepath.Join(cfg.Output, "snapshots"), r.Site, cfg.Retention.KeepSnapshots); err != nil {
					fmt.Fprintf(f.IO.ErrOut, "warning: retention for site %s: %v\n", r.Site, err)
				}
			}
		}
	}
	return runExit(results)
}

// runExit folds per-site codes into one: an input error outranks an
// incomplete snapshot, which outranks findings.
func runExit(results []*siteAudit) error {
	code := ExitOK
	var msgs []string
	for _, r := range results {
		if r.Err != nil {
			msgs = append(msgs, fmt.Sprintf("site %s: %v", r.Site, r.Err))
		}
		switch {
		case r.Code == ExitUsage:
			code = ExitUsage
		case r.Code == ExitIncomplete && code != ExitUsage:
			code = ExitIncomplete
		case r.Code == ExitFindings && code == ExitOK:
			code = ExitFindings
		}
	}
	if code == ExitOK {
		return nil
	}
	var err error
	if len(msgs) > 0 {
		err = errors.New(strings.Join(msgs, "\n"))
	}
	return &ExitError{Code: code, Err: err}
}

func printRunSummary(f *Factory, results []*siteAudit) {
	w := tabwriter.NewWriter(f.IO.Out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "SITE\tSNAPSHOT\tFINDINGS\tGATED\tSTAGES\tRESULT")
	for _, r := range results {
		snap, findings, gated := "-", "-", "-"
		if r.Manifest != nil {
			snap = r.Manifest.SnapshotID
			if !r.Manifest.Complete {
				snap += " (INCOMPLETE)"
			}
		}
		if r.Check != nil {
			findings, gated = fmt.Sprint(r.Check.Findings), fmt.Sprint(r.Check.Gated)
		}
		// Each stage with its share of the site's total, so a slow stage is
		// visible at a glance in a scheduled run's log.
		var total time.Duration
		for _, s := range r.Stages {
			total += s.Duration
		}
		var stages []string
		for _, s := range r.Stages {
			stages = append(stages, fmt.Sprintf("%s %s (%d%%)", s.Stage, s.Duration.Round(10*time.Millisecond), share(s.Duration, total)))
		}
		if len(r.Stages) > 0 {
			stages = append(stages, fmt.Sprintf("total %s", total.Round(10*time.Millisecond)))
		}
		result := map[int]string{ExitOK: "clean", ExitFindings: "findings", ExitUsage: "error", ExitIncomplete: "incomplete"}[r.Code]
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", r.Site, snap, findings, gated, strings.Join(stages, ", "), result)
	}
	w.Flush()
	for _, r := range results {
		for _, file := range r.Files {
			fmt.Fprintf(f.IO.Out, "  %s: %s\n", r.Site, file)
		}
	}
}

func share(d, total time.Duration) int {
	if total <= 0 {
		return 0
	}
	return int((100*d + total/2) / total)
}

// pruneSnapshots keeps the newest keep snapshot folders of a site.
func pruneSnapshots(root, site string, keep int) error {
	dirs, err := filepath.Glob(filepath.Join(root, "site="+site, "snapshot=*"))
	if err != nil {
		return err
	}
	slices.Sort(dirs) // the folder names are UTC timestamps
	for len(dirs) > keep {
		if err := os.RemoveAll(dirs[0]); err != nil {
			return err
		}
		dirs = dirs[1:]
	}
	return nil
}

func probeServer(ctx context.Context, f *Factory, cfg *runConfig) error {
	hc, err := httpClient(cfg.TLS.CACert, cfg.TLS.Insecure)
	if err != nil {
		return err
	}
	creds, err := cfg.credentials(f.Getenv, "")
	if err != nil {
		return err
	}
	c, err := tableau.NewClient(cfg.Server, creds, tableau.WithHTTPClient(hc))
	if err != nil {
		return fmt.Errorf("server %s: %w", cfg.Server, err)
	}
	pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if _, err := c.Auth.ServerInfo(pctx); err != nil {
		return fmt.Errorf("server %s is not reachable as a Tableau server: %w", cfg.Server, err)
	}
	return nil
}

// signIn opens a client on one site of the config.
func (c *runConfig) signIn(ctx context.Context, f *Factory, contentURL string) (*tableau.Client, error) {
	creds, err := c.credentials(f.Getenv, contentURL)
	if err != nil {
		return nil, err
	}
	hc, err := httpClient(c.TLS.CACert, c.TLS.Insecure)
	if err != nil {
		return nil, err
	}
	cl, err := tableau.NewClient(c.Server, creds, tableau.WithHTTPClient(hc), tableau.WithLogger(f.Logger))
	if err != nil {
		return nil, err
	}
	if _, err := cl.Auth.SignIn(ctx); err != nil {
		return nil, fmt.Errorf("signing in to site %q: %w", siteName(contentURL), err)
	}
	return cl, nil
}

// listAllSites resolves all_sites: the sites the signed-in user can list.
func listAllSites(ctx context.Context, f *Factory, cfg *runConfig) ([]string, error) {
	cl, err := cfg.signIn(ctx, f, "")
	if err != nil {
		return nil, err
	}
	defer cl.Auth.SignOut(context.WithoutCancel(ctx))
	var sites []string
	for s, err := range cl.Sites.All(ctx, nil) {
		if err != nil {
			return nil, fmt.Errorf("listing sites: %w", err)
		}
		sites = append(sites, s.ContentURL)
	}
	return sites, nil
}

// dryRun signs in to each site, reads one item of every list to learn its
// totalAvailable, and estimates the requests an extraction needs and the
// time they take at the measured latency and the configured concurrency.
func dryRun(ctx context.Context, f *Factory, cfg *runConfig) error {
	conc := cfg.Concurrency
	if conc == 0 {
		conc = extract.DefaultConcurrency
	}
	w := tabwriter.NewWriter(f.IO.Out, 0, 0, 2, ' ', 0)
	fmt.Fprintf(w, "Plan for %s (%d site(s), %d in parallel, %d requests in flight per site)\n", cfg.Server, len(cfg.Sites), cfg.ParallelSites, conc)
	fmt.Fprintln(w, "SITE\tUSERS\tGROUPS\tPROJECTS\tWORKBOOKS\tVIEWS\tDATASOURCES\tFLOWS\tEST. REQUESTS\tEST. TIME")
	for _, s := range cfg.Sites {
		cl, err := cfg.signIn(ctx, f, s)
		if err != nil {
			return usageError(err)
		}
		n := map[string]int{}
		t0 := time.Now()
		calls := 0
		count := func(name string, list func(context.Context, *tableau.ListOptions) (int, error)) error {
			total, err := list(ctx, &tableau.ListOptions{PageSize: 1})
			calls++
			if err != nil {
				return fmt.Errorf("counting %s on site %s: %w", name, siteName(s), err)
			}
			n[name] = total
			return nil
		}
		totalOf := func(r *tableau.Response, err error) (int, error) {
			if err != nil {
				return 0, err
			}
			return r.TotalAvailable, nil
		}
		steps := []struct {
			name string
			fn   func(context.Context, *tableau.ListOptions) (int, error)
		}{
			{"users", func(c context.Context, o *tableau.ListOptions) (int, error) {
				_, r, err := cl.Users.List(c, o)
				return totalOf(r, err)
			}},
			{"groups", func(c context.Context, o *tableau.ListOptions) (int, error) {
				_, r, err := cl.Groups.List(c, o)
				return totalOf(r, err)
			}},
			{"projects", func(c context.Context, o *tableau.ListOptions) (int, error) {
				_, r, err := cl.Projects.List(c, o)
				return totalOf(r, err)
			}},
			{"workbooks", func(c context.Context, o *tableau.ListOptions) (int, error) {
				_, r, err := cl.Workbooks.List(c, o)
				return totalOf(r, err)
			}},
			{"views", func(c context.Context, o *tableau.ListOptions) (int, error) {
				_, r, err := cl.Views.List(c, o)
				return totalOf(r, err)
			}},
			{"datasources", func(c context.Context, o *tableau.ListOptions) (int, error) {
				_, r, err := cl.Datasources.List(c, o)
				return totalOf(r, err)
			}},
			{"flows", func(c context.Context, o *tableau.ListOptions) (int, error) {
				_, r, err := cl.Flows.List(c, o)
				return totalOf(r, err)
			}},
		}
		for _, st := range steps {
			if err := count(st.name, st.fn); err != nil {
				cl.Auth.SignOut(context.WithoutCancel(ctx))
				return err
			}
		}
		latency := time.Since(t0) / time.Duration(calls)
		cl.Auth.SignOut(context.WithoutCancel(ctx))
		req := estimateRequests(n)
		est := time.Duration(req) * latency / time.Duration(conc)
		fmt.Fprintf(w, "%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%s\n", siteName(s), n["users"], n["groups"], n["projects"],
			n["workbooks"], n["views"], n["datasources"], n["flows"], req, est.Round(time.Second))
	}
	fmt.Fprintf(w, "Estimates use the latency measured while counting; lineage, group sets, databases and jobs add a few percent.\n")
	return w.Flush()
}

// estimateRequests is the minimum an extraction needs: every list page at
// 1,000 per page, one permissions call per project and content item, nine
// default-permission calls per project, one views call per workbook and one
// member list per group.
func estimateRequests(n map[string]int) int {
	pages := func(k int) int { return max(1, (k+999)/1000) }
	req := 0
	for _, k := range []string{"users", "groups", "projects", "workbooks", "views", "datasources", "flows"} {
		req += pages(n[k])
	}
	req += n["projects"] * (1 + 9)
	req += n["workbooks"] * 2 // permissions + views of the workbook
	req += n["views"] + n["datasources"] + n["flows"]
	req += n["groups"]
	return req
}
