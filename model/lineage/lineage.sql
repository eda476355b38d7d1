-- Lineage closure: which database tables (and columns) feed each piece of
-- content, at two precisions.
--
--   fields      what a sheet's fields actually use (table>sheet, column>sheet
--               edges), then up to the dashboards that contain the sheet and
--               the workbook that holds both;
--   datasource  everything in the data sources behind the content, used or not
--               (table > custom SQL > published > embedded datasource > sheet).
--
-- Both follow Prep flows upstream (a table a flow writes carries the data of
-- the tables it reads). Hidden sheets have no REST id: they are never content
-- themselves and count only through their dashboards.

CREATE OR REPLACE TABLE lineage_edge_kinds AS
SELECT e.from_id, e.to_id, e.relation,
       CASE
         WHEN e.relation IN ('workbook>sheet', 'workbook>dashboard', 'workbook>embedded_datasource', 'table>column',
                             'database>table', 'database>custom_sql',
                             'virtual_connection>virtual_connection_table') THEN 'containment'
         WHEN e.relation IN ('table>sheet', 'column>sheet') THEN 'field'
         WHEN e.relation IN ('sheet>dashboard') THEN 'both'
         WHEN e.relation IN ('table>flow', 'flow>table') THEN 'both'
         ELSE 'datasource'
       END AS edge_kind
FROM lineage_edges e;

-- Column nodes start walks too (field precision), carrying their table.
CREATE OR REPLACE TABLE lineage_reach AS
WITH RECURSIVE
starts AS (
    SELECT t.id AS table_id, t.id AS node_id, NULL::VARCHAR AS column_name
    FROM lineage_nodes t WHERE t.kind = 'table'
    UNION ALL
    SELECT e.from_id, c.id, c.name
    FROM lineage_nodes c
    JOIN lineage_edges e ON e.to_id = c.id AND e.relation = 'table>column'
    WHERE c.kind = 'column'
),
reach(precision, table_id, column_name, node_id, path, published_ds, depth) USING KEY (precision, table_id, column_name, node_id) AS (
    SELECT p.precision, s.table_id, s.column_name, s.node_id,
           coalesce(n.name, '(withheld)'), NULL::VARCHAR, 0
    FROM starts s
    JOIN lineage_nodes n ON n.id = s.node_id
    CROSS JOIN (VALUES ('fields'), ('datasource')) p(precision)
    WHERE p.precision = 'fields' OR s.column_name IS NULL
    UNION
    SELECT r.precision, r.table_id, r.column_name, e.to_id,
           r.path || ' > ' || n.kind || ':' || coalesce(nullif(n.name, ''), n.id),
           coalesce(r.published_ds, CASE WHEN n.kind = 'published_datasource' THEN n.luid END),
           r.depth + 1
    FROM reach r
    JOIN lineage_edge_kinds e ON e.from_id = r.node_id
    JOIN lineage_nodes n ON n.id = e.to_id
    WHERE r.depth < 32
      AND (e.edge_kind = 'both'
           OR (r.precision = 'fields' AND e.edge_kind = 'field')
           OR (r.precision = 'datasource' AND e.edge_kind = 'datasource'))
)
SELECT precision, table_id, column_name, node_id, path, published_ds FROM reach;

