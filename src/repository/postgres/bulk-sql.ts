/**
 * The statements of the PostgreSQL bulk writer (bulk-writer.ts): the columns COPY sends,
 * the temporary staging tables, and the set-based statements that apply a staged stage
 * and find its conflicts.
 */

// Columns as COPY sends them: the quanta and edge stages have the registry tables' own
// columns (one text serves either path); dataset stages carry their order and quantum.
export const Q_COLS = ['id', 'task_name', 'data_id', 'host', 'started_at', 'ended_at', 'format', 'provenance'];
export const I_COLS = ['quantum_id', 'dataset_id', 'dataset_type', 'run', 'data_id', 'init_input', 'predicted', 'available', 'actual'];
export const O_COLS = ['quantum_id', 'dataset_id', 'predicted', 'actual'];
export const D_COLS = ['id', 'dataset_type', 'run', 'data_id_key', 'data_id'];
export const R_COLS = ['dataset_id', 'datastore_name', 'table_name', 'path', 'formatter', 'storage_class', 'component', 'checksum', 'file_size', 'extra'];
export const SD_COLS = ['ord', 'quantum_id', ...D_COLS];
export const SR_COLS = ['ord', 'rord', 'quantum_id', ...R_COLS];

/**
 * Staging tables (the slow path). No statement joins two of them; the sets of keys a
 * statement inserted (qb_*new) are indexed. With that, every statement is scans of staging
 * tables plus index look-ups into the registry's tables, which is what the planner
 * settings of the transaction (see begin) force: the registry's statistics cannot be
 * trusted while this transaction grows its tables.
 */
export const STAGING = [
  'CREATE TEMP TABLE qb_sq (ord int GENERATED ALWAYS AS IDENTITY, id text COLLATE "C" NOT NULL, task_name text COLLATE "C", data_id text COLLATE "C", host text, started_at text, ended_at text, format text NOT NULL, provenance text COLLATE "C" NOT NULL) ON COMMIT DROP',
  'CREATE TEMP TABLE qb_si (quantum_id text COLLATE "C" NOT NULL, dataset_id uuid NOT NULL, dataset_type text COLLATE "C", run text COLLATE "C", data_id text, init_input boolean NOT NULL, predicted boolean NOT NULL, available boolean NOT NULL, actual boolean NOT NULL) ON COMMIT DROP',
  'CREATE TEMP TABLE qb_so (quantum_id text COLLATE "C" NOT NULL, dataset_id uuid NOT NULL, predicted boolean NOT NULL, actual boolean NOT NULL) ON COMMIT DROP',
  'CREATE TEMP TABLE qb_qnew (id text COLLATE "C" NOT NULL PRIMARY KEY) ON COMMIT DROP',
  'CREATE TEMP TABLE qb_sd (ord int NOT NULL, quantum_id text COLLATE "C" NOT NULL, id uuid NOT NULL, dataset_type text COLLATE "C" NOT NULL, run text COLLATE "C" NOT NULL, data_id_key text COLLATE "C" NOT NULL, data_id text NOT NULL) ON COMMIT DROP',
  'CREATE TEMP TABLE qb_sr (ord int NOT NULL, rord int NOT NULL, quantum_id text COLLATE "C" NOT NULL, dataset_id uuid NOT NULL, datastore_name text COLLATE "C" NOT NULL, table_name text COLLATE "C" NOT NULL, path text COLLATE "C" NOT NULL, formatter text COLLATE "C" NOT NULL, storage_class text COLLATE "C" NOT NULL, component text COLLATE "C" NOT NULL, checksum text COLLATE "C", file_size bigint NOT NULL, extra text COLLATE "C", conflict boolean NOT NULL DEFAULT false) ON COMMIT DROP',
  'CREATE TEMP TABLE qb_dnew (id uuid NOT NULL PRIMARY KEY) ON COMMIT DROP',
  'CREATE TEMP TABLE qb_rnew (dataset_id uuid NOT NULL, datastore_name text COLLATE "C" NOT NULL, component text COLLATE "C" NOT NULL, PRIMARY KEY (dataset_id, datastore_name, component)) ON COMMIT DROP',
  'CREATE TEMP TABLE qb_present (ord int NOT NULL, id uuid NOT NULL, quantum_id text COLLATE "C" NOT NULL) ON COMMIT DROP',
];

/** Staged rows numbered within their key (1: the first sent, the one an insert may have written). */
const NUMBERED_QUANTA = '(SELECT s.*, row_number() OVER (PARTITION BY s.id ORDER BY s.ord) AS rn FROM qb_sq s) s';
const NUMBERED_DATASETS = '(SELECT s.*, row_number() OVER (PARTITION BY s.id ORDER BY s.ord) AS rn FROM qb_sd s) s';

