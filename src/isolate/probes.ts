// Half-open probes in flight from this isolate: while one request probes a half-open model, others here treat
// it as open, so a recovering model gets one request per isolate rather than a stampede. Fleet-wide there can
// be one probe per isolate; the trade-off accepted for keeping the control-plane object off the request path.

export interface ProbeSet {
  /** Half-open models a request from this isolate is probing now. */
  probing(): ReadonlySet<string>;
  /** Claims the given half-open models for one request; call the returned function when it is decided. */
  claim(models: readonly string[]): () => void;
}

export function createProbeSet(): ProbeSet {
  const probing = new Set<string>();
  return {
    probing: () => probing,
    claim(models) {
      const claimed = models.filter((model) => !probing.has(model));
      for (const model of claimed) probing.add(model);
      return () => {
        for (const model of claimed) probing.delete(model);
      };
    },
  };
}
