import { createHash } from 'node:crypto';
import type { Notice } from '../../store/notices.js';
import type { Logger } from '../../util/logger.js';
import type { CancelRouter } from '../cancel-router.js';

export interface CancelPorts {
  cancels: CancelRouter;
  /** Tells the peer gateways (Store.publish). */
  publish(notice: Notice): Promise<void>;
  gatewayId: string;
  log: Logger;
  /** The client's address (after a trusted PROXY header), for the per-address budget; absent: only the relay budget applies. */
  addr?: string | undefined;
}

/**
 * A CancelRequest: forwarded to the session's upstream when this gateway issued the key;
 * otherwise the session may live on a peer behind the same balancer, so all peers are told.
 * Only a hash of the key travels; the owner compares it with the key it issued.
 *
 * Everything before the publish is in memory: a request over its address's budget, or whose
 * key no gateway of this cluster could have issued (cancel-router.ts: the key's tag), or past
 * the gateway's relay budget is dropped without a word, as Postgres drops a wrong key.
 */
export function relayCancel(ports: CancelPorts, pid: number, key: Buffer): void {
  const { cancels } = ports;
  if (!cancels.sourceAllows(ports.addr ?? null)) {
    cancels.counts.limited++;
    ports.log.debug({ event: 'cancel_request', dropped: 'address budget' }, 'cancel request dropped');
    return;
  }
  if (cancels.owns(pid)) {
    cancels.counts.local++;
    const forwarded = cancels.route(pid, key);
    ports.log.debug({ event: 'cancel_request', forwarded }, 'cancel request');
    return;
  }
  if (!cancels.issuedByCluster(pid, key)) {
    cancels.counts.notIssued++;
    ports.log.debug({ event: 'cancel_request', dropped: 'not issued here' }, 'cancel request dropped');
    return;
  }
  if (!cancels.relayAllows()) {
    cancels.counts.limited++;
    ports.log.debug({ event: 'cancel_request', dropped: 'relay budget' }, 'cancel request dropped');
    return;
  }
  cancels.counts.relayed++;
  const keyHash = createHash('sha256').update(key).digest('hex');
  ports
    .publish({ kind: 'cancel', pid, keyHash, from: ports.gatewayId })
    .catch((err: unknown) =>
      ports.log.warn(
        { event: 'cancel_relay_failed', err: (err as Error).message },
        'could not relay a cancel to peer gateways',
      ),
    );
}
