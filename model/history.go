package model

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/tabaudit/tabaudit/extract/snapshot"
)

// HistoryInfo describes what LoadHistory loaded.
type HistoryInfo struct {
	Root string
	// Snapshots are every snapshot found, oldest first per site.
	Snapshots []HistorySnapshot
	// Current is the snapshot loaded as the current model.
	Current SnapshotInfo
	// Tables lists the history_<table> tables created, with their rows.
	Tables map[string]int64
}

// HistorySnapshot is one snapshot folder under the root.
type HistorySnapshot struct {
	Site, Snapshot, Dir string
	Complete            bool
}

// LoadHistory attaches every snapshot under root (the Hive layout
// site=<site>/snapshot=<time>/) for history and loads the latest snapshot
// of one site as the current model. Every catalogue table becomes
// history_<table> with site and snapshot columns, read with one
// read_parquet over site=*/snapshot=*/<table>.parquet. site selects the site
// when root holds several ("" is allowed when it holds one): the current
// model is one site's, because All Users and every LUID are per site.
func (d *DB) LoadHistory(ctx context.Context, root, site string, opts LoadOptions) (HistoryInfo, error) {
	hi := HistoryInfo{Root: root, Tables: map[string]int64{}}
	manifests, err := filepath.Glob(filepath.Join(root, "site=*", "snapshot=*", snapshot.ManifestFile))
	if err != nil {
		return hi, fmt.Errorf("listing snapshots under %s: %w", root, err)
	}
	if len(manifests) == 0 {
		return hi, fmt.Errorf("no snapshots under %s (want site=*/snapshot=*/manifest.json)", root)
	}
	slices.Sort(manifests)
	sites := map[string][]HistorySnapshot{}
	var siteNames []string
	for _, m := range manifests {
		dir := filepath.Dir(m)
		man, err := ReadManifest(dir)
		if err != nil {
			return hi, err
		}
		s := strings.TrimPrefix(filepath.Base(filepath.Dir(dir)), "site=")
		hs := HistorySnapshot{Site: s, Snapshot: strings.TrimPrefix(filepath.Base(dir), "snapshot="), Dir: dir, Complete: man.Complete}
		if _, ok := sites[s]; !ok {
			siteNames = append(siteNames, s)
		}
		sites[s] = append(sites[s], hs)
		hi.Snapshots = append(hi.Snapshots, hs)
	}
	if site == "" {
		if len(siteNames) > 1 {
			return hi, fmt.Errorf("%s holds snapshots of %d sites (%s): choose the current one with --site", root, len(siteNames), strings.Join(siteNames, ", "))
		}
		site = siteNames[0]
	}
	list, ok := sites[site]
	if !ok {
		return hi, fmt.Errorf("no snapshots of site %q under %s (sites: %s)", site, root, strings.Join(siteNames, ", "))
	}
	latest := list[len(list)-1]
	cur, err := d.LoadSnapshot(ctx, latest.Dir, opts)
	hi.Current = cur
	if err != nil {
		return hi, err
	}
	for _, hs := range hi.Snapshots {
		if hs.Dir == latest.Dir {
			continue
		}
		man, err := ReadManifest(hs.Dir)
		if err != nil {
			return hi, err
		}
		if err := d.RecordSnapshot(ctx, man, hs.Dir, false, fileExists(filepath.Join(hs.Dir, "lineage_nodes.parquet")), false); err != nil {
			return hi, err
		}
	}
	for _, t := range snapshot.Tables {
		glob := filepath.Join(root, "site=*", "snapshot=*", t.File())
		files, err := filepath.Glob(glob)
		if err != nil {
			return hi, fmt.Errorf("listing %s: %w", glob, err)
		}
		name := "history_" + t.Name
		if len(files) == 0 {
			if _, err := d.db.ExecContext(ctx, "DROP TABLE IF EXISTS "+quoteIdent(name)); err != nil {
				return hi, fmt.Errorf("dropping %s: %w", name, err)
			}
			continue
		}
		q := fmt.Sprintf(`CREATE OR REPLACE TABLE %s AS SELECT * FROM read_parquet(%s, hive_partitioning = true, union_by_name = true)`,
			quoteIdent(name), quoteLiteral(glob))
		if _, err := d.db.ExecContext(ctx, q); err != nil {
			return hi, fmt.Errorf("loading history of %s: %w", t.Name, err)
		}
		var n int64
		if err := d.db.QueryRowContext(ctx, "SELECT count(*) FROM "+quoteIdent(name)).Scan(&n); err != nil {
			return hi, fmt.Errorf("counting %s: %w", name, err)
		}
		hi.Tables[name] = n
	}
	return hi, nil
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return !errors.Is(err, os.ErrNotExist)
}
