/** Plumbing both HTTP servers (station and ingest) share: the error reply and the Host/secret checks. */
export {
  installErrorHandler,
  frameworkErrorOptions,
  toPublicError,
  codeForStatus,
  clientErrorOf,
} from './error-handler.js';
export {
  isLoopbackHost,
  isLoopbackBind,
  hostnameOf,
  secretsEqual,
  assertLoopbackHost,
  registerLoopbackHostGuard,
  isCrossSite,
} from './host-guard.js';
export { lingerOnClose } from './linger.js';
