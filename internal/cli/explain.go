package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/tabaudit/tabaudit/internal/caps"
	"github.com/tabaudit/tabaudit/model/eval"
)

type explainOptions struct {
	DB         string
	User       string
	Item       string
	Capability string
	Type       string
	Basis      string
}

func newCmdExplain(f *Factory) *cobra.Command {
	opts := &explainOptions{}
	cmd := &cobra.Command{
		Use:   "explain --user USER --item ITEM [--capability CAP]",
		Short: "Explain why a user can or cannot do something to an item",
		Long: `Evaluate one user against one item with the reference evaluator (model/eval, a direct
transcription of the spec's algorithm) on the snapshot in the model database, and print the
decision with the chain of facts behind it: the site role and its ceiling cell, the project
chain with modes and locks, which rule list governs the item and why, owners and leaders, the
user, group and group-set rules that matched, and the lock guard.

USER is a LUID, a sign-in name or an email. ITEM is a LUID, a name, or a path
"Project/Sub/Name" (views: "Project/Workbook/View"); --type narrows it. Without --capability,
every capability of the item's type is listed in one table.`,
		Example: `  tabaudit explain --db audit.duckdb --user ana@example.com --item "Finance/Quarterly" --capability Read
  tabaudit explain --user ana --item Quarterly --type workbook
  tabaudit explain --user zed --item Finance --type project --basis projected`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.User == "" || opts.Item == "" {
				return usageError(errors.New("give --user and --item"))
			}
			if opts.Basis != string(eval.Current) && opts.Basis != string(eval.Projected) {
				return usageError(fmt.Errorf("--basis %q: want current or projected", opts.Basis))
			}
			if opts.Type != "" && !slices.Contains(caps.ContentTypes, opts.Type) {
				return usageError(fmt.Errorf("--type %q: want one of %s", opts.Type, strings.Join(caps.ContentTypes, ", ")))
			}
			return explainRun(cmd.Context(), f, opts)
		},
	}
	cmd.Flags().StringVar(&opts.DB, "db", "audit.duckdb", "model database built by `tabaudit model`")
	cmd.Flags().StringVar(&opts.User, "user", "", "user: LUID, sign-in name or email")
	cmd.Flags().StringVar(&opts.Item, "item", "", "item or project: LUID, name or path")
	cmd.Flags().StringVar(&opts.Capability, "capability", "", "one capability (REST name, e.g. Read, ExportData); default: all of the type")
	cmd.Flags().StringVar(&opts.Type, "type", "", "content type of the item: "+strings.Join(caps.ContentTypes, ", "))
	cmd.Flags().StringVar(&opts.Basis, "basis", string(eval.Current), "site-role basis: current, or projected (after grant-license-on-sign-in)")
	return cmd
}

func explainRun(ctx context.Context, f *Factory, opts *explainOptions) error {
	db, err := openModelReadOnly(ctx, opts.DB)
	if err != nil {
		return err
	}
	defer db.Close()
	facts, err := eval.LoadFacts(ctx, db)
	if err != nil {
		return fmt.Errorf("reading the snapshot in %s: %w", opts.DB, err)
	}
	u, err := findUser(facts, opts.User)
	if err != nil {
		return usageError(err)
	}
	k, err := findItem(facts, opts.Item, opts.Type)
	if err != nil {
		return usageError(err)
	}
	basis := eval.Basis(opts.Basis)
	var ds []eval.Decision
	if opts.Capability != "" {
		ds = append(ds, eval.Decide(facts, u.ID, k.Type, k.ID, opts.Capability, basis))
	} else {
		for _, c := range append(slices.Clone(caps.For(k.Type)), facts.ObservedUnknown(k.Type)...) {
			ds = append(ds, eval.Decide(facts, u.ID, k.Type, k.ID, c, basis))
		}
	}
	return renderExplain(f.IO.Out, facts, u, k, basis, ds, opts.Capability != "")
}

