-- Lineage closure: which database tables (and columns) feed each piece of
-- content, at two precisions.
--
--   fields      what a sheet's fields actually use (table>sheet, column>sheet
--               edges), then up to the dashboards that contain the sheet and
--               the workbook that holds both;
--   datasource  everything in the data sources behind the content, used or not
--               (table > custom SQL > published > embedded datasource > sheet).
--
-- Hidden sheets have no REST id: they are never content themselves and count
-- only through their dashboards.

-- The Metadata API's link fields already skip levels (a sheet's
-- upstreamTables, an embedded data source's upstreamTables including its
-- published parents'), so the closure is a fixed number of joins rather than
-- a recursive walk: a recursive walk keeps one row per (table, reachable
-- node) and does not fit on large sites, where one table can feed thousands
-- of workbooks. Prep flows are followed one hop (a flow's input tables), not
-- through the tables they write.

CREATE OR REPLACE TEMP VIEW l_e AS
SELECT e.from_id, e.to_id, e.relation, f.kind AS from_kind, coalesce(f.name, '(withheld)') AS from_name,
       t.kind AS to_kind, coalesce(nullif(t.name, ''), t.id) AS to_name
FROM lineage_edges e
JOIN lineage_nodes f ON f.id = e.from_id
JOIN lineage_nodes t ON t.id = e.to_id;

-- Tables feeding each data source node (embedded or published), custom SQL
-- and virtual connection table, with one path step and the published source
-- on the way.
CREATE OR REPLACE TEMP TABLE l_source_tables AS
WITH direct AS (
    -- table > source
    SELECT to_id AS source_id, from_id AS table_id, from_name || ' > ' || to_kind || ':' || to_name AS path
    FROM l_e WHERE from_kind = 'table' AND to_kind IN ('embedded_datasource', 'published_datasource', 'custom_sql', 'virtual_connection_table', 'flow')
    UNION ALL
    -- table > custom SQL > source
    SELECT b.to_id, a.from_id, a.from_name || ' > custom_sql:' || a.to_name || ' > ' || b.to_kind || ':' || b.to_name
    FROM l_e a JOIN l_e b ON b.from_id = a.to_id
    WHERE a.from_kind = 'table' AND a.to_kind = 'custom_sql' AND b.to_kind IN ('embedded_datasource', 'published_datasource', 'sheet', 'workbook')
    UNION ALL
    -- table > virtual connection table > published source
    SELECT b.to_id, a.from_id, a.from_name || ' > virtual_connection_table:' || a.to_name || ' > ' || b.to_kind || ':' || b.to_name
    FROM l_e a JOIN l_e b ON b.from_id = a.to_id
    WHERE a.from_kind = 'table' AND a.to_kind = 'virtual_connection_table' AND b.to_kind = 'published_datasource'
),
via_published AS (
    -- tables of a published source reach what it feeds (embedded sources, other published sources, flows)
    SELECT p.to_id AS source_id, d.table_id, d.path || ' > ' || p.to_kind || ':' || p.to_name AS path, p.from_id AS published_id
    FROM direct d JOIN l_e p ON p.from_id = d.source_id
    WHERE p.from_kind = 'published_datasource' AND p.to_kind IN ('embedded_datasource', 'published_datasource', 'flow')
)
SELECT d.source_id, d.table_id, min(d.path) AS path, NULL::VARCHAR AS published_id FROM direct d GROUP BY ALL
UNION ALL
SELECT source_id, table_id, min(path), min(published_id) FROM via_published GROUP BY ALL;

-- Per sheet: tables at both precisions (fields: what its fields use; datasource: its data sources).
CREATE OR REPLACE TEMP TABLE l_sheet_tables AS
SELECT 'fields' AS precision, e.to_id AS sheet_id, e.from_id AS table_id, NULL::VARCHAR AS column_name,
       e.from_name || ' > sheet:' || e.to_name AS path, NULL::VARCHAR AS published_id
FROM l_e e WHERE e.from_kind = 'table' AND e.to_kind = 'sheet'
UNION ALL
SELECT 'fields', c.to_id, tc.from_id, c.from_name, tc.from_name || '.' || c.from_name || ' > sheet:' || c.to_name, NULL
FROM l_e c JOIN l_e tc ON tc.to_id = c.from_id AND tc.relation = 'table>column'
WHERE c.from_kind = 'column' AND c.to_kind = 'sheet'
UNION ALL
SELECT 'datasource', e.to_id, st.table_id, NULL, st.path || ' > sheet:' || e.to_name, st.published_id
FROM l_e e JOIN l_source_tables st ON st.source_id = e.from_id
WHERE e.to_kind = 'sheet' AND e.from_kind IN ('embedded_datasource', 'published_datasource')
UNION ALL
SELECT 'datasource', st.source_id, st.table_id, NULL, st.path, st.published_id
FROM l_source_tables st JOIN lineage_nodes n ON n.id = st.source_id AND n.kind = 'sheet';

CREATE OR REPLACE TEMP TABLE l_content_rows AS
-- views: sheets with a luid, and dashboards through their sheets (hidden ones included)
SELECT 'view' AS content_type, n.luid AS content_luid, s.precision, s.table_id, s.column_name, s.path, s.published_id
FROM l_sheet_tables s JOIN lineage_nodes n ON n.id = s.sheet_id
WHERE coalesce(n.luid, '') <> ''
UNION ALL
SELECT 'view', d.luid, s.precision, s.table_id, s.column_name, s.path || ' > dashboard:' || coalesce(d.name, d.id), s.published_id
FROM l_sheet_tables s
JOIN lineage_edges sd ON sd.from_id = s.sheet_id AND sd.relation = 'sheet>dashboard'
JOIN lineage_nodes d ON d.id = sd.to_id
WHERE coalesce(d.luid, '') <> ''
UNION ALL
-- workbooks: their sheets, plus every table of their embedded data sources and custom SQL
SELECT 'workbook', n.workbook_luid, s.precision, s.table_id, s.column_name, s.path, s.published_id
FROM l_sheet_tables s JOIN lineage_nodes n ON n.id = s.sheet_id
WHERE coalesce(n.workbook_luid, '') <> ''
UNION ALL
SELECT 'workbook', n.workbook_luid, 'datasource', st.table_id, NULL, st.path, st.published_id
FROM l_source_tables st JOIN lineage_nodes n ON n.id = st.source_id
WHERE n.kind = 'embedded_datasource' AND coalesce(n.workbook_luid, '') <> ''
UNION ALL
SELECT 'workbook', n.luid, 'datasource', st.table_id, NULL, st.path, st.published_id
FROM l_source_tables st JOIN lineage_nodes n ON n.id = st.source_id
WHERE n.kind = 'workbook' AND coalesce(n.luid, '') <> ''
UNION ALL
-- published data sources, flows
SELECT CASE n.kind WHEN 'published_datasource' THEN 'datasource' ELSE 'flow' END, n.luid, 'datasource', st.table_id, NULL, st.path, st.published_id
FROM l_source_tables st JOIN lineage_nodes n ON n.id = st.source_id
WHERE n.kind IN ('published_datasource', 'flow') AND coalesce(n.luid, '') <> ''
UNION ALL
-- virtual connections: the tables of their virtual connection tables
SELECT 'virtualconnection', vc.luid, 'datasource', st.table_id, NULL, st.path || ' > virtual_connection:' || coalesce(vc.name, vc.id), NULL
FROM l_source_tables st
JOIN lineage_nodes v ON v.id = st.source_id AND v.kind = 'virtual_connection_table'
JOIN lineage_edges ce ON ce.to_id = v.id AND ce.relation = 'virtual_connection>virtual_connection_table'
JOIN lineage_nodes vc ON vc.id = ce.from_id
WHERE coalesce(vc.luid, '') <> '';

CREATE OR REPLACE TABLE content_upstream_tables AS
SELECT m.content_type, m.content_luid, m.precision,
       m.table_id, t.luid AS table_luid,
       coalesce(t.database_name, db.name) AS database_name,
       t.schema AS schema_name, t.name AS table_name, t.obfuscated AS table_obfuscated,
       m.column_name,
       arg_max(m.path, length(m.path) * 1000000 - ascii(m.path)) AS path,
       min(CASE WHEN m.published_id IS NOT NULL THEN p.luid END) AS via_published_datasource
FROM l_content_rows m
JOIN lineage_nodes t ON t.id = m.table_id
LEFT JOIN lineage_nodes p ON p.id = m.published_id
LEFT JOIN (SELECT DISTINCT e.to_id, n.name FROM lineage_edges e JOIN lineage_nodes n ON n.id = e.from_id
           WHERE e.relation = 'database>table') db ON db.to_id = t.id
GROUP BY ALL;

-- A field-precise path skips the data source layer; the published source the
-- same content reaches the table through is the one on its data-source path.
UPDATE content_upstream_tables c
SET via_published_datasource = d.v
FROM (SELECT content_type, content_luid, table_id, min(via_published_datasource) AS v
      FROM content_upstream_tables WHERE precision = 'datasource' GROUP BY ALL) d
WHERE c.precision = 'fields' AND c.via_published_datasource IS NULL
  AND d.content_type = c.content_type AND d.content_luid = c.content_luid AND d.table_id = c.table_id;

DROP TABLE l_content_rows;
DROP TABLE l_sheet_tables;
DROP TABLE l_source_tables;
DROP VIEW l_e;

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
