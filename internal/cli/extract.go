package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/tabaudit/tabaudit/extract"
	"github.com/tabaudit/tabaudit/extract/tableau"
)

type extractOptions struct {
	Server       string
	Site         string
	Sites        []string
	AllSites     bool
	Out          string
	PATName      string
	PATSecret    string // from env only
	JWTFile      string
	Username     string
	Password     string // from env or file only
	PasswordFile string
	Concurrency  int
	PageSize     int
	NoLineage    bool
	JSON         bool
	CACert       string
	Insecure     bool
}

func newCmdExtract(f *Factory) *cobra.Command {
	opts := &extractOptions{}
	cmd := &cobra.Command{
		Use:   "extract --server URL --site CONTENT_URL --out ROOT",
		Short: "Extract a Tableau site's inventory, permissions and lineage into a snapshot",
		Long: `Extract signs in to Tableau Server or Tableau Cloud, reads every user, group, group set, project,
workbook, view, data source, flow, virtual connection, database and table with their explicit and
default permissions (and, unless --no-lineage, the Metadata API lineage), and writes one snapshot per
site: <out>/site=<site>/snapshot=<UTC time>/*.parquet plus manifest.json.

Credentials come from the environment, never from flags: TABLEAU_PAT_NAME and TABLEAU_PAT_SECRET
(default), or --jwt-file, or --username with TABLEAU_PASSWORD or --password-file. TABLEAU_SERVER_URL
and TABLEAU_SITE_ID stand in for --server and --site. Proxies come from HTTPS_PROXY/NO_PROXY.

Exit status: 0 complete snapshot, 3 snapshot written but incomplete (see its manifest), 2 usage or
sign-in error.`,
		Example: `  TABLEAU_PAT_NAME=audit TABLEAU_PAT_SECRET=... tabaudit extract --server https://tableau.example.com --site finance --out snapshots
  tabaudit extract --server https://tableau.example.com --all-sites --out snapshots --concurrency 16`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return extractRun(cmd.Context(), f, opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.Server, "server", "", "server URL, e.g. https://tableau.example.com (env TABLEAU_SERVER_URL)")
	fl.StringVar(&opts.Site, "site", "", "site content URL; empty for the Default site (env TABLEAU_SITE_ID)")
	fl.StringSliceVar(&opts.Sites, "sites", nil, "several site content URLs, comma-separated")
	fl.BoolVar(&opts.AllSites, "all-sites", false, "every site the signed-in user can list (server administrators)")
	fl.StringVar(&opts.Out, "out", "snapshots", "root folder of the snapshots")
	fl.StringVar(&opts.JWTFile, "jwt-file", "", "sign in with the connected-app JWT in this file")
	fl.StringVar(&opts.Username, "username", "", "sign in with this username (password from TABLEAU_PASSWORD or --password-file)")
	fl.StringVar(&opts.PasswordFile, "password-file", "", "file holding the password for --username")
	fl.IntVar(&opts.Concurrency, "concurrency", extract.DefaultConcurrency, "requests in flight")
	fl.IntVar(&opts.PageSize, "page-size", tableau.DefaultPageSize, "list page size (1..1000)")
	fl.BoolVar(&opts.NoLineage, "no-lineage", false, "skip the Metadata API lineage")
	fl.BoolVar(&opts.JSON, "json-api", false, "read the REST API as JSON instead of XML")
	fl.StringVar(&opts.CACert, "ca-cert", "", "PEM file of extra certificate authorities to trust")
	fl.BoolVar(&opts.Insecure, "insecure", false, "DANGEROUS: do not verify the server's TLS certificate (recorded in the manifest)")
	return cmd
}

// readSecretFile reads a one-line secret file; the error never includes its content.
func readSecretFile(flag, path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("%s: %w", flag, err)
	}
	s := strings.TrimSpace(string(b))
	if s == "" {
		return "", fmt.Errorf("%s: %s is empty", flag, path)
	}
	return s, nil
}

