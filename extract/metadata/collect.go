package metadata

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tabaudit/tabaudit/extract/snapshot"
)

// Node kinds, as in the lineage_nodes.kind column.
const (
	kindDatabase  = "database"
	kindTable     = "table"
	kindColumn    = "column"
	kindCustomSQL = "custom_sql"
	kindPublished = "published_datasource"
	kindEmbedded  = "embedded_datasource"
	kindVC        = "virtual_connection"
	kindVCTable   = "virtual_connection_table"
	kindWorkbook  = "workbook"
	kindSheet     = "sheet"
	kindDashboard = "dashboard"
	kindFlow      = "flow"
)

// restType maps a node kind to the REST content type its luid names.
var restType = map[string]string{
	kindWorkbook:  "workbook",
	kindSheet:     "view",
	kindDashboard: "view",
	kindPublished: "datasource",
	kindFlow:      "flow",
	kindVC:        "virtualconnection",
	kindDatabase:  "database",
	kindTable:     "table",
}

// node is one lineage_nodes row being assembled from several operations;
// nil fields are unknown (null), and a later sighting fills them in.
type node struct {
	id, kind                                             string
	luid                                                 *string
	name, databaseName, schema, fullName, connectionType *string
	projectLUID, workbookLUID, path, query               *string
	obfuscated                                           bool
	listed                                               bool // tables: returned by databaseTablesConnection
	extras                                               map[string]any
}

func (n *node) set(dst **string, v *string) {
	if v != nil {
		*dst = v
	}
}

// extra keeps an attribute tabaudit does not model, in extra_json; nil
// pointers are skipped so that a later sighting cannot erase a value.
func (n *node) extra(k string, v any) {
	rv := reflect.ValueOf(v)
	if v == nil || rv.Kind() == reflect.Pointer && rv.IsNil() {
		return
	}
	if rv.Kind() == reflect.Pointer {
		v = rv.Elem().Interface()
	}
	if n.extras == nil {
		n.extras = map[string]any{}
	}
	n.extras[k] = v
}

type edgeKey struct{ from, to, relation string }

// luidEdge is an edge one end of which the Metadata API named only by luid
// (e.g. parentPublishedDatasources { luid }); it is resolved to the node id
// once every walk has finished.
type luidEdge struct {
	luid, kind string
	other      string
	toLUID     bool // the luid is the edge's downstream end
	relation   string
}

// collector accumulates nodes and edges from concurrent walks.
type collector struct {
	mu        sync.Mutex
	nodes     map[string]*node
	edges     map[edgeKey]struct{}
	luidEdges []luidEdge
	conflicts []string
}

func newCollector() *collector {
	return &collector{nodes: map[string]*node{}, edges: map[edgeKey]struct{}{}}
}

// node returns the node with the id, creating it. The caller holds mu.
func (c *collector) node(id, kind string) *node {
	n := c.nodes[id]
	if n == nil {
		n = &node{id: id, kind: kind}
		c.nodes[id] = n
	} else if n.kind != kind {
		c.conflicts = append(c.conflicts, fmt.Sprintf("id %s returned as both %s and %s", id, n.kind, kind))
	}
	return n
}

func (c *collector) edge(from, to, relation string) {
	c.edges[edgeKey{from, to, relation}] = struct{}{}
}

func (c *collector) edgeFromLUID(luid, kind, to, relation string) {
	c.luidEdges = append(c.luidEdges, luidEdge{luid: luid, kind: kind, other: to, relation: relation})
}

func (c *collector) edgeToLUID(from, luid, kind, relation string) {
	c.luidEdges = append(c.luidEdges, luidEdge{luid: luid, kind: kind, other: from, toLUID: true, relation: relation})
}

