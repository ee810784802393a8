/**
 * The JSON the station API sends to the page: the types of the one wire contract
 * (src/station/contract.ts), imported as types only, so nothing of it runs in the browser and
 * the page cannot drift from what the station serializes.
 */
export type {
  ErrorResponse,
  ProcessingView,
  RetentionAnswer,
  RecordingView,
  StatusView as StatusResponse,
  UploadView,
} from '../../src/station/contract.js';
export type { SearchAnswer, SearchHit, TimelineFile, TranscriptFile } from '../../src/station/contract.js';