-- Map reached nodes to REST content. Views are sheets and dashboards with a
-- luid; a workbook is the union of its sheets, dashboards and (datasource
-- precision) embedded data sources; a virtual connection the union of its
-- tables.
CREATE OR REPLACE TABLE content_upstream_tables AS
WITH direct AS (
    SELECT r.precision, r.table_id, r.column_name, r.path, r.published_ds, n.kind, n.luid, n.workbook_luid, n.id AS node_id
    FROM lineage_reach r JOIN lineage_nodes n ON n.id = r.node_id
),
mapped AS (
    SELECT 'view' AS content_type, luid AS content_luid, precision, table_id, column_name, path, published_ds
    FROM direct WHERE kind IN ('sheet', 'dashboard') AND coalesce(luid, '') <> ''
    UNION ALL
    SELECT 'workbook', workbook_luid, precision, table_id, column_name, path, published_ds
    FROM direct
    WHERE coalesce(workbook_luid, '') <> ''
      AND (kind IN ('sheet', 'dashboard') OR (kind = 'embedded_datasource' AND precision = 'datasource'))
    UNION ALL
    SELECT 'workbook', luid, precision, table_id, column_name, path, published_ds
    FROM direct WHERE kind = 'workbook' AND coalesce(luid, '') <> ''
    UNION ALL
    SELECT 'datasource', luid, precision, table_id, column_name, path, published_ds
    FROM direct WHERE kind = 'published_datasource' AND coalesce(luid, '') <> ''
    UNION ALL
    SELECT 'flow', luid, precision, table_id, column_name, path, published_ds
    FROM direct WHERE kind = 'flow' AND coalesce(luid, '') <> ''
    UNION ALL
    SELECT 'virtualconnection', vc.luid, d.precision, d.table_id, d.column_name,
           d.path || ' > virtual_connection:' || coalesce(vc.name, vc.id), d.published_ds
    FROM direct d
    JOIN lineage_edges ce ON ce.to_id = d.node_id AND ce.relation = 'virtual_connection>virtual_connection_table'
    JOIN lineage_nodes vc ON vc.id = ce.from_id
    WHERE d.kind = 'virtual_connection_table' AND coalesce(vc.luid, '') <> ''
)
SELECT m.content_type, m.content_luid, m.precision,
       m.table_id, t.luid AS table_luid,
       coalesce(t.database_name, db.name) AS database_name,
       t.schema AS schema_name, t.name AS table_name, t.obfuscated AS table_obfuscated,
       m.column_name,
       min(m.path) AS path,
       min(m.published_ds) AS via_published_datasource
FROM mapped m
JOIN lineage_nodes t ON t.id = m.table_id
LEFT JOIN lineage_edges de ON de.to_id = t.id AND de.relation = 'database>table'
LEFT JOIN lineage_nodes db ON db.id = de.from_id
GROUP BY ALL;

-- A field-precise path skips the data source layer; the published source the
-- same content reaches the table through is the one on its data-source path.
UPDATE content_upstream_tables c
SET via_published_datasource = d.v
FROM (SELECT content_type, content_luid, table_id, min(via_published_datasource) AS v
      FROM content_upstream_tables WHERE precision = 'datasource' GROUP BY ALL) d
WHERE c.precision = 'fields' AND c.via_published_datasource IS NULL
  AND d.content_type = c.content_type AND d.content_luid = c.content_luid AND d.table_id = c.table_id;

-- Capabilities through which a user sees data of an upstream table.
CREATE OR REPLACE TABLE exposure_capabilities AS
SELECT * FROM (VALUES
    ('view', 'Read'), ('view', 'ExportData'), ('view', 'ViewUnderlyingData'),
    ('workbook', 'Read'), ('workbook', 'ExportData'), ('workbook', 'ViewUnderlyingData'),
    ('workbook', 'ExportXml'), ('workbook', 'VizqlDataApiAccess'),
    ('datasource', 'Read'), ('datasource', 'Connect'), ('datasource', 'ExportXml'),
    ('datasource', 'VizqlDataApiAccess'),
    ('flow', 'Read'), ('flow', 'ExportXml'),
    ('virtualconnection', 'Read'), ('virtualconnection', 'Connect')
) v(content_type, capability);

-- table_exposure: who can see data from which table, through which content.
-- A view built on a published data source shows its data to anyone who may
-- open the view; Tableau may additionally demand Connect on the data source
-- unless the workbook embeds credentials (spec §11, an [I] fact), so rows
-- through a published source say what the user holds on it.
CREATE OR REPLACE VIEW table_exposure AS
SELECT c.database_name, c.schema_name, c.table_name, c.column_name, c.table_id, c.table_luid,
       e.user_id, e.user_name, e.capability,
       c.content_type AS via_content_type, c.content_luid AS via_content,
       e.content_name AS via_content_name, e.project_path AS via_project_path,
       c.path AS via_path, c.precision,
       e.reason AS decision_reason, e.deciding_rule, e.confidence,
       c.via_published_datasource,
       CASE WHEN c.via_published_datasource IS NULL OR c.content_type = 'datasource' THEN NULL
            ELSE coalesce((SELECT any_value(d.decision) FROM effective_permissions d
                           WHERE d.user_id = e.user_id AND d.content_type = 'datasource'
                             AND d.content_id = c.via_published_datasource AND d.capability = 'Connect'
                             AND d.basis = 'current'), 'deny') END AS datasource_connect
FROM content_upstream_tables c
JOIN exposure_capabilities k ON k.content_type = c.content_type
JOIN effective_permissions e
  ON e.content_type = c.content_type AND e.content_id = c.content_luid AND e.capability = k.capability
WHERE e.decision = 'allow' AND e.basis = 'current';
