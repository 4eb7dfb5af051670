/** SQLSTATE codes the gateway itself raises (Postgres Appendix A). */
export const SqlState = {
  successfulCompletion: '00000',
  connectionFailure: '08006',
  connectionException: '08000',
  sqlClientUnableToEstablishConnection: '08001',
  sqlServerRejectedConnection: '08004',
  protocolViolation: '08P01',
  featureNotSupported: '0A000',
  programLimitExceeded: '54000',
  invalidParameterValue: '22023',
  characterNotInRepertoire: '22021',
  invalidAuthorizationSpecification: '28000',
  invalidPassword: '28P01',
  insufficientPrivilege: '42501',
  undefinedObject: '42704',
  invalidCatalogName: '3D000',
  tooManyConnections: '53300',
  queryCanceled: '57014',
  adminShutdown: '57P01',
  idleSessionTimeout: '57P05',
  cannotConnectNow: '57P03',
  internalError: 'XX000',
} as const;

export type SqlStateCode = (typeof SqlState)[keyof typeof SqlState];