export const SQL = {
  // Rows other collectors may insert too, in key order (see PgBulkWriter.ensure).
  ensureRuns: 'INSERT INTO runs (name) SELECT DISTINCT name FROM unnest($1::text[]) AS u(name) ORDER BY name ON CONFLICT DO NOTHING',
  ensureDatasetTypes: `INSERT INTO dataset_types (name, storage_class, dimensions, parent_storage_class, is_calibration)
    SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::boolean[]) ORDER BY 1
    ON CONFLICT DO NOTHING`,
  anyQuantum: 'SELECT 1 FROM quanta WHERE id = ANY($1::text[]) LIMIT 1',
  // Only ids: a data ID registered under another id is rare (a conflict), and the COPY finds it.
  anyDataset: 'SELECT 1 FROM datasets WHERE id = ANY($1::uuid[]) LIMIT 1',
  insertQuanta: `WITH ins AS (
      INSERT INTO quanta (${Q_COLS.join(', ')})
      SELECT DISTINCT ON (id) ${Q_COLS.join(', ')} FROM qb_sq ORDER BY id, ord
      ON CONFLICT (id) DO NOTHING RETURNING id)
    INSERT INTO qb_qnew (id) SELECT id FROM ins`,
  // A quantum's edges are written with it. The edges of a later row with the same id are the
  // same when it is already present, and no matter when it conflicts (nothing is committed).
  newInputs: `INSERT INTO quantum_inputs (${I_COLS.join(', ')})
    SELECT ${I_COLS.join(', ')} FROM qb_si WHERE quantum_id IN (SELECT id FROM qb_qnew) ORDER BY quantum_id, dataset_id ON CONFLICT DO NOTHING`,
  newOutputs: `INSERT INTO quantum_outputs (${O_COLS.join(', ')})
    SELECT ${O_COLS.join(', ')} FROM qb_so WHERE quantum_id IN (SELECT id FROM qb_qnew) ORDER BY quantum_id, dataset_id ON CONFLICT DO NOTHING`,
  quantaDiffering: `SELECT s.ord, s.id, s.task_name, s.data_id, s.format, s.provenance,
      q.task_name AS e_task_name, q.data_id AS e_data_id, q.format AS e_format, q.provenance AS e_provenance
    FROM ${NUMBERED_QUANTA} JOIN quanta q ON q.id = s.id
    WHERE NOT (s.rn = 1 AND s.id IN (SELECT id FROM qb_qnew))
      AND NOT (q.task_name IS NOT DISTINCT FROM s.task_name AND q.data_id IS NOT DISTINCT FROM s.data_id AND q.format = s.format AND q.provenance = s.provenance)
    ORDER BY s.ord`,
  insertDatasets: `WITH ins AS (
      INSERT INTO datasets (${D_COLS.join(', ')})
      SELECT DISTINCT ON (id) ${D_COLS.join(', ')} FROM qb_sd ORDER BY id, ord
      ON CONFLICT DO NOTHING RETURNING id)
    INSERT INTO qb_dnew (id) SELECT id FROM ins`,
  presentDatasets: `INSERT INTO qb_present (ord, id, quantum_id)
    SELECT s.ord, s.id, s.quantum_id FROM ${NUMBERED_DATASETS}
    JOIN datasets d ON d.id = s.id AND d.dataset_type = s.dataset_type AND d.run = s.run AND d.data_id_key = s.data_id_key
    WHERE NOT (s.rn = 1 AND s.id IN (SELECT id FROM qb_dnew))`,
  datasetConflicts: `SELECT s.ord, s.id::text AS id, s.quantum_id, s.dataset_type, s.run, s.data_id_key,
      d.dataset_type AS e_type, d.run AS e_run, d.data_id_key AS e_key,
      (SELECT k.id::text FROM datasets k WHERE k.dataset_type = s.dataset_type AND k.run = s.run AND k.data_id_key = s.data_id_key) AS other_id
    FROM ${NUMBERED_DATASETS} LEFT JOIN datasets d ON d.id = s.id
    WHERE NOT (s.rn = 1 AND s.id IN (SELECT id FROM qb_dnew))
      AND NOT (d.id IS NOT NULL AND d.dataset_type = s.dataset_type AND d.run = s.run AND d.data_id_key = s.data_id_key)
    ORDER BY s.ord`,
  insertRecords: `WITH ins AS (
      INSERT INTO datastore_records (${R_COLS.join(', ')})
      SELECT DISTINCT ON (dataset_id, datastore_name, component) ${R_COLS.join(', ')}
      FROM qb_sr WHERE NOT conflict
      ORDER BY dataset_id, datastore_name, component, ord, rord
      ON CONFLICT DO NOTHING RETURNING dataset_id, datastore_name, component)
    INSERT INTO qb_rnew SELECT * FROM ins`,
  // Records not identical to the stored ones: candidates only, recordDifferences (record-columns.ts) decides.
  recordConflicts: `SELECT r.ord, r.rord, r.dataset_id::text AS dataset_id, r.quantum_id, r.datastore_name, r.table_name, r.path, r.formatter, r.storage_class,
      r.component, r.checksum, r.file_size, r.extra,
      e.table_name AS e_table_name, e.path AS e_path, e.formatter AS e_formatter, e.storage_class AS e_storage_class,
      e.checksum AS e_checksum, e.file_size AS e_file_size, e.extra AS e_extra
    FROM (SELECT r.*, row_number() OVER (PARTITION BY r.dataset_id, r.datastore_name, r.component ORDER BY r.ord, r.rord) AS rn FROM qb_sr r WHERE NOT r.conflict) r
    JOIN datastore_records e ON e.dataset_id = r.dataset_id AND e.datastore_name = r.datastore_name AND e.component = r.component
    WHERE NOT (r.rn = 1 AND EXISTS (SELECT 1 FROM qb_rnew n WHERE n.dataset_id = r.dataset_id AND n.datastore_name = r.datastore_name AND n.component = r.component))
      AND NOT (e.table_name = r.table_name AND e.path = r.path AND e.formatter = r.formatter AND e.storage_class = r.storage_class
               AND e.checksum IS NOT DISTINCT FROM r.checksum AND e.file_size = r.file_size AND e.extra IS NOT DISTINCT FROM r.extra)
    ORDER BY r.ord, r.rord`,
  producers: `SELECT DISTINCT ON (p.ord) p.ord, p.id::text AS id, p.quantum_id, o.quantum_id AS other
    FROM qb_present p JOIN quantum_outputs o ON o.dataset_id = p.id AND o.actual AND o.quantum_id <> p.quantum_id
    ORDER BY p.ord, o.quantum_id`,
};