// findUser resolves a user by LUID, sign-in name or email (exact first,
// then case-insensitive); several matches are an input error naming them.
func findUser(f *eval.Facts, q string) (*eval.User, error) {
	if u := f.Users[q]; u != nil {
		return u, nil
	}
	// Emails compare case-insensitively; names exactly first, then folded.
	passes := []func(*eval.User) bool{
		func(u *eval.User) bool { return u.Name == q || (u.Email != "" && strings.EqualFold(u.Email, q)) },
		func(u *eval.User) bool { return strings.EqualFold(u.Name, q) },
	}
	for _, match := range passes {
		var hits []*eval.User
		for _, id := range f.UserIDs {
			if u := f.Users[id]; match(u) {
				hits = append(hits, u)
			}
		}
		switch len(hits) {
		case 0:
			continue
		case 1:
			return hits[0], nil
		}
		var names []string
		for _, u := range hits {
			names = append(names, fmt.Sprintf("%s <%s> %s", u.Name, u.Email, u.ID))
		}
		return nil, fmt.Errorf("user %q matches %d users; give a LUID:\n  %s", q, len(hits), strings.Join(names, "\n  "))
	}
	return nil, fmt.Errorf("no user %q (give a LUID, sign-in name or email)", q)
}

// findItem resolves an item or project by LUID, then by exact path, then by
// name (exact, then case-insensitive), optionally restricted to one type.
func findItem(f *eval.Facts, q, typ string) (eval.Key, error) {
	var all []eval.Key
	for _, id := range f.ProjectIDs {
		all = append(all, eval.Key{Type: caps.Project, ID: id})
	}
	all = append(all, f.ItemKeys...)
	if typ != "" {
		all = slices.DeleteFunc(all, func(k eval.Key) bool { return k.Type != typ })
	}
	tests := []func(eval.Key) bool{
		func(k eval.Key) bool { return k.ID == q },
		func(k eval.Key) bool { return f.ItemPath(k) == q },
		func(k eval.Key) bool { return f.Name(k.Type, k.ID) == q },
		func(k eval.Key) bool {
			return strings.EqualFold(f.ItemPath(k), q) || strings.EqualFold(f.Name(k.Type, k.ID), q)
		},
	}
	for _, test := range tests {
		var hits []eval.Key
		for _, k := range all {
			if test(k) {
				hits = append(hits, k)
			}
		}
		switch len(hits) {
		case 0:
			continue
		case 1:
			return hits[0], nil
		}
		var lines []string
		for _, k := range hits {
			lines = append(lines, fmt.Sprintf("%-17s %s  %s", k.Type, f.ItemPath(k), k.ID))
		}
		return eval.Key{}, fmt.Errorf("item %q matches %d objects; give a LUID, a path or --type:\n  %s", q, len(hits), strings.Join(lines, "\n  "))
	}
	what := "item or project"
	if typ != "" {
		what = typ
	}
	return eval.Key{}, fmt.Errorf("no %s %q (give a LUID, a name or a path such as Project/Sub/Name)", what, q)
}

// describeRule turns a DecidingRule into words with names:
// "group "Sales" Allow, on project "Finance" (default workbook rules)".
func describeRule(f *eval.Facts, rule string) string {
	if rule == "" {
		return "none (no rule or position decided)"
	}
	if pos, ok := strings.CutPrefix(rule, "position:"); ok {
		kind, id, _ := strings.Cut(pos, ":")
		switch kind {
		case "project_owner":
			return fmt.Sprintf("owner of project %q", f.ItemPath(eval.Key{Type: caps.Project, ID: id}))
		case "project_leader":
			return fmt.Sprintf("project leader of %q", f.ItemPath(eval.Key{Type: caps.Project, ID: id}))
		case "content_owner":
			return "content owner"
		case "admin":
			return "site administrator"
		case "personal_space":
			return "Personal Space (owner and administrators only)"
		}
		return rule
	}
	if role, ok := strings.CutPrefix(rule, "ceiling:"); ok {
		return fmt.Sprintf("site-role ceiling of %s", role)
	}
	parts := strings.Fields(rule)
	if len(parts) != 3 {
		return rule
	}
	obj, set, _ := strings.Cut(parts[0], "/")
	otype, oid, _ := strings.Cut(obj, ":")
	gkind, gid, _ := strings.Cut(parts[1], ":")
	where := "own rules"
	if t, ok := strings.CutPrefix(set, "default:"); ok {
		where = "default " + t + " rules"
	}
	return fmt.Sprintf("%s %q %s, on %s %q (%s)", gkind, f.Name(gkind, gid), parts[2], otype, f.ItemPath(eval.Key{Type: otype, ID: oid}), where)
}

