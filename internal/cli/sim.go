package cli

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/tabaudit/tabaudit/extract/site"
	"github.com/tabaudit/tabaudit/extract/tableautest"
)

type simServeOptions struct {
	Site      string
	Preset    string
	Seed      int64
	Addr      string
	PATName   string
	PATSecret string
	User      string
	Version   string
	JWTSecret string
	JWTIssuer string
	Stats     bool
	Faults    tableautest.Faults
}

func newCmdSim(f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "sim",
		Short: "Run the Tableau simulator",
		Long:  "The Tableau simulator serves a site file or a synthetic site over Tableau's REST and Metadata APIs, with switchable faults, so that any Tableau client can be pointed at it.",
	}
	cmd.AddCommand(newCmdSimServe(f, nil))
	return cmd
}

func newCmdSimServe(f *Factory, runF func(context.Context, *simServeOptions) error) *cobra.Command {
	opts := &simServeOptions{}
	cmd := &cobra.Command{
		Use:   "serve (--site FILE | --preset S|M|L)",
		Short: "Serve a simulated Tableau site on localhost until interrupted",
		Long: `Serve a site over the Tableau REST API (/api/<version>/…, XML or JSON) and the Metadata API
(/api/metadata/graphql) until Ctrl-C. Sign in with the printed personal access token, or with any
site user's name and the simulator password. Fault switches make the server misbehave the way
Tableau Server and Cloud do (rate limits, 5xx from a proxy, expiring sessions, moving totals,
short pages); every fault is deterministic for a given configuration and request order.`,
		Example: `  tabaudit sim serve --site testdata/sim/rich.yaml --addr 127.0.0.1:8080
  tabaudit sim serve --preset M --seed 42 --rate-limit-every 50 --latency 20ms --latency-jitter 5ms --stats`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return simServeRun(cmd.Context(), f, opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.Site, "site", "", "site file to serve (YAML, the `site:` format)")
	fl.StringVar(&opts.Preset, "preset", "", "serve a synthetic site of size S, M or L instead of a file")
	fl.Int64Var(&opts.Seed, "seed", 1, "seed for the synthetic site and the latency jitter")
	fl.StringVar(&opts.Addr, "addr", "127.0.0.1:0", "listen address (port 0 picks a free port)")
	fl.StringVar(&opts.PATName, "pat-name", tableautest.DefaultPATName, "accepted personal access token name")
	fl.StringVar(&opts.PATSecret, "pat-secret", tableautest.DefaultPATSecret, "accepted personal access token secret")
	fl.StringVar(&opts.User, "user", "", "short id of the site user the token signs in as (default: the first site administrator)")
	fl.StringVar(&opts.Version, "rest-version", tableautest.DefaultRESTVersion, "highest REST API version served")
	fl.StringVar(&opts.JWTSecret, "jwt-secret", "", "accept connected-app JWTs signed HS256 with this secret")
	fl.StringVar(&opts.JWTIssuer, "jwt-issuer", "", "required JWT iss (the connected app's client id)")
	fl.BoolVar(&opts.Stats, "stats", false, "print request counters on exit")
	ff := &opts.Faults
	fl.DurationVar(&ff.Latency, "latency", 0, "delay every response")
	fl.DurationVar(&ff.LatencyJitter, "latency-jitter", 0, "deterministic ± jitter on the latency")
	fl.IntVar(&ff.RateLimitEvery, "rate-limit-every", 0, "answer 429 to every Nth request")
	fl.IntVar(&ff.RateLimitBurst, "rate-limit-burst", 1, "length of each 429 burst")
	fl.DurationVar(&ff.RateLimitWait, "rate-limit-wait", time.Second, "wait stated in the 429 detail (whole seconds)")
	fl.BoolVar(&ff.RetryAfterHeader, "retry-after-header", false, "also send Retry-After with 429")
	fl.IntVar(&ff.Error5xxEvery, "error-5xx-every", 0, "answer a 5xx to every Nth request (500 XML, then 502/503/504 HTML)")
	fl.IntVar(&ff.Error5xxBurst, "error-5xx-burst", 1, "length of each 5xx burst")
	fl.IntVar(&ff.SessionExpiryRequests, "session-expiry-requests", 0, "a session expires after N requests (401002)")
	fl.DurationVar(&ff.SessionExpiry, "session-expiry", 0, "a session expires this long after sign-in (401002)")
	fl.BoolVar(&ff.MovingTotals, "moving-totals", false, "totalAvailable drops by one after page 1 on the first walk of each list")
	fl.IntVar(&ff.ShortPageEvery, "short-page-every", 0, "every Nth non-last page leaves out its last item")
	fl.IntVar(&ff.NodeLimit, "node-limit", 0, "Metadata API node limit (0: Tableau's 20,000)")
	return cmd
}

// loadSimSite reads the site file or generates the preset.
func loadSimSite(opts *simServeOptions) (*site.Site, error) {
	switch {
	case opts.Site != "" && opts.Preset != "":
		return nil, usageError(errors.New("give --site or --preset, not both"))
	case opts.Site != "":
		s, err := site.Load(opts.Site)
		if err != nil {
			return nil, usageError(err)
		}
		return s, nil
	case opts.Preset != "":
		return generateSite(opts.Preset, opts.Seed)
	}
	return nil, usageError(errors.New("give --site FILE or --preset S|M|L"))
}

func simServeRun(ctx context.Context, f *Factory, opts *simServeOptions) error {
	s, err := loadSimSite(opts)
	if err != nil {
		return err
	}
	if opts.PATName == "" || opts.PATSecret == "" {
		return usageError(errors.New("--pat-name and --pat-secret must not be empty"))
	}
	simOpts := []tableautest.Option{
		tableautest.WithAddr(opts.Addr),
		tableautest.WithRESTVersion(opts.Version),
		tableautest.WithSeed(opts.Seed),
		tableautest.WithFaults(opts.Faults),
		tableautest.WithPAT(opts.PATName, opts.PATSecret, opts.User),
	}
	if opts.User != "" {
		simOpts = append(simOpts, tableautest.WithUser(opts.User))
	}
	if opts.JWTSecret != "" {
		simOpts = append(simOpts, tableautest.WithJWT(opts.JWTSecret, opts.JWTIssuer))
	}
	started := time.Now()
	srv, err := tableautest.Start(s, simOpts...)
	if err != nil {
		return usageError(err)
	}
	defer srv.Close()
	out := f.IO.Out
	fmt.Fprintf(out, "Tableau simulator listening on %s (started in %s)\n", srv.URL, time.Since(started).Round(time.Millisecond))
	fmt.Fprintf(out, "  site content URL: %q (site id %s)\n", srv.ContentURL, srv.SiteLUID)
	fmt.Fprintf(out, "  REST API:         %s/api/%s/  Metadata API: %s/api/metadata/graphql\n", srv.URL, opts.Version, srv.URL)
	fmt.Fprintf(out, "  PAT name:         %s\n", opts.PATName)
	if opts.PATSecret == tableautest.DefaultPATSecret {
		fmt.Fprintf(out, "  PAT secret:       %s\n", opts.PATSecret)
	} else {
		fmt.Fprintln(out, "  PAT secret:       (as given by --pat-secret)")
	}
	fmt.Fprintf(out, "  password:         %s (for any site user's name)\n", tableautest.DefaultPassword)
	fmt.Fprintln(out, "Press Ctrl-C to stop.")
	<-ctx.Done()
	if err := srv.Close(); err != nil {
		return fmt.Errorf("stopping simulator: %w", err)
	}
	if opts.Stats {
		st := srv.Stats()
		fmt.Fprintf(out, "requests: %d  sign-ins: %d  429: %d  5xx: %d  401: %d  expired sessions: %d\n",
			st.Requests, st.SignIns, st.RateLimited, st.ServerErrors, st.Unauthorized, st.Expired)
		for _, ep := range st.Endpoints() {
			fmt.Fprintf(out, "  %8d  %s\n", st.ByEndpoint[ep], ep)
		}
	}
	return nil
}
