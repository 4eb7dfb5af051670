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
}

/**
 * A CancelRequest: forwarded to the session's upstream when this gateway issued the key;
 * otherwise the session may live on a peer behind the same balancer, so all peers are told.
 * Only a hash of the key travels; the owner compares it with the key it issued.
 */
export function relayCancel(ports: CancelPorts, pid: number, key: Buffer): void {
  if (ports.cancels.owns(pid)) {
    const forwarded = ports.cancels.route(pid, key);
    ports.log.debug({ event: 'cancel_request', forwarded }, 'cancel request');
    return;
  }
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
