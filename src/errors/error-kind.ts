/**
 * What went wrong, in terms a caller can act on. Server errors map by SQLSTATE class,
 * client errors by where they happened.
 */
export type ErrorKind =
  | 'connection'
  | 'timeout'
  | 'serialization'
  | 'constraint'
  | 'data'
  | 'programming'
  | 'resources'
  | 'configuration'
  | 'closed'
  | 'migration'
  | 'internal';
