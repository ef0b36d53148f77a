/** The Meross local protocol library. No Homebridge imports: it could be published on its own. */
export * from './envelope';
export * from './errors';
export * from './host';
export * from './decode';
export * from './time';
export { DecryptError, deriveEncryptionKey, ENCRYPTION_NAMESPACE, macFromUuidTail, MessageCipher } from './encryption';
export * from './mqtt';
export * as namespaces from './namespaces';
export { MerossClient, verifyReply, type ClientOptions, type Command, type PollResult, type ReplyCheck, type RequestOptions } from './client';
