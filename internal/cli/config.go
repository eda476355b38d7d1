package cli

import (
	"bytes"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// runConfig is tabaudit.yaml: the quarterly audit's settings. Secrets never
// appear in it: only the names of environment variables or paths of files
// that hold them.
type runConfig struct {
	Server        string       `yaml:"server"`
	Sites         []string     `yaml:"sites"`     // content URLs; "" is the Default site
	AllSites      bool         `yaml:"all_sites"` // every site the signed-in user may switch to
	Auth          authConfig   `yaml:"auth"`
	TLS           tlsConfig    `yaml:"tls"`
	Output        string       `yaml:"output"` // root of snapshots/, models and reports/
	Matrix        string       `yaml:"matrix"` // expected access matrix (yaml, csv, xlsx)
	FailOn        string       `yaml:"fail_on"`
	Formats       []string     `yaml:"formats"` // report formats: xlsx, csv, json, md
	Concurrency   int          `yaml:"concurrency"`
	ParallelSites int          `yaml:"parallel_sites"`
	Lineage       *bool        `yaml:"lineage"`
	Retention     retentionCfg `yaml:"retention"`

	file string
}

type authConfig struct {
	Method        string `yaml:"method"` // pat (default) | jwt | password
	PATName       string `yaml:"pat_name"`
	PATNameEnv    string `yaml:"pat_name_env"`
	PATSecretEnv  string `yaml:"pat_secret_env"`
	PATSecretFile string `yaml:"pat_secret_file"`
	JWTFile       string `yaml:"jwt_file"`
	JWTEnv        string `yaml:"jwt_env"`
	Username      string `yaml:"username"`
	PasswordEnv   string `yaml:"password_env"`
	PasswordFile  string `yaml:"password_file"`
}

type tlsConfig struct {
	CACert   string `yaml:"ca_cert"`
	Insecure bool   `yaml:"insecure"`
}

type retentionCfg struct {
	KeepSnapshots int `yaml:"keep_snapshots"` // per site; 0 keeps everything
}

// inlineSecretKeys are keys people reach for first; the error tells them
// where the secret goes instead.
var inlineSecretKeys = map[string]string{
	"pat_secret": "pat_secret_env or pat_secret_file",
	"password":   "password_env or password_file",
	"token":      "pat_secret_env or pat_secret_file",
	"secret":     "pat_secret_env or pat_secret_file",
	"jwt":        "jwt_env or jwt_file",
}

var fieldNotFound = regexp.MustCompile(`line (\d+): field (\S+) not found in type \S+`)

// loadRunConfig reads and checks tabaudit.yaml. Every problem is reported
// with the file, line and key.
func loadRunConfig(path string) (*runConfig, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading config: %w", err)
	}
	var cfg runConfig
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil {
		var te *yaml.TypeError
		if errors.As(err, &te) {
			var msgs []string
			for _, m := range te.Errors {
				if sub := fieldNotFound.FindStringSubmatch(m); sub != nil {
					msg := fmt.Sprintf("%s:%s: unknown key %q", path, sub[1], sub[2])
					if instead, ok := inlineSecretKeys[sub[2]]; ok {
						msg += fmt.Sprintf(" (secrets never go in the config file; use %s)", instead)
					}
					msgs = append(msgs, msg)
					continue
				}
				msgs = append(msgs, path+": "+m)
			}
			return nil, errors.New(strings.Join(msgs, "\n"))
		}
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	cfg.file = path
	return &cfg, nil
}

// validate checks everything that can be checked before any request is
// sent: the server URL, that each secret variable or file exists, that the
// output folder is writable and the matrix readable. Relative paths are
// resolved against the config file's folder.
func (c *runConfig) validate(getenv func(string) string) error {
	var errs []string
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Sprintf("%s: %s: %s", c.file, key, fmt.Sprintf(format, args...)))
	}
	if c.Server == "" {
		bad("server", "missing (the Tableau server URL, e.g. https://tableau.example.com)")
	} else if u, err := url.Parse(c.Server); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		bad("server", "%q is not an http(s) URL", c.Server)
	} else if u.User != nil {
		bad("server", "must not carry credentials")
	}
	if len(c.Sites) == 0 && !c.AllSites {
		c.Sites = []string{""}
	}
	if c.AllSites && len(c.Sites) > 0 {
		bad("all_sites", "give either sites or all_sites, not both")
	}
	dir := filepath.Dir(c.file)
	abs := func(p string) string {
		if p == "" || filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(dir, p)
	}
	envSet := func(key, name string) {
		if name != "" && getenv(name) == "" {
			bad(key, "environment variable %s is not set", name)
		}
	}
	fileReadable := func(key, p string) {
		if p == "" {
			return
		}
		if _, err := os.Stat(p); err != nil {
			bad(key, "%v", err)
		}
	}
	a := &c.Auth
	a.PATSecretFile, a.JWTFile, a.PasswordFile = abs(a.PATSecretFile), abs(a.JWTFile), abs(a.PasswordFile)
	switch a.Method {
	case "", "pat":
		a.Method = "pat"
		if a.PATName == "" && a.PATNameEnv == "" {
			a.PATNameEnv = "TABLEAU_PAT_NAME"
		}
		if a.PATSecretEnv == "" && a.PATSecretFile == "" {
			a.PATSecretEnv = "TABLEAU_PAT_SECRET"
		}
		envSet("auth.pat_name_env", a.PATNameEnv)
		envSet("auth.pat_secret_env", a.PATSecretEnv)
		fileReadable("auth.pat_secret_file", a.PATSecretFile)
	case "jwt":
		if a.JWTFile == "" && a.JWTEnv == "" {
			bad("auth", "method jwt needs jwt_file or jwt_env")
		}
		envSet("auth.jwt_env", a.JWTEnv)
		fileReadable("auth.jwt_file", a.JWTFile)
	case "password":
		if a.Username == "" {
			bad("auth.username", "missing (method password)")
		}
		if a.PasswordEnv == "" && a.PasswordFile == "" {
			a.PasswordEnv = "TABLEAU_PASSWORD"
		}
		envSet("auth.password_env", a.PasswordEnv)
		fileReadable("auth.password_file", a.PasswordFile)
	default:
		bad("auth.method", "%q: want pat, jwt or password", a.Method)
	}
	c.TLS.CACert = abs(c.TLS.CACert)
	fileReadable("tls.ca_cert", c.TLS.CACert)
	if c.Output == "" {
		c.Output = "tabaudit-out"
	}
	c.Output = abs(c.Output)
	if err := checkWritable(c.Output); err != nil {
		bad("output", "%v", err)
	}
	if c.Matrix != "" {
		c.Matrix = abs(c.Matrix)
		fileReadable("matrix", c.Matrix)
	}
	if c.FailOn == "" {
		c.FailOn = "high"
	}
	if !slices.Contains(severities, c.FailOn) {
		bad("fail_on", "%q: want one of %s", c.FailOn, strings.Join(severities, ", "))
	}
	if len(c.Formats) == 0 {
		c.Formats = []string{"xlsx", "md"}
	}
	for _, f := range c.Formats {
		if !slices.Contains([]string{"xlsx", "csv", "json", "md"}, f) {
			bad("formats", "%q: want xlsx, csv, json or md", f)
		}
	}
	if c.Concurrency < 0 || c.ParallelSites < 0 || c.Retention.KeepSnapshots < 0 {
		bad("concurrency/parallel_sites/retention", "must not be negative")
	}
	if c.ParallelSites == 0 {
		c.ParallelSites = 2
	}
	if len(errs) > 0 {
		return errors.New(strings.Join(errs, "\n"))
	}
	return nil
}

// severities in increasing order; --fail-on takes one of them or "none".
var severities = []string{"info", "low", "medium", "high", "critical", "none"}

// checkWritable creates dir if needed and proves a file can be written there.
func checkWritable(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".tabaudit-write-check-*")
	if err != nil {
		return fmt.Errorf("%s is not writable: %w", dir, err)
	}
	name := f.Name()
	f.Close()
	return os.Remove(name)
}