// renderExplain prints the decisions: a header, then the full chain of each
// decision when full, else one table row per capability and the facts they
// share.
func renderExplain(w io.Writer, f *eval.Facts, u *eval.User, k eval.Key, basis eval.Basis, ds []eval.Decision, full bool) error {
	var b strings.Builder
	role := u.Role(basis)
	fmt.Fprintf(&b, "User:   %s", u.Name)
	if u.Email != "" {
		fmt.Fprintf(&b, " <%s>", u.Email)
	}
	fmt.Fprintf(&b, "  %s\n", u.ID)
	fmt.Fprintf(&b, "        site role %s", u.SiteRole)
	if basis == eval.Projected {
		fmt.Fprintf(&b, ", projected %s (from %s)", role.Row.TreatedAs, f.SourceLabel(role.Source))
	} else if role.Row.TreatedAs != u.SiteRole {
		fmt.Fprintf(&b, " (treated as %s)", role.Row.TreatedAs)
	}
	fmt.Fprintf(&b, "; groups: %s\n", groupNames(f, u))
	fmt.Fprintf(&b, "Item:   %s %q  %s\n", k.Type, f.ItemPath(k), k.ID)
	fmt.Fprintf(&b, "Basis:  %s    engine %s, spec v%s, ceiling %s\n\n", basis, eval.EngineVersion, eval.SpecVersion, eval.CeilingVersion)
	if full {
		for _, d := range ds {
			writeDecision(&b, f, d)
		}
	} else {
		tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "CAPABILITY\tRESULT\tREASON\tCONF\tFLAGS\tDECIDED BY")
		for _, d := range ds {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", d.Capability, d.Result, d.Reason, d.Confidence, strings.Join(d.Flags, ","), describeRule(f, d.DecidingRule))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		if len(ds) > 0 {
			b.WriteString("\nShared facts:\n")
			for _, s := range ds[0].Chain {
				if s.Stage == "role" || s.Stage == "project" || s.Stage == "acl" {
					fmt.Fprintf(&b, "  %-8s %s\n", s.Stage, s.Text)
				}
			}
			b.WriteString("\nGive --capability for the full chain of one decision.\n")
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func writeDecision(b *strings.Builder, f *eval.Facts, d eval.Decision) {
	fmt.Fprintf(b, "%s: %s (%s), confidence %s\n", d.Capability, strings.ToUpper(string(d.Result)), d.Reason, d.Confidence)
	fmt.Fprintf(b, "  decided by: %s\n", describeRule(f, d.DecidingRule))
	if d.DecidingRule != "" {
		fmt.Fprintf(b, "              %s\n", d.DecidingRule)
	}
	if len(d.Flags) > 0 {
		fmt.Fprintf(b, "  flags:      %s\n", strings.Join(d.Flags, ", "))
	}
	b.WriteString("  chain:\n")
	for i, s := range d.Chain {
		line := fmt.Sprintf("  %2d. %-14s %s", i+1, s.Stage, s.Text)
		var tail []string
		if s.Outcome != "" {
			tail = append(tail, s.Outcome)
		}
		if s.Confidence != 0 {
			tail = append(tail, "["+s.Confidence.String()+"]")
		}
		if len(tail) > 0 {
			line += "  → " + strings.Join(tail, " ")
		}
		b.WriteString(line + "\n")
	}
	b.WriteString("\n")
}

func groupNames(f *eval.Facts, u *eval.User) string {
	var names []string
	for _, g := range u.Groups {
		names = append(names, f.Name("group", g))
	}
	slices.Sort(names)
	if len(u.GroupSets) > 0 {
		var sets []string
		for _, s := range u.GroupSets {
			sets = append(sets, f.Name("groupset", s))
		}
		slices.Sort(sets)
		return strings.Join(names, ", ") + "; group sets: " + strings.Join(sets, ", ")
	}
	return strings.Join(names, ", ")
}
