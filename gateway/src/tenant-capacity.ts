// What one tenant may hold of a gateway at once: calls open to the server, and bytes of answers
// its callers have not taken yet. Past either bound only that tenant's calls are refused or cut.

export interface TenantCapacityLimits {
  /** Calls one tenant may have open through this gateway (streams included). */
  maxOpenCalls: number;
  /** Bytes of answers this gateway holds for one tenant's callers that read slower than the server answers. */
  maxWaitingBytes: number;
  /** The same for every tenant together: what the gateway's memory can hold. */
  maxWaitingBytesTotal: number;
}

export interface TenantCapacity {
  readonly limits: TenantCapacityLimits;
  /** Takes a call slot for the tenant: false when it has `maxOpenCalls` open already. */
  openCall(tenant: string): boolean;
  closeCall(tenant: string): void;
  /** Notes answer bytes held for the tenant's callers: false, noting nothing, when they would pass `maxWaitingBytes`. */
  hold(tenant: string, bytes: number): boolean;
  release(tenant: string, bytes: number): void;
}

export function tenantCapacity(limits: TenantCapacityLimits): TenantCapacity {
  const { maxOpenCalls, maxWaitingBytes, maxWaitingBytesTotal } = limits;
  const open = new Map<string, number>();
  const waiting = new Map<string, number>();
  let waitingTotal = 0;
  const add = (counts: Map<string, number>, tenant: string, n: number) => {
    const next = (counts.get(tenant) ?? 0) + n;
    if (next <= 0)
      counts.delete(tenant); // an idle tenant costs no memory
    else counts.set(tenant, next);
  };
  return {
    limits,
    openCall(tenant) {
      if ((open.get(tenant) ?? 0) >= maxOpenCalls) return false;
      add(open, tenant, 1);
      return true;
    },
    closeCall: (tenant) => add(open, tenant, -1),
    hold(tenant, bytes) {
      if ((waiting.get(tenant) ?? 0) + bytes > maxWaitingBytes || waitingTotal + bytes > maxWaitingBytesTotal) return false;
      add(waiting, tenant, bytes);
      waitingTotal += bytes;
      return true;
    },
    release(tenant, bytes) {
      add(waiting, tenant, -bytes);
      waitingTotal -= bytes;
    },
  };
}
