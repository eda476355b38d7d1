package cli

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/tabaudit/tabaudit/extract"
	"github.com/tabaudit/tabaudit/extract/snapshot"
	"github.com/tabaudit/tabaudit/extract/tableau"
	"github.com/tabaudit/tabaudit/model"
	"github.com/tabaudit/tabaudit/model/lineage"
	"github.com/tabaudit/tabaudit/reports"
	"github.com/tabaudit/tabaudit/rules"
)

// auditParams is one site's quarterly audit: extract → model → check → report.
type auditParams struct {
	Extract         extract.Config // Sites holds exactly one site
	OutDir          string         // audit.duckdb and the report files go here
	Matrix          *rules.Matrix  // nil: no policy check, the report says so
	FailOn          string
	Formats         []string
	AllowIncomplete bool
	CommandLine     string
}

// siteAudit is what one site's audit produced.
type siteAudit struct {
	Site        string
	SnapshotDir string
	Manifest    *snapshot.Manifest
	DBPath      string
	Check       *rules.Result
	Files       []string
	Stages      []stageTime
	Err         error // the stage error that stopped this site, if any
	Code        int   // exit code for this site alone
}

type stageTime struct {
	Stage    string
	Duration time.Duration
}

func (a *siteAudit) timed(stage string, fn func() error) error {
	t0 := time.Now()
	err := fn()
	a.Stages = append(a.Stages, stageTime{stage, time.Since(t0)})
	if err != nil {
		a.Err = fmt.Errorf("%s: %w", stage, err)
	}
	return err
}

// auditSite runs the four stages for one site. It never returns early with a
// half-written report: each stage's output is complete before the next runs,
// and a failure stops the chain with the failing stage named.
func auditSite(ctx context.Context, f *Factory, p auditParams) *siteAudit {
	a := &siteAudit{Site: siteName(p.Extract.Sites[0]), Code: ExitOK}
	if err := os.MkdirAll(p.OutDir, 0o755); err != nil {
		a.Err, a.Code = err, ExitUsage
		return a
	}
	var res *extract.Result
	if err := a.timed("extract", func() (err error) {
		res, err = extract.Extract(ctx, p.Extract)
		return err
	}); err != nil {
		a.Code = ExitUsage
		return a
	}
	if len(res.Snapshots) != 1 {
		a.Err, a.Code = fmt.Errorf("extract: want one snapshot, got %d", len(res.Snapshots)), ExitUsage
		return a
	}
	a.SnapshotDir, a.Manifest = res.Snapshots[0].Dir, res.Snapshots[0].Manifest
	if !a.Manifest.Complete && !p.AllowIncomplete {
		a.Err = fmt.Errorf("snapshot %s is INCOMPLETE (see its manifest.json); rerun, or pass --allow-incomplete to audit it anyway", a.SnapshotDir)
		a.Code = ExitIncomplete
		return a
	}
	a.DBPath = filepath.Join(p.OutDir, "audit.duckdb")
	// A model is rebuilt from scratch: stale tables from an earlier run must
	// not mix with this snapshot.
	for _, suffix := range []string{"", ".wal"} {
		if err := os.Remove(a.DBPath + suffix); err != nil && !errors.Is(err, os.ErrNotExist) {
			a.Err, a.Code = err, ExitUsage
			return a
		}
	}
	var db *model.DB
	if err := a.timed("model", func() (err error) {
		db, err = model.Open(ctx, a.DBPath)
		if err != nil {
			return err
		}
		if _, err = db.LoadSnapshot(ctx, a.SnapshotDir, model.LoadOptions{AllowIncomplete: p.AllowIncomplete}); err != nil {
			return err
		}
		if err := lineage.Build(ctx, db.SQL()); err != nil && !errors.Is(err, lineage.ErrNoLineage) {
			return err
		}
		return nil
	}); err != nil {
		if db != nil {
			db.Close()
		}
		a.Code = ExitUsage
		var ie *model.IncompleteError
		if errors.As(err, &ie) {
			a.Code = ExitIncomplete
		}
		return a
	}
	defer db.Close()
	if p.Matrix != nil {
		if err := a.timed("check", func() (err error) {
			a.Check, err = rules.Check(ctx, db.SQL(), p.Matrix, rules.Options{
				Now: f.Now(), FailOn: p.FailOn, AllowIncomplete: p.AllowIncomplete, ToolVersion: f.Version, Logger: f.Logger,
			})
			return err
		}); err != nil {
			a.Code = ExitUsage
			return a
		}
	}
	if err := a.timed("report", func() error {
		r, err := reports.Write(ctx, db.SQL(), reports.Options{
			Out: filepath.Join(p.OutDir, "report.xlsx"), Formats: p.Formats,
			ToolVersion: f.Version, CommandLine: p.CommandLine, Now: f.Now, Logger: f.Logger,
		})
		if err != nil {
			return err
		}
		a.Files = r.Files
		return nil
	}); err != nil {
		a.Code = ExitUsage
		return a
	}
	if a.Check != nil && a.Check.Gated > 0 {
		a.Code = ExitFindings
	}
	return a
}

func siteName(contentURL string) string {
	if contentURL == "" {
		return "default"
	}
	return contentURL
}

// httpClient builds the client every Tableau request goes through: the
// system roots plus an optional CA bundle, proxies from the environment, and
// certificate checks off only when asked for by name.
func httpClient(caCert string, insecure bool) (*http.Client, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if caCert != "" || insecure {
		tc := &tls.Config{MinVersion: tls.VersionTLS12}
		if caCert != "" {
			pem, err := os.ReadFile(caCert)
			if err != nil {
				return nil, fmt.Errorf("CA bundle: %w", err)
			}
			pool, err := x509.SystemCertPool()
			if err != nil || pool == nil {
				pool = x509.NewCertPool()
			}
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("CA bundle %s: no PEM certificate found", caCert)
			}
			tc.RootCAs = pool
		}
		tc.InsecureSkipVerify = insecure
		tr.TLSClientConfig = tc
	}
	return tableau.DefaultHTTPClient(tr), nil
}