func (o *extractOptions) config(f *Factory) (extract.Config, error) {
	env := f.Getenv
	if o.Server == "" {
		o.Server = env("TABLEAU_SERVER_URL")
	}
	if o.Server == "" {
		return extract.Config{}, errors.New("no server: give --server or TABLEAU_SERVER_URL")
	}
	if o.Site == "" {
		o.Site = env("TABLEAU_SITE_ID")
	}
	if o.AllSites && len(o.Sites) > 0 {
		return extract.Config{}, errors.New("--sites and --all-sites exclude each other")
	}
	if o.Concurrency < 1 || o.Concurrency > 64 {
		return extract.Config{}, fmt.Errorf("--concurrency %d: want 1..64", o.Concurrency)
	}
	if o.PageSize < 1 || o.PageSize > 1000 {
		return extract.Config{}, fmt.Errorf("--page-size %d: want 1..1000 (Tableau's maximum)", o.PageSize)
	}
	creds := tableau.Credentials{ContentURL: o.Site}
	switch {
	case o.JWTFile != "":
		jwt, err := readSecretFile("--jwt-file", o.JWTFile)
		if err != nil {
			return extract.Config{}, err
		}
		creds.JWT = jwt
	case o.Username != "":
		creds.Username = o.Username
		creds.Password = env("TABLEAU_PASSWORD")
		if o.PasswordFile != "" {
			pw, err := readSecretFile("--password-file", o.PasswordFile)
			if err != nil {
				return extract.Config{}, err
			}
			creds.Password = pw
		}
		if creds.Password == "" {
			return extract.Config{}, errors.New("--username needs a password in TABLEAU_PASSWORD or --password-file")
		}
	default:
		creds.PATName, creds.PATSecret = env("TABLEAU_PAT_NAME"), env("TABLEAU_PAT_SECRET")
		if creds.PATName == "" || creds.PATSecret == "" {
			return extract.Config{}, errors.New("no credentials: set TABLEAU_PAT_NAME and TABLEAU_PAT_SECRET, or use --jwt-file or --username")
		}
	}
	hc, err := httpClient(o.CACert, o.Insecure)
	if err != nil {
		return extract.Config{}, fmt.Errorf("--ca-cert: %w", err)
	}
	sites := o.Sites
	if len(sites) == 0 && !o.AllSites {
		sites = []string{o.Site}
	}
	return extract.Config{
		ServerURL: o.Server, Credentials: creds, Sites: sites, AllSites: o.AllSites, OutRoot: o.Out,
		Concurrency: o.Concurrency, PageSize: o.PageSize, NoLineage: o.NoLineage, JSON: o.JSON,
		HTTPClient: hc, Insecure: o.Insecure, CACert: o.CACert,
		ToolVersion: f.Version, Logger: f.Logger, Now: f.Now,
	}, nil
}

func extractRun(ctx context.Context, f *Factory, o *extractOptions) error {
	cfg, err := o.config(f)
	if err != nil {
		return usageError(err)
	}
	if o.Insecure {
		fmt.Fprintln(f.IO.ErrOut, "WARNING: --insecure: TLS certificates are NOT verified; anyone on the network path can impersonate the server. This is recorded in the manifest.")
	}
	pr := newProgressRenderer(f.IO.ErrOut, f.IO.ErrTTY)
	cfg.Progress = pr.update
	if !f.IO.ErrTTY {
		cfg.ProgressEvery = 10 * time.Second
	}
	res, err := extract.Extract(ctx, cfg)
	pr.finish()
	if res != nil {
		for _, s := range res.Snapshots {
			printExtractSummary(f.IO.Out, s)
		}
	}
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return err
		}
		var se *tableau.SignInError
		if errors.As(err, &se) {
			return usageError(err)
		}
		return &ExitError{Code: ExitUsage, Err: err}
	}
	if !res.Complete() {
		return &ExitError{Code: ExitIncomplete, Err: errors.New("snapshot written but INCOMPLETE: see incomplete_reasons and failures in its manifest.json")}
	}
	return nil
}