// resolve turns luid-named edge ends into node ids; it returns the luids
// that name no node the walks returned.
func (c *collector) resolve() map[string][]string {
	byLUID := map[string]string{}
	for _, n := range c.nodes {
		if n.luid != nil && *n.luid != "" {
			byLUID[n.kind+"\x00"+*n.luid] = n.id
		}
	}
	missing := map[string][]string{}
	for _, e := range c.luidEdges {
		id, ok := byLUID[e.kind+"\x00"+e.luid]
		if !ok {
			if !slices.Contains(missing[e.kind], e.luid) {
				missing[e.kind] = append(missing[e.kind], e.luid)
			}
			continue
		}
		if e.toLUID {
			c.edge(e.other, id, e.relation)
		} else {
			c.edge(id, e.other, e.relation)
		}
	}
	return missing
}

// countNodes counts the objects in a decoded page at any depth, the way the
// Metadata API counts them against its node limit: every struct is an
// object (time.Time aside), scalars are free.
func countNodes(v any) int {
	return countValue(reflect.ValueOf(v))
}

var timeType = reflect.TypeFor[time.Time]()

func countValue(v reflect.Value) int {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return 0
		}
		return countValue(v.Elem())
	case reflect.Slice:
		n := 0
		for i := 0; i < v.Len(); i++ {
			n += countValue(v.Index(i))
		}
		return n
	case reflect.Struct:
		if v.Type() == timeType {
			return 0
		}
		n := 1
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				n += countValue(v.Field(i))
			}
		}
		return n
	}
	return 0
}

// rows returns the lineage_nodes and lineage_edges rows in catalogue column
// order, sorted for reproducible snapshots.
func (c *collector) rows() (nodes, edges [][]any, err error) {
	nt, ok := snapshot.Lookup("lineage_nodes")
	if !ok {
		return nil, nil, fmt.Errorf("snapshot catalogue has no lineage_nodes table")
	}
	et, ok := snapshot.Lookup("lineage_edges")
	if !ok {
		return nil, nil, fmt.Errorf("snapshot catalogue has no lineage_edges table")
	}
	ids := make([]string, 0, len(c.nodes))
	for id := range c.nodes {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, func(a, b string) int {
		na, nb := c.nodes[a], c.nodes[b]
		if x := strings.Compare(na.kind, nb.kind); x != 0 {
			return x
		}
		return strings.Compare(a, b)
	})
	for _, id := range ids {
		n := c.nodes[id]
		var luid any
		if n.luid != nil && *n.luid != "" {
			luid = *n.luid
		}
		var extra any
		if len(n.extras) > 0 {
			b, err := json.Marshal(n.extras)
			if err != nil {
				return nil, nil, fmt.Errorf("encoding extra attributes of %s %s: %w", n.kind, n.id, err)
			}
			extra = string(b)
		}
		vals := map[string]any{
			"id": n.id, "luid": luid, "kind": n.kind, "name": str(n.name),
			"database_name": str(n.databaseName), "schema": str(n.schema), "full_name": str(n.fullName),
			"connection_type": str(n.connectionType), "project_luid": str(n.projectLUID),
			"workbook_luid": str(n.workbookLUID), "path": str(n.path), "query": str(n.query),
			"obfuscated": n.obfuscated, "extra_json": extra,
		}
		row := make([]any, len(nt.Columns))
		for i, col := range nt.Columns {
			v, ok := vals[col.Name]
			if !ok {
				return nil, nil, fmt.Errorf("lineage_nodes column %q is not filled by the metadata extractor", col.Name)
			}
			row[i] = v
		}
		nodes = append(nodes, row)
	}
	keys := make([]edgeKey, 0, len(c.edges))
	for k := range c.edges {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b edgeKey) int {
		return strings.Compare(a.from+"\x00"+a.to+"\x00"+a.relation, b.from+"\x00"+b.to+"\x00"+b.relation)
	})
	for _, k := range keys {
		vals := map[string]any{"from_id": k.from, "to_id": k.to, "relation": k.relation}
		row := make([]any, len(et.Columns))
		for i, col := range et.Columns {
			v, ok := vals[col.Name]
			if !ok {
				return nil, nil, fmt.Errorf("lineage_edges column %q is not filled by the metadata extractor", col.Name)
			}
			row[i] = v
		}
		edges = append(edges, row)
	}
	return nodes, edges, nil
}

// str is a nullable string column value: nil for null, else the string.
func str(p *string) any {
	if p == nil {
		return nil
	}
	return *p
}
