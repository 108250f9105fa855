/**
 * The quantum-butler wire contract. A client can import this package alone:
 * it holds schemas, types and method constants, no server code.
 */
export * from './errors.js';
export * from './define.js';
export * from './common.js';
export * from './lifecycle.js';
export * from './provenance.js';
export * from './provenance-formats.js';
export * from './session.js';
export * from './butler.js';
export * from './dimensions.js';
export * from './notifications.js';
export * from './store.js';
export * from './repository.js';

import * as lifecycle from './lifecycle.js';
import * as session from './session.js';
import * as butler from './butler.js';
import * as dimensions from './dimensions.js';
import * as notifications from './notifications.js';
import * as store from './store.js';
import * as repository from './repository.js';
import type { NotificationDef, RequestDef } from './define.js';

/**
 * Every request the sidecar answers, by method name. Typed as a plain record: each method's
 * own types live on its constant (`Put`, `Get`...), and spelling them all out again here made
 * this module's declarations the package's largest file.
 */
export const Requests: Readonly<Record<string, RequestDef<any, any>>> = {
  [lifecycle.Initialize.method]: lifecycle.Initialize,
  [lifecycle.Shutdown.method]: lifecycle.Shutdown,
  [lifecycle.Ping.method]: lifecycle.Ping,
  [lifecycle.Stats.method]: lifecycle.Stats,
  [session.SessionOpen.method]: session.SessionOpen,
  [session.SessionClose.method]: session.SessionClose,
  [session.SessionList.method]: session.SessionList,
  [butler.Get.method]: butler.Get,
  [butler.GetDeferred.method]: butler.GetDeferred,
  [butler.LoadDeferred.method]: butler.LoadDeferred,
  [butler.Stored.method]: butler.Stored,
  [butler.StoredMany.method]: butler.StoredMany,
  [butler.MarkInputUnused.method]: butler.MarkInputUnused,
  [butler.Put.method]: butler.Put,
  [butler.PruneDatasets.method]: butler.PruneDatasets,
  [butler.GetURIs.method]: butler.GetURIs,
  [butler.ExtractProvenance.method]: butler.ExtractProvenance,
  [butler.Metrics.method]: butler.Metrics,
  [butler.ExportPredictedRecords.method]: butler.ExportPredictedRecords,
  [dimensions.Dimensions.method]: dimensions.Dimensions,
  [butler.GetManyURIs.method]: butler.GetManyURIs,
  [butler.GetDatastoreRoots.method]: butler.GetDatastoreRoots,
  [butler.RetrieveArtifacts.method]: butler.RetrieveArtifacts,
  [butler.RetrieveArtifactsZip.method]: butler.RetrieveArtifactsZip,
  [store.StoreInfoRequest.method]: store.StoreInfoRequest,
  [store.StoreGet.method]: store.StoreGet,
  [store.StoreGetData.method]: store.StoreGetData,
  [store.StoreGetDataRange.method]: store.StoreGetDataRange,
  [store.StoreGetMetadata.method]: store.StoreGetMetadata,
  [store.StoreExists.method]: store.StoreExists,
  [store.StoreSet.method]: store.StoreSet,
  [store.StoreSetData.method]: store.StoreSetData,
  [store.StoreSetMetadata.method]: store.StoreSetMetadata,
  [store.StoreUpdateMetadata.method]: store.StoreUpdateMetadata,
  [store.StoreDelete.method]: store.StoreDelete,
  [store.StoreMultiget.method]: store.StoreMultiget,
  [store.StoreMultigetData.method]: store.StoreMultigetData,
  [store.StoreMultigetMetadata.method]: store.StoreMultigetMetadata,
  [store.StoreMultiset.method]: store.StoreMultiset,
  [store.StoreMultisetData.method]: store.StoreMultisetData,
  [store.StoreMultisetMetadata.method]: store.StoreMultisetMetadata,
  [store.StoreMultiupdateMetadata.method]: store.StoreMultiupdateMetadata,
  [store.StoreGlob.method]: store.StoreGlob,
  [store.StoreQuery.method]: store.StoreQuery,
  [store.StoreQueryKeys.method]: store.StoreQueryKeys,
  [store.StoreFromFile.method]: store.StoreFromFile,
  [store.StoreToFile.method]: store.StoreToFile,
  [store.StoreFromBytes.method]: store.StoreFromBytes,
  [store.StoreToBytes.method]: store.StoreToBytes,
  [store.StoreBeginTransaction.method]: store.StoreBeginTransaction,
  [store.StoreCommitTransaction.method]: store.StoreCommitTransaction,
  [store.StoreRollbackTransaction.method]: store.StoreRollbackTransaction,
  [store.StorePush.method]: store.StorePush,
  [repository.RepositoryCreate.method]: repository.RepositoryCreate,
  [repository.RepositoryRegisterDatasetType.method]: repository.RepositoryRegisterDatasetType,
  [repository.RepositoryPut.method]: repository.RepositoryPut,
  [repository.RepositoryGet.method]: repository.RepositoryGet,
  [repository.RepositoryQueryDatasets.method]: repository.RepositoryQueryDatasets,
  [repository.RepositoryExportRecords.method]: repository.RepositoryExportRecords,
  [repository.RepositoryMakeQuantum.method]: repository.RepositoryMakeQuantum,
  [repository.RepositoryCollectAndTransfer.method]: repository.RepositoryCollectAndTransfer,
  [repository.RepositoryLineage.method]: repository.RepositoryLineage,
  [repository.RepositoryProvenance.method]: repository.RepositoryProvenance,
  [repository.RepositoryMigrateRegistry.method]: repository.RepositoryMigrateRegistry,
};

/** Every notification, in either direction (typed as Requests is). */
export const Notifications: Readonly<Record<string, NotificationDef<any>>> = {
  [lifecycle.Initialized.method]: lifecycle.Initialized,
  [lifecycle.Exit.method]: lifecycle.Exit,
  [lifecycle.SetTrace.method]: lifecycle.SetTrace,
  [lifecycle.LogTrace.method]: lifecycle.LogTrace,
  [lifecycle.LogMessage.method]: lifecycle.LogMessage,
  [lifecycle.CancelRequest.method]: lifecycle.CancelRequest,
  [notifications.ProvenanceNotification.method]: notifications.ProvenanceNotification,
  [notifications.ProvenanceBatchNotification.method]: notifications.ProvenanceBatchNotification,
  [notifications.ProvenanceRunsNotification.method]: notifications.ProvenanceRunsNotification,
  [notifications.ProgressNotification.method]: notifications.ProgressNotification,
  [store.StoreEventNotification.method]: store.StoreEventNotification,
};