func printExtractSummary(w io.Writer, s extract.SiteResult) {
	m := s.Manifest
	fmt.Fprintf(w, "snapshot %s\n  %s\n", m.SnapshotID, s.Dir)
	fmt.Fprintf(w, "  server %s  REST %s  product %s  signed in as %s (%s)\n", m.ServerURL, m.RESTVersion, m.Product, m.SignedInUserName, m.SignedInRole)
	names := make([]string, 0, len(m.Tables))
	for n := range m.Tables {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		t := m.Tables[n]
		total := "-"
		if t.TotalAvailable >= 0 {
			total = fmt.Sprint(t.TotalAvailable)
		}
		mark := ""
		if !t.Complete {
			mark = "  INCOMPLETE"
		}
		fmt.Fprintf(w, "  %-24s %9d rows  (announced %s, %d requests)%s\n", n, t.Rows, total, t.Requests, mark)
	}
	fmt.Fprintf(w, "  requests %d  retries %d  429s %d  re-sign-ins %d  duration %s\n", m.Requests, m.Retries, m.Throttled, m.ReSignIns, m.FinishedAt.Sub(m.StartedAt).Round(time.Millisecond))
	fmt.Fprintf(w, "  lineage %s  failures %d  warnings %d\n", m.Lineage, len(m.Failures), len(m.Warnings))
	for _, warn := range m.Warnings {
		fmt.Fprintf(w, "  warning: %s\n", warn)
	}
	if m.Complete {
		fmt.Fprintln(w, "  COMPLETE")
	} else {
		fmt.Fprintf(w, "  INCOMPLETE: %s\n", strings.Join(m.Incomplete, "; "))
	}
}

// progressRenderer draws the library's progress callbacks: a bar on a
// terminal, a plain line per callback otherwise (callbacks then come every
// 10 s).
// progressRenderer shows extraction progress: on a terminal, one bar per
// stage redrawn in place; otherwise a plain line per update, for logs.
type progressRenderer struct {
	w     io.Writer
	tty   bool
	bars  map[string]*progressbar.ProgressBar
	lines int // lines drawn last time, to move back over them
}

func newProgressRenderer(w io.Writer, tty bool) *progressRenderer {
	return &progressRenderer{w: w, tty: tty, bars: map[string]*progressbar.ProgressBar{}}
}

func (p *progressRenderer) update(pr extract.Progress) {
	var parts []string
	for _, s := range pr.Stages {
		parts = append(parts, fmt.Sprintf("%s %d/%d", s.Name, s.Done, s.Total))
	}
	line := fmt.Sprintf("[%s] %s  requests %d, retries %d, 429s %d, re-sign-ins %d", pr.Site, pr.Elapsed.Round(time.Second),
		pr.Requests, pr.Retries, pr.Throttled, pr.ReSignIns)
	if !p.tty {
		fmt.Fprintf(p.w, "%s | %s\n", line, strings.Join(parts, ", "))
		return
	}
	var b strings.Builder
	if p.lines > 0 {
		fmt.Fprintf(&b, "\x1b[%dA", p.lines)
	}
	fmt.Fprintf(&b, "\r\x1b[2K%s\n", line)
	for _, s := range pr.Stages {
		bar := p.bars[s.Name]
		if bar == nil {
			// Bars render into strings; this renderer owns the screen lines.
			bar = progressbar.NewOptions64(max(s.Total, 1), progressbar.OptionSetWriter(io.Discard), progressbar.OptionShowCount(),
				progressbar.OptionSetWidth(30), progressbar.OptionSetDescription(fmt.Sprintf("%-20s", s.Name)))
			p.bars[s.Name] = bar
		}
		bar.ChangeMax64(max(s.Total, 1))
		_ = bar.Set64(s.Done)
		fmt.Fprintf(&b, "\r\x1b[2K%s\n", strings.TrimSpace(bar.String()))
	}
	p.lines = 1 + len(pr.Stages)
	io.WriteString(p.w, b.String())
}

func (p *progressRenderer) finish() {}
