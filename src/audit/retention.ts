import type { AuditQueries } from '../store/audit-queries.js';

/**
 * Deletes session events older than the cutoff, in batches, and records the deletion
 * itself as an admin event (who, when, the cutoff, how many), so a gap is explained.
 */
export async function applyRetention(audit: AuditQueries, cutoff: Date, actor: string): Promise<number> {
  const deleted = await audit.deleteEventsBefore(cutoff);
  await audit.recordAdminEvent(actor, 'retention', { before: cutoff.toISOString(), deletedEvents: deleted });
  return deleted;
}
