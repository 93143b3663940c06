/** The registry client: pull, push, login/logout over OCI distribution v2 / Docker registry v2. */
export { BlobOrigins } from './blob-origins.js';
export { EndpointSession, RegistryClient, type RegistryContext } from './client.js';
export {
  configFileCandidates,
  loadRegistryConfig,
  parseRegistryConfig,
  type RegistryConfig,
} from './config.js';
export { CredentialStore, type Credentials, credentialKey, dockerConfigDir } from './credentials.js';
export { RegistryError } from './errors.js';
export { type Endpoint, endpointsFor, isInsecureRegistry, isLoopback, originEndpoint } from './hosts.js';
export {
  checkCredentials,
  type LoginOptions,
  type LoginResult,
  type LogoutResult,
  login,
  logout,
} from './login.js';
export type { RegistryOptions } from './options.js';
export {
  formatPlatform,
  hostPlatform,
  type PlatformSpec,
  parsePlatform,
  selectManifest,
} from './platform.js';
export { type PullOptions, type PullResult, pullImage } from './pull.js';
export { type BlobPushStatus, type PushOptions, type PushResult, pushImage } from './push.js';
