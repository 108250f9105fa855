/**
 * The SQLite DDL of the registry (see ../registry-schema.ts for the layout and version).
 * Run in one transaction when a registry file is created; every statement is idempotent.
 */

/**
 * The edge tables' secondary indexes (lineage by dataset id, and the producer check of
 * collect-and-transfer). A large bulk load into small edge tables builds them after the
 * rows are in, inside its own transaction (see edge-indexes.ts).
 */
export const EDGE_INDEXES = [
  { name: 'quantum_inputs_by_dataset', create: 'CREATE INDEX IF NOT EXISTS quantum_inputs_by_dataset ON quantum_inputs (dataset_id, actual)' },
  { name: 'quantum_outputs_by_dataset', create: 'CREATE INDEX IF NOT EXISTS quantum_outputs_by_dataset ON quantum_outputs (dataset_id, actual)' },
] as const;

export const REGISTRY_DDL = `
CREATE TABLE IF NOT EXISTS registry_meta (
  key   TEXT NOT NULL PRIMARY KEY,
  value TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS runs (
  name TEXT NOT NULL PRIMARY KEY
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS dataset_types (
  name                 TEXT NOT NULL PRIMARY KEY,
  storage_class        TEXT NOT NULL,
  dimensions           TEXT NOT NULL,          -- JSON array, sorted
  parent_storage_class TEXT,
  is_calibration       INTEGER NOT NULL DEFAULT 0 CHECK (is_calibration IN (0, 1))
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS datasets (
  id           TEXT NOT NULL PRIMARY KEY,
  dataset_type TEXT NOT NULL REFERENCES dataset_types (name),
  run          TEXT NOT NULL REFERENCES runs (name),
  data_id_key  TEXT NOT NULL,
  data_id      TEXT NOT NULL,                  -- JSON object
  UNIQUE (dataset_type, run, data_id_key)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS datastore_records (
  dataset_id     TEXT NOT NULL REFERENCES datasets (id),
  datastore_name TEXT NOT NULL,
  table_name     TEXT NOT NULL DEFAULT 'file_datastore_records',
  path           TEXT NOT NULL,
  formatter      TEXT NOT NULL,
  storage_class  TEXT NOT NULL,
  component      TEXT NOT NULL DEFAULT '__NULL_STRING__',
  checksum       TEXT,
  file_size      INTEGER NOT NULL DEFAULT -1,
  extra          TEXT,                         -- JSON object of any further record fields
  PRIMARY KEY (dataset_id, datastore_name, component)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS quanta (
  id         TEXT NOT NULL PRIMARY KEY,
  task_name  TEXT,
  data_id    TEXT,                           -- JSON object or NULL
  host       TEXT,
  started_at TEXT,
  ended_at   TEXT,
  format     TEXT NOT NULL CHECK (format IN ('native', 'daf_butler')),
  provenance TEXT NOT NULL                   -- the document as given (JSON)
);

CREATE TABLE IF NOT EXISTS quantum_inputs (
  quantum_id   TEXT NOT NULL REFERENCES quanta (id),
  dataset_id   TEXT NOT NULL,
  dataset_type TEXT,
  run          TEXT,
  data_id      TEXT,
  init_input   INTEGER NOT NULL DEFAULT 0 CHECK (init_input IN (0, 1)),
  predicted    INTEGER NOT NULL CHECK (predicted IN (0, 1)),
  available    INTEGER NOT NULL CHECK (available IN (0, 1)),
  actual       INTEGER NOT NULL CHECK (actual IN (0, 1)),
  PRIMARY KEY (quantum_id, dataset_id)
) WITHOUT ROWID;
${EDGE_INDEXES[0].create};

CREATE TABLE IF NOT EXISTS quantum_outputs (
  quantum_id TEXT NOT NULL REFERENCES quanta (id),
  dataset_id TEXT NOT NULL,
  predicted  INTEGER NOT NULL CHECK (predicted IN (0, 1)),
  actual     INTEGER NOT NULL CHECK (actual IN (0, 1)),
  PRIMARY KEY (quantum_id, dataset_id)
) WITHOUT ROWID;
${EDGE_INDEXES[1].create};
`;

