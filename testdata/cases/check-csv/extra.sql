-- The lineage part of the demo, as model/lineage would derive it: content
-- whose data comes from hr.salaries.
CREATE TABLE content_upstream_tables(content_type VARCHAR, content_luid VARCHAR, precision VARCHAR, table_id VARCHAR,
  table_luid VARCHAR, database_name VARCHAR, schema_name VARCHAR, table_name VARCHAR, table_obfuscated BOOLEAN,
  column_name VARCHAR, path VARCHAR, via_published_datasource VARCHAR);
INSERT INTO content_upstream_tables (content_type, content_luid, precision, database_name, schema_name, table_name) VALUES
  ('datasource', '{{datasource:ds-salaries}}', 'datasource', 'hrdb', 'hr', 'salaries'),
  ('workbook', '{{workbook:wb-salary}}', 'datasource', 'hrdb', 'hr', 'salaries'),
  ('view', '{{view:v-salary}}', 'datasource', 'hrdb', 'hr', 'salaries'),
  ('workbook', '{{workbook:wb-pipeline}}', 'datasource', 'hrdb', 'hr', 'salaries'),
  ('view', '{{view:v-headcount}}', 'datasource', 'hrdb', 'hr', 'salaries'),
  ('workbook', '{{workbook:wb-pipeline}}', 'datasource', 'crm', 'crm', 'opportunities');
