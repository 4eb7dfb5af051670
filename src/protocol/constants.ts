/** Wire-protocol numbers (src/include/libpq/pqcomm.h, protocol.h). */
export const SSL_REQUEST_CODE = 80877103;
export const GSSENC_REQUEST_CODE = 80877104;
export const CANCEL_REQUEST_CODE = 80877102;
export const PROTOCOL_3_0 = 196608;

/** MAX_STARTUP_PACKET_LENGTH: body bytes of a startup-type packet. */
export const MAX_STARTUP_BODY = 10_000;
/** PQ_SMALL_MESSAGE_LIMIT for frontend control messages. */
export const SMALL_MESSAGE_LIMIT = 10_000;
/** PQ_LARGE_MESSAGE_LIMIT: MaxAllocSize - 1. */
export const LARGE_MESSAGE_LIMIT = 0x3ffffffe;
/** PG_MAX_AUTH_TOKEN_LENGTH for a PasswordMessage. */
export const MAX_AUTH_TOKEN_LENGTH = 65_535;
/** PG_MAX_SASL_MESSAGE_LENGTH. */
export const MAX_SASL_MESSAGE_LENGTH = 1_024;
/** libpq treats any other backend message above this as lost sync. */
export const BACKEND_SHORT_MESSAGE_LIMIT = 30_000;
/** NAMEDATALEN - 1: user and database names are cut to this many bytes. */
export const MAX_IDENTIFIER_BYTES = 63;

const c = (s: string): number => s.charCodeAt(0);

/** Frontend (client to server) message type bytes. */
export const Fe = {
  Bind: c('B'),
  Close: c('C'),
  Describe: c('D'),
  Execute: c('E'),
  FunctionCall: c('F'),
  Flush: c('H'),
  Parse: c('P'),
  Query: c('Q'),
  Sync: c('S'),
  Terminate: c('X'),
  CopyFail: c('f'),
  CopyData: c('d'),
  CopyDone: c('c'),
  Password: c('p'),
} as const;

/** Backend (server to client) message type bytes. */
export const Be = {
  ParseComplete: c('1'),
  BindComplete: c('2'),
  CloseComplete: c('3'),
  NotificationResponse: c('A'),
  CommandComplete: c('C'),
  DataRow: c('D'),
  ErrorResponse: c('E'),
  CopyInResponse: c('G'),
  CopyOutResponse: c('H'),
  EmptyQueryResponse: c('I'),
  BackendKeyData: c('K'),
  NoticeResponse: c('N'),
  Authentication: c('R'),
  ParameterStatus: c('S'),
  RowDescription: c('T'),
  FunctionCallResponse: c('V'),
  CopyBothResponse: c('W'),
  ReadyForQuery: c('Z'),
  NoData: c('n'),
  PortalSuspended: c('s'),
  ParameterDescription: c('t'),
  NegotiateProtocolVersion: c('v'),
  CopyData: c('d'),
  CopyDone: c('c'),
} as const;

export const AuthCode = {
  Ok: 0,
  CleartextPassword: 3,
  MD5Password: 5,
  SASL: 10,
  SASLContinue: 11,
  SASLFinal: 12,
} as const;

export type TransactionStatus = 'I' | 'T' | 'E';

/** ReadyForQuery's transaction-status byte (protocol.h: 'I' idle, 'T' in a block, 'E' failed block). */
export const TxStatusByte = {
  Idle: c('I'),
  InBlock: c('T'),
  Failed: c('E'),
} as const;

/** First byte of a TLS record carrying a handshake: a client starting direct TLS (no SSLRequest). */
export const TLS_HANDSHAKE_RECORD = 0x16;
